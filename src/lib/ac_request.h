/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ac_request.h - the AnkiConnect request envelope (ankiconnect.md §1.3):
 * UTF-8 decoding, JSON parsing and the small schema check, with the error
 * texts AnkiConnect's Python produces (clients and tests match on them),
 * plus the Python reprs those texts and several action errors embed, and
 * the CORS origin decision of §1.7.
 *
 * Nothing here touches a collection; every function is pure and bounded
 * (a body is parsed once by jansson, and on failure scanned once more to
 * find the message Python would give).
 */
#ifndef ANKIHOST_AC_REQUEST_H
#define ANKIHOST_AC_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "status.h"

/* AnkiConnect's default version when a request has none (§1.4). */
#define AC_DEFAULT_VERSION 4
/* What `version` and the banner report. */
#define AC_API_VERSION 6
/* Deepest JSON nesting accepted (jansson's own limit); Python fails
 * deeper documents with a RecursionError. */
#define AC_MAX_JSON_DEPTH 2048

struct ac_request {
	json_t *root;       /* owned: the whole parsed body */
	const char *action; /* inside root */
	json_int_t version; /* AC_DEFAULT_VERSION when absent */
	json_t *params;     /* borrowed from root, or an owned {} (see own_params) */
	json_t *key;        /* borrowed; NULL when absent */
	bool own_params;
};

/* Decode, parse and validate a top-level request body.  On success *out
 * owns the parsed document (ac_request_free).  On failure: ST_INVALID and
 * msg (reset first) holds the one-line error text AnkiConnect answers,
 * e.g. "'action' is a required property"; ST_NOMEM.  len 0 is not handled
 * here (that is the banner, §1.10). */
enum status ac_request_parse(const char *body, size_t len, struct ac_request *out, struct buf *msg);
void ac_request_free(struct ac_request *r);

/* Python's bytes.decode('utf-8') error for s, e.g. "'utf-8' codec can't
 * decode byte 0xff in position 0: invalid start byte".  Returns true
 * and sets msg (reset first) when s is not valid UTF-8. */
bool ac_py_utf8_error(const char *s, size_t len, struct buf *msg);

/* The json.loads error for valid UTF-8 text s, e.g. "Expecting value:
 * line 1 column 1 (char 0)" (CPython's C scanner before 3.13).  Returns
 * true and sets msg when Python would refuse s; false when Python would
 * accept it (then the caller's parser refused it for its own reasons). */
bool ac_py_json_error(const char *s, size_t len, struct buf *msg);

/* Python's repr() of a JSON value as json.loads returns it: None, True,
 * 1.5, 'text' (quote choice and escapes as Python), [1, 2], {'a': 1}.
 * Appends to out.  Nesting deeper than 64 is written as "[...]"/"{...}". */
enum status ac_py_repr(const json_t *v, struct buf *out, struct errinfo *e);
/* repr of one string (as above) given as bytes. */
enum status ac_py_repr_str(const char *s, size_t len, struct buf *out, struct errinfo *e);
/* repr of a Python float (shortest round trip: 1.0, 0.1, 1e+16, 1e-05). */
enum status ac_py_repr_float(double v, struct buf *out, struct errinfo *e);

/* ---- CORS (§1.7) ---- */

/* Decide whether a request with Origin header `origin` (NULL when the
 * request has none) is allowed by the trusted list.  *cors gets the value
 * for Access-Control-Allow-Origin: "*", the origin itself, or
 * "http://localhost" (pointers into the arguments or static text). */
bool ac_cors_allowed(const char *const *list, size_t n, const char *origin, const char **cors);

#endif
