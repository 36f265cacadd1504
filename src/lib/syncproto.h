/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * syncproto.h - the request-level rules of the Anki sync protocol that do
 * not depend on the HTTP library: the anki-sync header (§1.3), protocol
 * versions (§1.5), payload limits (§1.7), client-IP sources (§6.1,
 * SYNC_IP_HEADER) and the texts the protocol fixes (§4.1).
 */
#ifndef ANKIHOST_SYNCPROTO_H
#define ANKIHOST_SYNCPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SYNC_VERSION_MIN 8 /* SYNC_VERSION_08_SESSIONKEY */
#define SYNC_VERSION_V2SCHED 9
#define SYNC_VERSION_V2TZ 10 /* assumed for every multipart (legacy) request */
#define SYNC_VERSION_MAX 11  /* header + zstd, schema-18 full syncs */

/* Bounds on header fields: a host key is 40 hex digits, a session key a
 * few base-62 digits; client strings are short.  Longer values are bad
 * headers rather than something to allocate for. */
#define SYNC_HKEY_MAX 128
#define SYNC_SKEY_MAX 128
#define SYNC_CLIENT_MAX 256
#define SYNC_HEADER_MAX 1024

/* §4.1: the exact upload answers. */
#define SYNC_UPLOAD_OK "OK"
#define SYNC_UPLOAD_TOO_BIG "collection exceeds size limit"
#define SYNC_UPLOAD_CORRUPT                                                                        \
	"Your upload was corrupt. Please use Check Database, or restore from backup."

struct sync_header {
	int version;                      /* 8..11 */
	char hkey[SYNC_HKEY_MAX + 1];     /* "k" */
	char client[SYNC_CLIENT_MAX + 1]; /* "c" */
	char skey[SYNC_SKEY_MAX + 1];     /* "s" */
};

/* Parse an anki-sync header value.  ST_INVALID ("bad sync header") when it
 * is not visible ASCII, not a JSON object, lacks one of v/k/c/s, or has a
 * wrong type; ST_VERSION when v is outside 8..11.  Both map to HTTP 400. */
enum status syncproto_parse_header(const char *value, struct sync_header *h, struct errinfo *e);

/* MAX_SYNC_PAYLOAD_MEGS → the byte limits of §1.7. */
uint64_t syncproto_payload_limit(long long megs);      /* megs MiB */
uint64_t syncproto_uncompressed_limit(long long megs); /* 3 × that */

/* SYNC_IP_HEADER: where the client address is taken from. */
enum syncproto_ip_source {
	SYNC_IP_CONNECT_INFO,
	SYNC_IP_RIGHTMOST_X_FORWARDED_FOR,
	SYNC_IP_X_REAL_IP,
	SYNC_IP_CF_CONNECTING_IP,
	SYNC_IP_TRUE_CLIENT_IP,
	SYNC_IP_FLY_CLIENT_IP,
	SYNC_IP_CLOUDFRONT_VIEWER_ADDRESS,
	SYNC_IP_RIGHTMOST_FORWARDED,
};

enum status syncproto_ip_source_parse(const char *name, enum syncproto_ip_source *out,
                                      struct errinfo *e);

/* The HTTP header a source reads (NULL for ConnectInfo), and whether its
 * last occurrence is wanted (the "rightmost" sources) rather than the first. */
const char *syncproto_ip_header_name(enum syncproto_ip_source src, int *want_last);

/* Extract the client address from that header's value into out (an
 * address in canonical text form).  ST_NOTFOUND when the value holds no
 * usable address (the official server answers 500 "missing ip"). */
enum status syncproto_ip_from_header(enum syncproto_ip_source src, const char *value, char *out,
                                     size_t cap, struct errinfo *e);

/* Is s the name of a sync method (the /sync/<name> part)? */
int syncproto_method_known(const char *name);

#endif
