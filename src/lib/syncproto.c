/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * syncproto.c - anki-sync header, limits and client-IP sources
 * (sync-protocol.md §1.3, §1.5, §1.7, §6.1).
 */
#include "syncproto.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

static enum status copy_str(json_t *obj, const char *key, char *out, size_t cap, struct errinfo *e)
{
	json_t *v = json_object_get(obj, key);
	if (!v || !json_is_string(v))
		return errinfo_set(e, ST_INVALID, "bad sync header: \"%s\" missing or not a string",
		                   key);
	size_t n = json_string_length(v);
	if (n >= cap || memchr(json_string_value(v), '\0', n))
		return errinfo_set(e, ST_INVALID, "bad sync header: \"%s\" too long", key);
	memcpy(out, json_string_value(v), n + 1);
	return ST_OK;
}

enum status syncproto_parse_header(const char *value, struct sync_header *h, struct errinfo *e)
{
	memset(h, 0, sizeof *h);
	size_t n = strlen(value);
	if (n > SYNC_HEADER_MAX)
		return errinfo_set(e, ST_INVALID, "bad sync header: longer than %d bytes",
		                   SYNC_HEADER_MAX);
	/* The official server reads the value with HeaderValue::to_str: only
	 * visible ASCII, space and tab. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];
		if ((c < 0x20 && c != '\t') || c > 0x7e)
			return errinfo_set(e, ST_INVALID, "bad sync header: not visible ASCII");
	}
	json_error_t jerr;
	json_t *obj = json_loadb(value, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj || !json_is_object(obj)) {
		json_decref(obj);
		return errinfo_set(e, ST_INVALID, "bad sync header: not a JSON object");
	}
	enum status st = ST_OK;
	json_t *v = json_object_get(obj, "v");
	/* v is a u8 in the official header type: integers 0..255 only. */
	if (!v || !json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255) {
		st = errinfo_set(e, ST_INVALID, "bad sync header: \"v\" missing or not a u8");
		goto out;
	}
	h->version = (int)json_integer_value(v);
	if ((st = copy_str(obj, "k", h->hkey, sizeof h->hkey, e)) ||
	    (st = copy_str(obj, "c", h->client, sizeof h->client, e)) ||
	    (st = copy_str(obj, "s", h->skey, sizeof h->skey, e)))
		goto out;
	if (h->version < SYNC_VERSION_MIN || h->version > SYNC_VERSION_MAX)
		st = errinfo_set(e, ST_VERSION, "unsupported sync version: %d", h->version);
out:
	json_decref(obj);
	return st;
}

uint64_t syncproto_payload_limit(long long megs)
{
	return (uint64_t)megs * 1024u * 1024u;
}

uint64_t syncproto_uncompressed_limit(long long megs)
{
	return syncproto_payload_limit(megs) * 3u;
}

static const struct {
	const char *name;
	const char *header;
	int last;
} ip_sources[] = {
    [SYNC_IP_CONNECT_INFO] = {"ConnectInfo", NULL, 0},
    [SYNC_IP_RIGHTMOST_X_FORWARDED_FOR] = {"RightmostXForwardedFor", "X-Forwarded-For", 1},
    [SYNC_IP_X_REAL_IP] = {"XRealIp", "X-Real-Ip", 0},
    [SYNC_IP_CF_CONNECTING_IP] = {"CfConnectingIp", "CF-Connecting-IP", 0},
    [SYNC_IP_TRUE_CLIENT_IP] = {"TrueClientIp", "True-Client-IP", 0},
    [SYNC_IP_FLY_CLIENT_IP] = {"FlyClientIp", "Fly-Client-IP", 0},
    [SYNC_IP_CLOUDFRONT_VIEWER_ADDRESS] = {"CloudFrontViewerAddress", "CloudFront-Viewer-Address",
                                           0},
    [SYNC_IP_RIGHTMOST_FORWARDED] = {"RightmostForwarded", "Forwarded", 1},
};

enum status syncproto_ip_source_parse(const char *name, enum syncproto_ip_source *out,
                                      struct errinfo *e)
{
	for (size_t i = 0; i < sizeof ip_sources / sizeof ip_sources[0]; i++)
		if (name && strcmp(name, ip_sources[i].name) == 0) {
			*out = (enum syncproto_ip_source)i;
			return ST_OK;
		}
	return errinfo_set(
	    e, ST_INVALID,
	    "SYNC_IP_HEADER: \"%s\" is not one of ConnectInfo, RightmostXForwardedFor, "
	    "XRealIp, CfConnectingIp, TrueClientIp, FlyClientIp, "
	    "CloudFrontViewerAddress, RightmostForwarded",
	    name ? name : "");
}

const char *syncproto_ip_header_name(enum syncproto_ip_source src, int *want_last)
{
	if (want_last)
		*want_last = ip_sources[src].last;
	return ip_sources[src].header;
}

/* Trim spaces/tabs around s[0..n) in place (returns the new start). */
static const char *trim(const char *s, size_t *n)
{
	while (*n > 0 && (*s == ' ' || *s == '\t'))
		s++, (*n)--;
	while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

/* Parse an IPv4/IPv6 literal s[0..n) into canonical text. */
static int parse_ip(const char *s, size_t n, char *out, size_t cap)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	unsigned char addr[16];
	if (inet_pton(AF_INET, tmp, addr) == 1)
		return inet_ntop(AF_INET, addr, out, (socklen_t)cap) ? 0 : -1;
	if (inet_pton(AF_INET6, tmp, addr) == 1)
		return inet_ntop(AF_INET6, addr, out, (socklen_t)cap) ? 0 : -1;
	return -1;
}

/* An address with an optional port: "1.2.3.4", "1.2.3.4:80", "[::1]",
 * "[::1]:80", or a bare IPv6 literal. */
static int parse_ip_port(const char *s, size_t n, char *out, size_t cap)
{
	s = trim(s, &n);
	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		return rb ? parse_ip(s + 1, (size_t)(rb - s - 1), out, cap) : -1;
	}
	if (parse_ip(s, n, out, cap) == 0)
		return 0;
	const char *colon = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ':')
			colon = s + i;
	return colon ? parse_ip(s, (size_t)(colon - s), out, cap) : -1;
}

enum status syncproto_ip_from_header(enum syncproto_ip_source src, const char *value, char *out,
                                     size_t cap, struct errinfo *e)
{
	if (!value)
		return errinfo_set(e, ST_NOTFOUND, "missing ip");
	size_t n = strlen(value);
	switch (src) {
	case SYNC_IP_RIGHTMOST_X_FORWARDED_FOR: {
		const char *comma = strrchr(value, ',');
		const char *s = comma ? comma + 1 : value;
		size_t l = strlen(s);
		s = trim(s, &l);
		if (parse_ip(s, l, out, cap) == 0)
			return ST_OK;
		break;
	}
	case SYNC_IP_CLOUDFRONT_VIEWER_ADDRESS:
		/* "ip:port"; the port is after the last colon even for IPv6. */
		if (parse_ip_port(value, n, out, cap) == 0)
			return ST_OK;
		break;
	case SYNC_IP_RIGHTMOST_FORWARDED: {
		/* RFC 7239: elements separated by ',', pairs by ';'.  Take the last
		 * element that has a for= pair. */
		const char *last_for = NULL;
		size_t last_len = 0;
		const char *p = value;
		while (*p) {
			size_t seg = strcspn(p, ",;");
			const char *s = p;
			size_t l = seg;
			s = trim(s, &l);
			if (l > 4 && strncasecmp(s, "for=", 4) == 0) {
				last_for = s + 4;
				last_len = l - 4;
			}
			p += seg;
			if (*p)
				p++;
		}
		if (last_for) {
			if (last_len >= 2 && last_for[0] == '"' && last_for[last_len - 1] == '"') {
				last_for++;
				last_len -= 2;
			}
			if (parse_ip_port(last_for, last_len, out, cap) == 0)
				return ST_OK;
		}
		break;
	}
	default: {
		const char *s = trim(value, &n);
		if (parse_ip(s, n, out, cap) == 0)
			return ST_OK;
		break;
	}
	}
	return errinfo_set(e, ST_NOTFOUND, "missing ip");
}

int syncproto_method_known(const char *name)
{
	static const char *const methods[] = {
	    "hostKey",    "meta",         "start",  "applyGraves", "applyChanges", "chunk",
	    "applyChunk", "sanityCheck2", "finish", "abort",       "upload",       "download",
	};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(name, methods[i]) == 0)
			return 1;
	return 0;
}
