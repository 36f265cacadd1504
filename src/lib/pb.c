/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pb.c - protobuf wire codec (see pb.h).  Every read is checked against the
 * end of the input before it happens; lengths are compared by subtraction so
 * that a huge declared length cannot overflow an addition.
 */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

void pb_bytes_free(struct pb_bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

enum status pb_bytes_append(struct pb_bytes *b, const void *p, size_t len, struct errinfo *e)
{
	if (len == 0)
		return ST_OK;
	if (b->len > SIZE_MAX - len)
		return errinfo_set(e, ST_NOMEM, "byte string too long");
	uint8_t *n = realloc(b->data, b->len + len);
	if (!n)
		return errinfo_set(e, ST_NOMEM, "cannot allocate %zu bytes", b->len + len);
	memcpy(n + b->len, p, len);
	b->data = n;
	b->len += len;
	return ST_OK;
}

enum status pb_bytes_set(struct pb_bytes *b, const void *p, size_t len, struct errinfo *e)
{
	struct pb_bytes n = {0};
	enum status st = pb_bytes_append(&n, p, len, e);
	if (st)
		return st;
	pb_bytes_free(b);
	*b = n;
	return ST_OK;
}

void pb_reader_init(struct pb_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->off = 0;
}

enum status pb_decode_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *out,
                             struct errinfo *e)
{
	uint64_t v = 0;
	size_t start = *off;
	for (unsigned i = 0; i < 10; i++) {
		if (*off >= len)
			return errinfo_set(e, ST_CORRUPT,
			                   "protobuf: truncated varint at offset %zu", start);
		uint8_t byte = p[(*off)++];
		/* The 10th byte carries only bit 63; anything more overflows. */
		if (i == 9 && byte > 1)
			return errinfo_set(e, ST_CORRUPT,
			                   "protobuf: varint overflows 64 bits at offset %zu",
			                   start);
		v |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			*out = v;
			return ST_OK;
		}
	}
	return errinfo_set(e, ST_CORRUPT, "protobuf: varint longer than 10 bytes at offset %zu",
	                   start);
}

enum status pb_reader_next(struct pb_reader *r, struct pb_field *f, bool *more, struct errinfo *e)
{
	*more = false;
	if (r->off >= r->len)
		return ST_OK;
	size_t start = r->off;
	uint64_t key = 0;
	enum status st = pb_decode_varint(r->p, r->len, &r->off, &key, e);
	if (st)
		return st;
	uint64_t num = key >> 3;
	unsigned wt = (unsigned)(key & 7);
	if (num == 0 || num > PB_MAX_FIELD)
		return errinfo_set(e, ST_CORRUPT,
		                   "protobuf: invalid field number %llu at offset %zu",
		                   (unsigned long long)num, start);
	memset(f, 0, sizeof *f);
	f->num = (uint32_t)num;
	switch (wt) {
	case PB_WT_VARINT:
		st = pb_decode_varint(r->p, r->len, &r->off, &f->u, e);
		if (st) {
			errinfo_prefix(e, "field %u", f->num);
			return st;
		}
		break;
	case PB_WT_I64:
	case PB_WT_I32: {
		size_t w = wt == PB_WT_I64 ? 8 : 4;
		if (r->len - r->off < w)
			return errinfo_set(
			    e, ST_CORRUPT,
			    "protobuf: field %u: truncated %zu-byte value at offset %zu", f->num, w,
			    r->off);
		uint64_t v = 0;
		for (size_t i = 0; i < w; i++)
			v |= (uint64_t)r->p[r->off + i] << (8 * i);
		f->u = v;
		r->off += w;
		break;
	}
	case PB_WT_LEN: {
		uint64_t n = 0;
		st = pb_decode_varint(r->p, r->len, &r->off, &n, e);
		if (st) {
			errinfo_prefix(e, "field %u length", f->num);
			return st;
		}
		if (n > r->len - r->off)
			return errinfo_set(
			    e, ST_CORRUPT,
			    "protobuf: field %u: length %llu exceeds the %zu bytes left", f->num,
			    (unsigned long long)n, r->len - r->off);
		f->data = r->p + r->off;
		f->len = (size_t)n;
		r->off += (size_t)n;
		break;
	}
	default:
		return errinfo_set(e, ST_CORRUPT,
		                   "protobuf: field %u: unsupported wire type %u at offset %zu",
		                   f->num, wt, start);
	}
	f->wt = (enum pb_wire)wt;
	f->raw = r->p + start;
	f->raw_len = r->off - start;
	*more = true;
	return ST_OK;
}

static enum status want(const struct pb_field *f, enum pb_wire wt, struct errinfo *e)
{
	if (f->wt == wt)
		return ST_OK;
	return errinfo_set(e, ST_CORRUPT, "protobuf: field %u has wire type %d, expected %d",
	                   f->num, (int)f->wt, (int)wt);
}

enum status pb_get_uint64(const struct pb_field *f, uint64_t *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_VARINT, e);
	if (!st)
		*out = f->u;
	return st;
}

enum status pb_get_int64(const struct pb_field *f, int64_t *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_VARINT, e);
	if (!st)
		*out = (int64_t)f->u;
	return st;
}

enum status pb_get_uint32(const struct pb_field *f, uint32_t *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_VARINT, e);
	if (!st)
		*out = (uint32_t)f->u;
	return st;
}

enum status pb_get_int32(const struct pb_field *f, int32_t *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_VARINT, e);
	if (!st)
		*out = (int32_t)(uint32_t)f->u;
	return st;
}

enum status pb_get_sint32(const struct pb_field *f, int32_t *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_VARINT, e);
	if (!st)
		*out = pb_unzigzag32((uint32_t)f->u);
	return st;
}

enum status pb_get_sint64(const struct pb_field *f, int64_t *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_VARINT, e);
	if (!st)
		*out = pb_unzigzag64(f->u);
	return st;
}

enum status pb_get_bool(const struct pb_field *f, bool *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_VARINT, e);
	if (!st)
		*out = f->u != 0;
	return st;
}

enum status pb_get_fixed32(const struct pb_field *f, uint32_t *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_I32, e);
	if (!st)
		*out = (uint32_t)f->u;
	return st;
}

enum status pb_get_fixed64(const struct pb_field *f, uint64_t *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_I64, e);
	if (!st)
		*out = f->u;
	return st;
}

enum status pb_get_float(const struct pb_field *f, float *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_I32, e);
	if (!st) {
		uint32_t bits = (uint32_t)f->u;
		memcpy(out, &bits, sizeof *out);
	}
	return st;
}

enum status pb_get_double(const struct pb_field *f, double *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_I64, e);
	if (!st)
		memcpy(out, &f->u, sizeof *out);
	return st;
}

enum status pb_get_len(const struct pb_field *f, const uint8_t **data, size_t *len,
                       struct errinfo *e)
{
	enum status st = want(f, PB_WT_LEN, e);
	if (!st) {
		*data = f->data;
		*len = f->len;
	}
	return st;
}

bool pb_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			n = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i < n)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

enum status pb_get_string(const struct pb_field *f, char **out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_LEN, e);
	if (st)
		return st;
	if (memchr(f->data, 0, f->len))
		return errinfo_set(e, ST_CORRUPT, "protobuf: field %u: string contains a NUL byte",
		                   f->num);
	if (!pb_utf8_valid(f->data, f->len))
		return errinfo_set(e, ST_CORRUPT, "protobuf: field %u: string is not valid UTF-8",
		                   f->num);
	char *s = malloc(f->len + 1);
	if (!s)
		return errinfo_set(e, ST_NOMEM, "cannot allocate %zu bytes", f->len + 1);
	if (f->len)
		memcpy(s, f->data, f->len);
	s[f->len] = '\0';
	free(*out);
	*out = s;
	return ST_OK;
}

enum status pb_get_bytes(const struct pb_field *f, struct pb_bytes *out, struct errinfo *e)
{
	enum status st = want(f, PB_WT_LEN, e);
	if (st)
		return st;
	return pb_bytes_set(out, f->data, f->len, e);
}

/* Grow a typed array by one slot; *cap tracks the allocation. */
static enum status grow(void **arr, size_t n, size_t *cap, size_t elem, struct errinfo *e)
{
	if (n < *cap)
		return ST_OK;
	size_t nc = *cap ? *cap * 2 : 8;
	if (nc > SIZE_MAX / elem)
		return errinfo_set(e, ST_NOMEM, "array too large");
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return errinfo_set(e, ST_NOMEM, "cannot allocate %zu bytes", nc * elem);
	*arr = p;
	*cap = nc;
	return ST_OK;
}

enum status pb_get_repeated_float(const struct pb_field *f, float **arr, size_t *n,
                                  struct errinfo *e)
{
	if (f->wt == PB_WT_I32) {
		float v;
		size_t cap = *n; /* force a realloc: the allocation size is not tracked */
		enum status st = grow((void **)arr, *n, &cap, sizeof v, e);
		if (st)
			return st;
		pb_get_float(f, &v, NULL);
		(*arr)[(*n)++] = v;
		return ST_OK;
	}
	if (f->wt != PB_WT_LEN)
		return errinfo_set(e, ST_CORRUPT,
		                   "protobuf: field %u (repeated float) has wire type %d", f->num,
		                   (int)f->wt);
	if (f->len % 4)
		return errinfo_set(
		    e, ST_CORRUPT,
		    "protobuf: field %u: packed float length %zu is not a multiple of 4", f->num,
		    f->len);
	size_t k = f->len / 4;
	if (k == 0)
		return ST_OK;
	if (*n > SIZE_MAX / sizeof(float) - k)
		return errinfo_set(e, ST_NOMEM, "array too large");
	float *p = realloc(*arr, (*n + k) * sizeof(float));
	if (!p)
		return errinfo_set(e, ST_NOMEM, "cannot allocate %zu floats", *n + k);
	for (size_t i = 0; i < k; i++) {
		const uint8_t *q = f->data + 4 * i;
		uint32_t bits = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
		                (uint32_t)q[3] << 24;
		memcpy(&p[*n + i], &bits, sizeof(float));
	}
	*arr = p;
	*n += k;
	return ST_OK;
}

enum status pb_get_repeated_uint32(const struct pb_field *f, uint32_t **arr, size_t *n,
                                   struct errinfo *e)
{
	size_t cap = *n;
	enum status st;
	if (f->wt == PB_WT_VARINT) {
		st = grow((void **)arr, *n, &cap, sizeof(uint32_t), e);
		if (st)
			return st;
		(*arr)[(*n)++] = (uint32_t)f->u;
		return ST_OK;
	}
	if (f->wt != PB_WT_LEN)
		return errinfo_set(e, ST_CORRUPT,
		                   "protobuf: field %u (repeated varint) has wire type %d", f->num,
		                   (int)f->wt);
	size_t off = 0;
	while (off < f->len) {
		uint64_t v;
		st = pb_decode_varint(f->data, f->len, &off, &v, e);
		if (st) {
			errinfo_prefix(e, "field %u packed", f->num);
			return st;
		}
		st = grow((void **)arr, *n, &cap, sizeof(uint32_t), e);
		if (st)
			return st;
		(*arr)[(*n)++] = (uint32_t)v;
	}
	return ST_OK;
}

/* ---- writing ---- */

size_t pb_varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

enum status pb_put_varint(struct buf *b, uint64_t v, struct errinfo *e)
{
	uint8_t tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	return buf_append(b, tmp, n, e);
}

enum status pb_put_key(struct buf *b, uint32_t num, enum pb_wire wt, struct errinfo *e)
{
	if (num == 0 || num > PB_MAX_FIELD)
		return errinfo_set(e, ST_INTERNAL, "protobuf: invalid field number %u", num);
	return pb_put_varint(b, (uint64_t)num << 3 | (uint64_t)wt, e);
}

enum status pb_put_uint64(struct buf *b, uint32_t num, uint64_t v, struct errinfo *e)
{
	enum status st = pb_put_key(b, num, PB_WT_VARINT, e);
	return st ? st : pb_put_varint(b, v, e);
}

enum status pb_put_int64(struct buf *b, uint32_t num, int64_t v, struct errinfo *e)
{
	return pb_put_uint64(b, num, (uint64_t)v, e);
}

enum status pb_put_int32(struct buf *b, uint32_t num, int32_t v, struct errinfo *e)
{
	/* Sign-extend to 64 bits, as protobuf requires for int32 and enums. */
	return pb_put_uint64(b, num, (uint64_t)(int64_t)v, e);
}

enum status pb_put_uint32(struct buf *b, uint32_t num, uint32_t v, struct errinfo *e)
{
	return pb_put_uint64(b, num, v, e);
}

enum status pb_put_bool(struct buf *b, uint32_t num, bool v, struct errinfo *e)
{
	return pb_put_uint64(b, num, v ? 1 : 0, e);
}

enum status pb_put_sint32(struct buf *b, uint32_t num, int32_t v, struct errinfo *e)
{
	return pb_put_uint64(b, num, pb_zigzag32(v), e);
}

enum status pb_put_sint64(struct buf *b, uint32_t num, int64_t v, struct errinfo *e)
{
	return pb_put_uint64(b, num, pb_zigzag64(v), e);
}

static enum status put_le(struct buf *b, uint64_t v, size_t w, struct errinfo *e)
{
	uint8_t tmp[8];
	for (size_t i = 0; i < w; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	return buf_append(b, tmp, w, e);
}

enum status pb_put_fixed32(struct buf *b, uint32_t num, uint32_t v, struct errinfo *e)
{
	enum status st = pb_put_key(b, num, PB_WT_I32, e);
	return st ? st : put_le(b, v, 4, e);
}

enum status pb_put_fixed64(struct buf *b, uint32_t num, uint64_t v, struct errinfo *e)
{
	enum status st = pb_put_key(b, num, PB_WT_I64, e);
	return st ? st : put_le(b, v, 8, e);
}

enum status pb_put_float(struct buf *b, uint32_t num, float v, struct errinfo *e)
{
	uint32_t bits;
	memcpy(&bits, &v, sizeof bits);
	return pb_put_fixed32(b, num, bits, e);
}

enum status pb_put_double(struct buf *b, uint32_t num, double v, struct errinfo *e)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	return pb_put_fixed64(b, num, bits, e);
}

enum status pb_put_len(struct buf *b, uint32_t num, const void *data, size_t len, struct errinfo *e)
{
	enum status st = pb_put_key(b, num, PB_WT_LEN, e);
	if (!st)
		st = pb_put_varint(b, len, e);
	if (!st)
		st = buf_append(b, data, len, e);
	return st;
}

enum status pb_put_string(struct buf *b, uint32_t num, const char *s, struct errinfo *e)
{
	return pb_put_len(b, num, s ? s : "", s ? strlen(s) : 0, e);
}

enum status pb_put_packed_float(struct buf *b, uint32_t num, const float *v, size_t n,
                                struct errinfo *e)
{
	if (n == 0)
		return ST_OK;
	if (n > SIZE_MAX / 4)
		return errinfo_set(e, ST_TOOBIG, "too many floats");
	enum status st = pb_put_key(b, num, PB_WT_LEN, e);
	if (!st)
		st = pb_put_varint(b, (uint64_t)n * 4, e);
	for (size_t i = 0; !st && i < n; i++) {
		uint32_t bits;
		memcpy(&bits, &v[i], sizeof bits);
		st = put_le(b, bits, 4, e);
	}
	return st;
}

enum status pb_put_packed_uint32(struct buf *b, uint32_t num, const uint32_t *v, size_t n,
                                 struct errinfo *e)
{
	if (n == 0)
		return ST_OK;
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += pb_varint_size(v[i]);
	enum status st = pb_put_key(b, num, PB_WT_LEN, e);
	if (!st)
		st = pb_put_varint(b, total, e);
	for (size_t i = 0; !st && i < n; i++)
		st = pb_put_varint(b, v[i], e);
	return st;
}

/* ---- unknown fields ---- */

void pb_emitter_init(struct pb_emitter *em, struct buf *b, const struct pb_bytes *unknown)
{
	em->b = b;
	em->unknown = unknown;
	em->next = 0;
}

/* Write kept records with lo <= number < hi (hi = 0 means no upper bound). */
static enum status put_unknown_range(struct pb_emitter *em, uint32_t lo, uint64_t hi,
                                     struct errinfo *e)
{
	if (!em->unknown || em->unknown->len == 0)
		return ST_OK;
	struct pb_reader r;
	pb_reader_init(&r, em->unknown->data, em->unknown->len);
	for (;;) {
		struct pb_field f;
		bool more;
		enum status st = pb_reader_next(&r, &f, &more, e);
		if (st) {
			errinfo_prefix(e, "kept unknown fields");
			return st;
		}
		if (!more)
			return ST_OK;
		if (f.num >= lo && f.num < hi) {
			st = buf_append(em->b, f.raw, f.raw_len, e);
			if (st)
				return st;
		}
	}
}

enum status pb_unknown_before(struct pb_emitter *em, uint32_t num, struct errinfo *e)
{
	if (num <= em->next)
		return ST_OK;
	enum status st = put_unknown_range(em, em->next, num, e);
	em->next = num;
	return st;
}

enum status pb_unknown_rest(struct pb_emitter *em, struct errinfo *e)
{
	enum status st = put_unknown_range(em, em->next, (uint64_t)PB_MAX_FIELD + 1, e);
	em->next = PB_MAX_FIELD + 1;
	return st;
}
