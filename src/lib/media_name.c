/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_name.c - media file name rules of the sync server (sync-protocol.md
 * §5.4, §5.9).  See media_name.h for why each rule exists.
 */
#include "media_name.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "path.h"

int media_name_is_tmp(const char *name)
{
	return strncmp(name, MEDIA_TMP_PREFIX, sizeof MEDIA_TMP_PREFIX - 1) == 0;
}

int media_name_is_nfc(const char *s, size_t len)
{
	/* Fast path: ASCII is always NFC. */
	size_t i = 0;
	while (i < len && (unsigned char)s[i] < 0x80)
		i++;
	if (i == len)
		return 1;
	utf8proc_uint8_t *nfc = NULL;
	utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &nfc,
	                                  UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n < 0)
		return -1;
	int same = (size_t)n == len && memcmp(nfc, s, len) == 0;
	free(nfc);
	return same;
}

enum status media_name_check(const char *name, size_t len, struct errinfo *e)
{
	if (len == 0)
		return errinfo_set(e, ST_INVALID, "empty media file name");
	if (len > MEDIA_NAME_MAX)
		return errinfo_set(e, ST_INVALID, "media file name too long: %zu bytes", len);
	if (memchr(name, '\0', len))
		return errinfo_set(e, ST_INVALID, "media file name contains NUL");
	if (memchr(name, '/', len) || memchr(name, '\\', len))
		return errinfo_set(e, ST_INVALID, "media file name contains a path separator");
	if (!path_name_ok(name, len))
		return errinfo_set(e, ST_INVALID, "media file name is \".\" or \"..\"");
	int nfc = media_name_is_nfc(name, len);
	if (nfc < 0)
		return errinfo_set(e, ST_INVALID, "media file name is not valid UTF-8");
	if (!nfc)
		return errinfo_set(e, ST_INVALID, "media file name is not in NFC");
	return ST_OK;
}
