/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pb_desc.c - the generic driver of table-described protobuf messages (see
 * pb_desc.h).  Members are reached as (char *)msg + offset; the row macros
 * have checked each member's type against its kind at compile time, so
 * the casts below restore the member's real type.  Array pointers of
 * repeated messages are read and written with memcpy because their element
 * type is only known to the caller.
 */
#include "pb_desc.h"

#include <stdlib.h>
#include <string.h>

static void *member(void *msg, size_t off)
{
	return (char *)msg + off;
}

static const void *cmember(const void *msg, size_t off)
{
	return (const char *)msg + off;
}

static void *load_ptr(const void *msg, size_t off)
{
	void *p;
	memcpy(&p, cmember(msg, off), sizeof p);
	return p;
}

static void store_ptr(void *msg, size_t off, void *p)
{
	memcpy(member(msg, off), &p, sizeof p);
}

static bool is_repeated(const struct pb_fdesc *fd)
{
	return fd->count_off != PB_NO_OFF;
}

static enum status bad_row(const struct pb_fdesc *fd, struct errinfo *e)
{
	return errinfo_set(e, ST_INTERNAL, "protobuf: field %u: unsupported descriptor (kind %d)",
	                   fd->num, (int)fd->kind);
}

/* ---- decoding ---- */

/* Append one zeroed element to the array of repeated message fd; *elem is
 * the new element. */
static enum status push_element(const struct pb_fdesc *fd, void *msg, void **elem,
                                struct errinfo *e)
{
	size_t *count = member(msg, fd->count_off);
	size_t size = fd->sub->size;
	if (*count >= SIZE_MAX / size - 1)
		return errinfo_set(e, ST_NOMEM, "too many elements");
	char *arr = realloc(load_ptr(msg, fd->off), (*count + 1) * size);
	if (!arr)
		return errinfo_set(e, ST_NOMEM, "cannot allocate %zu bytes", (*count + 1) * size);
	store_ptr(msg, fd->off, arr);
	*elem = arr + *count * size;
	memset(*elem, 0, size);
	(*count)++;
	return ST_OK;
}

static enum status get_repeated(const struct pb_fdesc *fd, const struct pb_field *f, void *msg,
                                struct errinfo *e)
{
	size_t *count = member(msg, fd->count_off);
	switch (fd->kind) {
	case PB_K_FLOAT:
		return pb_get_repeated_float(f, member(msg, fd->off), count, e);
	case PB_K_UINT32:
		return pb_get_repeated_uint32(f, member(msg, fd->off), count, e);
	case PB_K_MSG: {
		const uint8_t *d;
		size_t l;
		void *elem = NULL;
		enum status st = pb_get_len(f, &d, &l, e);
		if (!st)
			st = push_element(fd, msg, &elem, e);
		if (!st)
			st = pb_desc_merge(fd->sub, d, l, elem, e);
		/* the element being read, or the last one before it if it was
		 * never added */
		if (st && fd->name)
			errinfo_prefix(e, "%s[%zu]", fd->name, *count ? *count - 1 : 0);
		return st;
	}
	default:
		return bad_row(fd, e);
	}
}

static enum status get_singular(const struct pb_fdesc *fd, const struct pb_field *f, void *msg,
                                struct errinfo *e)
{
	void *v = member(msg, fd->off);
	switch (fd->kind) {
	case PB_K_BOOL:
		return pb_get_bool(f, v, e);
	case PB_K_INT32:
		return pb_get_int32(f, v, e);
	case PB_K_UINT32:
		return pb_get_uint32(f, v, e);
	case PB_K_INT64:
		return pb_get_int64(f, v, e);
	case PB_K_FLOAT:
		return pb_get_float(f, v, e);
	case PB_K_STRING:
		return pb_get_string(f, v, e);
	case PB_K_BYTES:
		return pb_get_bytes(f, v, e);
	case PB_K_MSG: {
		const uint8_t *d;
		size_t l;
		enum status st = pb_get_len(f, &d, &l, e);
		if (st)
			return st;
		if (fd->has_off != PB_NO_OFF)
			*(bool *)member(msg, fd->has_off) = true;
		return pb_desc_merge(fd->sub, d, l, v, e);
	}
	}
	return bad_row(fd, e);
}

static const struct pb_fdesc *find_field(const struct pb_msgdesc *d, uint32_t num)
{
	for (size_t i = 0; i < d->nfields && d->fields[i].num <= num; i++)
		if (d->fields[i].num == num)
			return &d->fields[i];
	return NULL;
}

enum status pb_desc_merge(const struct pb_msgdesc *d, const uint8_t *p, size_t n, void *msg,
                          struct errinfo *e)
{
	struct pb_reader r;
	pb_reader_init(&r, p, n);
	for (;;) {
		struct pb_field f;
		bool more;
		enum status st = pb_reader_next(&r, &f, &more, e);
		if (st || !more)
			return st;
		const struct pb_fdesc *fd = find_field(d, f.num);
		if (!fd)
			st = pb_bytes_append(member(msg, d->unknown_off), f.raw, f.raw_len, e);
		else if (is_repeated(fd))
			st = get_repeated(fd, &f, msg, e);
		else
			st = get_singular(fd, &f, msg, e);
		/* a flag is set only once its value was read (a failure ends
		 * the decode anyway) */
		if (!st && fd && fd->kind != PB_K_MSG && fd->has_off != PB_NO_OFF)
			*(bool *)member(msg, fd->has_off) = true;
		if (st)
			return st;
	}
}

enum status pb_desc_decode(const struct pb_msgdesc *d, const uint8_t *p, size_t n, void *msg,
                           struct errinfo *e)
{
	memset(msg, 0, d->size);
	enum status st = pb_desc_merge(d, p, n, msg, e);
	if (st) {
		pb_desc_free(d, msg);
		errinfo_prefix(e, "%s", d->name);
	}
	return st;
}

/* ---- encoding ---- */

/* An embedded message: encoded into a scratch buffer under the same cap,
 * then written as one length-delimited record (an empty one as `key 00`). */
static enum status put_message(struct buf *b, uint32_t num, const struct pb_msgdesc *d,
                               const void *msg, struct errinfo *e)
{
	struct buf tmp;
	buf_init(&tmp, b->cap);
	enum status st = pb_desc_encode(d, msg, &tmp, e);
	if (!st)
		st =
		    pb_put_len(b, num, tmp.data ? tmp.data : (const unsigned char *)"", tmp.len, e);
	buf_free(&tmp);
	return st;
}

static enum status put_repeated(struct buf *b, const struct pb_fdesc *fd, const void *msg,
                                struct errinfo *e)
{
	size_t count = *(const size_t *)cmember(msg, fd->count_off);
	const void *arr = load_ptr(msg, fd->off);
	switch (fd->kind) {
	case PB_K_FLOAT:
		return pb_put_packed_float(b, fd->num, arr, count, e);
	case PB_K_UINT32:
		return pb_put_packed_uint32(b, fd->num, arr, count, e);
	case PB_K_MSG: {
		enum status st = ST_OK;
		for (size_t i = 0; !st && i < count; i++)
			st = put_message(b, fd->num, fd->sub, (const char *)arr + i * fd->sub->size,
			                 e);
		return st;
	}
	default:
		return bad_row(fd, e);
	}
}

/* Whether a singular field without a has flag is written: proto3 omits
 * the default value.  An embedded message without a flag is always
 * written. */
static bool differs_from_default(const struct pb_fdesc *fd, const void *v)
{
	switch (fd->kind) {
	case PB_K_BOOL:
		return *(const bool *)v;
	case PB_K_INT32:
		return *(const int32_t *)v != 0;
	case PB_K_UINT32:
		return *(const uint32_t *)v != 0;
	case PB_K_INT64:
		return *(const int64_t *)v != 0;
	case PB_K_FLOAT:
		return *(const float *)v != 0.0f; /* NaN is written, -0.0 is not */
	case PB_K_STRING: {
		const char *s = *(char *const *)v;
		return s && *s;
	}
	case PB_K_BYTES:
		return ((const struct pb_bytes *)v)->len > 0;
	case PB_K_MSG:
		return true;
	}
	return true;
}

static enum status put_singular(struct buf *b, const struct pb_fdesc *fd, const void *msg,
                                struct errinfo *e)
{
	const void *v = cmember(msg, fd->off);
	bool present = fd->has_off != PB_NO_OFF ? *(const bool *)cmember(msg, fd->has_off)
	                                        : differs_from_default(fd, v);
	if (!present)
		return ST_OK;
	switch (fd->kind) {
	case PB_K_BOOL:
		return pb_put_bool(b, fd->num, *(const bool *)v, e);
	case PB_K_INT32:
		return pb_put_int32(b, fd->num, *(const int32_t *)v, e);
	case PB_K_UINT32:
		return pb_put_uint32(b, fd->num, *(const uint32_t *)v, e);
	case PB_K_INT64:
		return pb_put_int64(b, fd->num, *(const int64_t *)v, e);
	case PB_K_FLOAT:
		return pb_put_float(b, fd->num, *(const float *)v, e);
	case PB_K_STRING:
		return pb_put_string(b, fd->num, *(char *const *)v, e);
	case PB_K_BYTES: {
		const struct pb_bytes *x = v;
		return pb_put_len(b, fd->num, x->data ? x->data : (const uint8_t *)"", x->len, e);
	}
	case PB_K_MSG:
		return put_message(b, fd->num, fd->sub, v, e);
	}
	return bad_row(fd, e);
}

enum status pb_desc_encode(const struct pb_msgdesc *d, const void *msg, struct buf *out,
                           struct errinfo *e)
{
	struct pb_emitter em;
	pb_emitter_init(&em, out, cmember(msg, d->unknown_off));
	size_t start = out->len;
	enum status st = ST_OK;
	for (size_t i = 0; !st && i < d->nfields; i++) {
		const struct pb_fdesc *fd = &d->fields[i];
		if (i > 0 && fd->num <= d->fields[i - 1].num)
			st = errinfo_set(e, ST_INTERNAL, "protobuf: %s: field %u out of order",
			                 d->name, fd->num);
		if (!st)
			st = pb_unknown_before(&em, fd->num, e);
		if (!st)
			st = is_repeated(fd) ? put_repeated(out, fd, msg, e)
			                     : put_singular(out, fd, msg, e);
	}
	if (!st)
		st = pb_unknown_rest(&em, e);
	if (st) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return st;
}

/* ---- freeing ---- */

void pb_desc_free(const struct pb_msgdesc *d, void *msg)
{
	if (!msg)
		return;
	for (size_t i = 0; i < d->nfields; i++) {
		const struct pb_fdesc *fd = &d->fields[i];
		void *v = member(msg, fd->off);
		if (is_repeated(fd)) {
			char *arr = load_ptr(msg, fd->off);
			size_t count = *(size_t *)member(msg, fd->count_off);
			for (size_t k = 0; fd->kind == PB_K_MSG && k < count; k++)
				pb_desc_free(fd->sub, arr + k * fd->sub->size);
			free(arr);
		} else if (fd->kind == PB_K_STRING) {
			free(*(char **)v);
		} else if (fd->kind == PB_K_BYTES) {
			pb_bytes_free(v);
		} else if (fd->kind == PB_K_MSG) {
			pb_desc_free(fd->sub, v);
		}
	}
	pb_bytes_free(member(msg, d->unknown_off));
	memset(msg, 0, d->size);
}
