/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fuzz_ac_request.c - libFuzzer target for what anki-connectd reads from
 * the network before any action runs (ankiconnect.md §1.3, §1.7, §3.4):
 * the request envelope (UTF-8 check, JSON parse, schema check, Python
 * error texts and reprs), the CORS decision on an Origin header, and the
 * media name rules applied to client file names.
 *
 * It aborts (a finding) when:
 *   - a body is accepted but the request lacks an action string, or
 *     params is not an object;
 *   - a body is refused without a message, or the message is not valid
 *     UTF-8 or spans several lines;
 *   - a body jansson accepts is one Python's json module would refuse
 *     (the error scanner and the parser must agree);
 *   - a normalised media name is empty, longer than 120 bytes, not a
 *     single safe path component, or not stable under normalisation;
 *   - a lookup name is not a single safe path component.
 * ASan/UBSan catch the rest.
 *
 * Built and run by tests/check-fuzz.sh (briefly in make check; longer
 * with FUZZ_SECONDS=...).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ac_media.h"
#include "ac_request.h"
#include "path.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const struct buf *msg)
{
	if (!msg->data || msg->len == 0)
		abort();
	if (!text_utf8_valid((const char *)msg->data, msg->len))
		abort();
	if (memchr(msg->data, '\n', msg->len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct buf msg;
	buf_init(&msg, 0);
	struct ac_request r;
	if (size > 0) {
		enum status st = ac_request_parse(s, size, &r, &msg);
		if (st == ST_OK) {
			if (!r.action || !json_is_object(r.params))
				abort();
			/* accepted only what Python's json module accepts */
			if (ac_py_json_error(s, size, &msg))
				abort();
			struct buf rep;
			buf_init(&rep, 0);
			if (ac_py_repr(r.root, &rep, NULL) != ST_OK)
				abort();
			if (!text_utf8_valid((const char *)rep.data, rep.len))
				abort();
			buf_free(&rep);
			ac_request_free(&r);
		} else if (st == ST_INVALID) {
			check_msg(&msg);
		} else if (st != ST_NOMEM) {
			abort();
		}
		/* the Python error scanner's messages are sound */
		if (text_utf8_valid(s, size)) {
			if (ac_py_json_error(s, size, &msg))
				check_msg(&msg);
		} else if (!ac_py_utf8_error(s, size, &msg)) {
			abort();
		}
	}
	/* the same bytes as an Origin header */
	char *origin = malloc(size + 1);
	if (origin) {
		memcpy(origin, data, size);
		origin[size] = '\0';
		const char *list[] = {"http://localhost", "https://app.example"};
		const char *cors = NULL;
		bool ok = ac_cors_allowed(list, 2, origin, &cors);
		if (!cors || (!ok && strcmp(cors, "http://localhost") != 0))
			abort();
		free(origin);
	}
	/* the same bytes as a media file name */
	struct buf name, again;
	buf_init(&name, 0);
	buf_init(&again, 0);
	if (ac_media_normalize(s, size, &name, NULL) == ST_OK) {
		if (name.len == 0 || name.len > AC_MEDIA_NAME_MAX ||
		    !path_name_ok((const char *)name.data, name.len))
			abort();
		if (ac_media_normalize((const char *)name.data, name.len, &again, NULL) != ST_OK ||
		    again.len != name.len || memcmp(again.data, name.data, name.len) != 0)
			abort();
	}
	if (ac_media_lookup_name(s, size, &name, NULL) == ST_OK &&
	    !path_name_ok((const char *)name.data, name.len))
		abort();
	buf_free(&name);
	buf_free(&again);
	buf_free(&msg);
	return 0;
}
