/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pb.h - a small protobuf (proto3) wire-format codec: a bounds-checked record
 * reader, typed accessors that check the wire type, and writers appending to
 * a struct buf.  No schema knowledge lives here; col_proto.c maps Anki's
 * messages onto it.
 *
 * Wire format facts relied on (collection-format.md section 2.5):
 *   key = varint(field_number << 3 | wire_type); wire types 0 varint,
 *   1 fixed 64-bit LE, 2 length-delimited, 5 fixed 32-bit LE.  Wire types
 *   3/4 (groups) and 6/7 never occur in Anki data and are rejected.
 *   A varint has at most 10 bytes and the 10th may only hold the top bit.
 *   int32/int64/enum negatives are written as 10-byte two's complement
 *   varints; sint32/sint64 use zigzag.
 *
 * Invariants: the reader never reads outside [p, p+len); every malformed
 * input yields ST_CORRUPT with a message naming the offset or field.
 */
#ifndef ANKIHOST_PB_H
#define ANKIHOST_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

enum pb_wire {
	PB_WT_VARINT = 0,
	PB_WT_I64 = 1,
	PB_WT_LEN = 2,
	PB_WT_I32 = 5,
};

/* Largest field number protobuf allows (2^29 - 1). */
#define PB_MAX_FIELD 536870911u

/* An owned byte string (bytes fields, kept unknown records).  data may be
 * NULL when len is 0. */
struct pb_bytes {
	uint8_t *data;
	size_t len;
};

void pb_bytes_free(struct pb_bytes *b);
/* Append len bytes (copied). ST_NOMEM. */
enum status pb_bytes_append(struct pb_bytes *b, const void *p, size_t len, struct errinfo *e);
/* Replace the content by a copy of p[0..len). ST_NOMEM. */
enum status pb_bytes_set(struct pb_bytes *b, const void *p, size_t len, struct errinfo *e);

/* ---- reading ---- */

struct pb_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
};

/* One record as found in the input.  Pointers point into the input. */
struct pb_field {
	uint32_t num; /* field number, 1..PB_MAX_FIELD */
	enum pb_wire wt;
	uint64_t u;          /* VARINT value, or the raw bits of I64/I32 */
	const uint8_t *data; /* LEN payload */
	size_t len;          /* LEN payload length */
	const uint8_t *raw;  /* the whole record, key included */
	size_t raw_len;
};

void pb_reader_init(struct pb_reader *r, const void *p, size_t len);

/* Read the next record into *f.  At the end of input returns ST_OK with
 * *more = false.  ST_CORRUPT on a malformed key, varint, truncated value,
 * field number 0 or wire type 3/4/6/7. */
enum status pb_reader_next(struct pb_reader *r, struct pb_field *f, bool *more, struct errinfo *e);

/* Decode one varint at p[*off] (advancing *off).  ST_CORRUPT when truncated,
 * longer than 10 bytes, or overflowing 64 bits. */
enum status pb_decode_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *out,
                             struct errinfo *e);

/* Typed views of a record.  Each checks the wire type (ST_CORRUPT naming
 * the field number otherwise) and converts like protobuf does: int32/uint32
 * keep the low 32 bits, bool is "varint != 0". */
enum status pb_get_uint64(const struct pb_field *f, uint64_t *out, struct errinfo *e);
enum status pb_get_int64(const struct pb_field *f, int64_t *out, struct errinfo *e);
enum status pb_get_uint32(const struct pb_field *f, uint32_t *out, struct errinfo *e);
enum status pb_get_int32(const struct pb_field *f, int32_t *out, struct errinfo *e);
enum status pb_get_sint32(const struct pb_field *f, int32_t *out, struct errinfo *e);
enum status pb_get_sint64(const struct pb_field *f, int64_t *out, struct errinfo *e);
enum status pb_get_bool(const struct pb_field *f, bool *out, struct errinfo *e);
enum status pb_get_float(const struct pb_field *f, float *out, struct errinfo *e);
enum status pb_get_double(const struct pb_field *f, double *out, struct errinfo *e);
enum status pb_get_fixed32(const struct pb_field *f, uint32_t *out, struct errinfo *e);
enum status pb_get_fixed64(const struct pb_field *f, uint64_t *out, struct errinfo *e);
/* Length-delimited payload (bytes, string, embedded message); not copied. */
enum status pb_get_len(const struct pb_field *f, const uint8_t **data, size_t *len,
                       struct errinfo *e);
/* A proto3 string field: must be valid UTF-8 without NUL bytes (C strings
 * cannot hold NUL).  *out is replaced by a fresh malloc'd copy (the old value
 * is freed).  ST_CORRUPT, ST_NOMEM. */
enum status pb_get_string(const struct pb_field *f, char **out, struct errinfo *e);
/* A bytes field: *out replaced by a copy. */
enum status pb_get_bytes(const struct pb_field *f, struct pb_bytes *out, struct errinfo *e);

/* Repeated scalars: accept the packed form (one LEN record) and the
 * unpacked form (one record per element); elements are appended to
 * (*arr, *n).  Floats: packed length must be a multiple of 4. */
enum status pb_get_repeated_float(const struct pb_field *f, float **arr, size_t *n,
                                  struct errinfo *e);
enum status pb_get_repeated_uint32(const struct pb_field *f, uint32_t **arr, size_t *n,
                                   struct errinfo *e);

/* True when s[0..len) is valid UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF). */
bool pb_utf8_valid(const uint8_t *s, size_t len);

/* ---- writing ---- */

/* Zigzag without shifting negative values (implementation-defined). */
static inline uint64_t pb_zigzag64(int64_t v)
{
	uint64_t u = (uint64_t)v;
	return (u << 1) ^ (0 - (u >> 63));
}
static inline uint32_t pb_zigzag32(int32_t v)
{
	uint32_t u = (uint32_t)v;
	return (u << 1) ^ (0 - (u >> 31));
}
static inline int64_t pb_unzigzag64(uint64_t v)
{
	return (int64_t)((v >> 1) ^ (0 - (v & 1)));
}
static inline int32_t pb_unzigzag32(uint32_t v)
{
	return (int32_t)((v >> 1) ^ (0 - (v & 1)));
}

size_t pb_varint_size(uint64_t v);

/* All writers append to b and return buf_append's status (ST_TOOBIG when
 * the buffer's cap is reached, ST_NOMEM).  They always write the record:
 * omitting proto3 defaults is the caller's decision. */
enum status pb_put_varint(struct buf *b, uint64_t v, struct errinfo *e);
enum status pb_put_key(struct buf *b, uint32_t num, enum pb_wire wt, struct errinfo *e);
enum status pb_put_uint64(struct buf *b, uint32_t num, uint64_t v, struct errinfo *e);
/* int64/int32/enum: negatives become 10-byte varints (sign extension). */
enum status pb_put_int64(struct buf *b, uint32_t num, int64_t v, struct errinfo *e);
enum status pb_put_int32(struct buf *b, uint32_t num, int32_t v, struct errinfo *e);
enum status pb_put_uint32(struct buf *b, uint32_t num, uint32_t v, struct errinfo *e);
enum status pb_put_bool(struct buf *b, uint32_t num, bool v, struct errinfo *e);
enum status pb_put_sint32(struct buf *b, uint32_t num, int32_t v, struct errinfo *e);
enum status pb_put_sint64(struct buf *b, uint32_t num, int64_t v, struct errinfo *e);
enum status pb_put_float(struct buf *b, uint32_t num, float v, struct errinfo *e);
enum status pb_put_double(struct buf *b, uint32_t num, double v, struct errinfo *e);
enum status pb_put_fixed32(struct buf *b, uint32_t num, uint32_t v, struct errinfo *e);
enum status pb_put_fixed64(struct buf *b, uint32_t num, uint64_t v, struct errinfo *e);
/* Length-delimited record (bytes, string, or an already encoded message). */
enum status pb_put_len(struct buf *b, uint32_t num, const void *data, size_t len,
                       struct errinfo *e);
/* String; NULL is written as "". */
enum status pb_put_string(struct buf *b, uint32_t num, const char *s, struct errinfo *e);
/* Packed repeated scalars in one LEN record; nothing is written for n == 0
 * (proto3 omits empty repeated fields). */
enum status pb_put_packed_float(struct buf *b, uint32_t num, const float *v, size_t n,
                                struct errinfo *e);
enum status pb_put_packed_uint32(struct buf *b, uint32_t num, const uint32_t *v, size_t n,
                                 struct errinfo *e);

/* ---- unknown fields ----
 * Records a decoder did not recognise are kept verbatim (concatenated) so
 * that re-encoding is lossless.  On output they are merged into the known
 * fields by field number: an encoder calls pb_unknown_before(num) before
 * writing known field num (in ascending order) and pb_unknown_rest() at
 * the end. */
struct pb_emitter {
	struct buf *b;
	const struct pb_bytes *unknown;
	uint32_t next; /* unknown records with number >= next are still due */
};

void pb_emitter_init(struct pb_emitter *em, struct buf *b, const struct pb_bytes *unknown);
/* Write the kept records numbered in [em->next, num) and set next = num. */
enum status pb_unknown_before(struct pb_emitter *em, uint32_t num, struct errinfo *e);
/* Write every kept record numbered >= em->next. */
enum status pb_unknown_rest(struct pb_emitter *em, struct errinfo *e);

#endif
