/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pb_desc.h - table-driven protobuf messages on top of pb.h.  A message is
 * described by a table of its fields (number, kind, offsets into the C
 * struct); one generic driver decodes (merges), encodes and frees any
 * struct so described.  col_proto.c describes Anki's blob messages
 * (collection-format.md 2.5-2.10) with it.
 *
 * Semantics (those of protobuf and of prost, which writes Anki's blobs):
 *   decoding  fields in any order; a scalar seen twice keeps the last
 *             value; an embedded message seen twice is merged; repeated
 *             float/uint32 packed or not; unknown records appended verbatim
 *             to the struct's `unknown`; a known field with the wrong wire
 *             type, a malformed record or a bad string is ST_CORRUPT.
 *   encoding  the table's order, which must be ascending; a plain scalar
 *             only when not its proto3 default (0, false, 0.0f or -0.0f,
 *             NULL or "", empty bytes); an optional scalar or an embedded
 *             message when its has flag is set (always, if it has none);
 *             repeated float/uint32
 *             packed, nothing when empty; repeated messages one record
 *             each; int32/int64 negatives as 10-byte varints; floats as
 *             fixed32.  Kept unknown records are merged in by number.
 *
 * Member types per kind (checked at compile time by the row macros):
 *   BOOL bool, INT32 int32_t (also enums), UINT32 uint32_t, INT64 int64_t,
 *   FLOAT float, STRING char * (NULL or malloc'd UTF-8), BYTES struct
 *   pb_bytes; repeated FLOAT/UINT32: an element pointer plus a size_t
 *   count; MSG: the embedded struct itself, repeated MSG: a pointer to an
 *   array of them plus a size_t count; has flags: bool.
 * Every described struct has a `struct pb_bytes unknown` member, and every
 * member it owns (strings, bytes, arrays, messages) is in its table, so
 * that pb_desc_free() frees exactly what the decoder allocated.
 */
#ifndef ANKIHOST_PB_DESC_H
#define ANKIHOST_PB_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pb.h"
#include "status.h"

enum pb_kind {
	PB_K_BOOL,
	PB_K_INT32,
	PB_K_UINT32,
	PB_K_INT64,
	PB_K_FLOAT,
	PB_K_STRING,
	PB_K_BYTES,
	PB_K_MSG,
};

/* "No such member" for has_off and count_off. */
#define PB_NO_OFF SIZE_MAX

struct pb_msgdesc;

struct pb_fdesc {
	uint32_t num;
	enum pb_kind kind;
	size_t off;       /* the value, or for a repeated field the array pointer */
	size_t has_off;   /* bool presence flag (optional scalar, message) or PB_NO_OFF */
	size_t count_off; /* size_t count of a repeated field, or PB_NO_OFF (singular) */
	const struct pb_msgdesc *sub; /* PB_K_MSG: the embedded message */
	const char *name; /* repeated PB_K_MSG: error context ("reqs[3]: ..."), or NULL */
};

struct pb_msgdesc {
	const char *name; /* error prefix of pb_desc_decode ("Deck.Common") */
	size_t size;      /* sizeof the struct */
	size_t unknown_off;
	const struct pb_fdesc *fields; /* ascending field numbers */
	size_t nfields;
};

/* ---- table rows; T is the struct type, K a kind without PB_K_ ---- */

#define PB_CTYPE_BOOL bool
#define PB_CTYPE_INT32 int32_t
#define PB_CTYPE_UINT32 uint32_t
#define PB_CTYPE_INT64 int64_t
#define PB_CTYPE_FLOAT float
#define PB_CTYPE_STRING char *
#define PB_CTYPE_BYTES struct pb_bytes

/* offsetof(T, m) that compiles only when member m has type C. */
#define PB_OFF(T, m, C) _Generic(((T *)0)->m, C : offsetof(T, m))

#define PB_ROW(num_, kind_, off_, has_, count_, sub_, name_)                                       \
	{                                                                                          \
		.num = (num_), .kind = (kind_), .off = (off_), .has_off = (has_),                  \
		.count_off = (count_), .sub = (sub_), .name = (name_)                              \
	}

/* A plain proto3 scalar: omitted on output when it is the default. */
#define PB_SCALAR(T, num, K, m)                                                                    \
	PB_ROW(num, PB_K_##K, PB_OFF(T, m, PB_CTYPE_##K), PB_NO_OFF, PB_NO_OFF, NULL, NULL)
/* A proto3 `optional` scalar: written whenever member has is true. */
#define PB_OPTIONAL(T, num, K, m, has)                                                             \
	PB_ROW(num, PB_K_##K, PB_OFF(T, m, PB_CTYPE_##K), PB_OFF(T, has, bool), PB_NO_OFF, NULL,   \
	       NULL)
/* A repeated FLOAT or UINT32: array member arr, count member count. */
#define PB_REPEATED(T, num, K, arr, count)                                                         \
	PB_ROW(num, PB_K_##K, PB_OFF(T, arr, PB_CTYPE_##K *), PB_NO_OFF, PB_OFF(T, count, size_t), \
	       NULL, NULL)
/* An embedded message (struct member m described by *sub), present when
 * has is true. */
#define PB_MESSAGE(T, num, m, has, sub)                                                            \
	PB_ROW(num, PB_K_MSG, offsetof(T, m), PB_OFF(T, has, bool), PB_NO_OFF, sub, NULL)
/* An embedded message without a has flag: always written.  For a oneof,
 * whose member the caller picks by choosing a table that has just it. */
#define PB_MESSAGE_PRESENT(T, num, m, sub)                                                         \
	PB_ROW(num, PB_K_MSG, offsetof(T, m), PB_NO_OFF, PB_NO_OFF, sub, NULL)
/* A repeated message: array member arr of *sub structs, count member
 * count; errors inside element i are prefixed "name[i]" when name is set. */
#define PB_MESSAGES(T, num, arr, count, sub, name)                                                 \
	PB_ROW(num, PB_K_MSG, offsetof(T, arr), PB_NO_OFF, PB_OFF(T, count, size_t), sub, name)

#define PB_MSGDESC(T, name_, fields_)                                                              \
	{                                                                                          \
		.name = (name_), .size = sizeof(T),                                                \
		.unknown_off = PB_OFF(T, unknown, struct pb_bytes), .fields = (fields_),           \
		.nfields = sizeof(fields_) / sizeof((fields_)[0])                                  \
	}

/* ---- the driver ---- */

/* Merge the records of p[0..n) into *msg (a struct described by d, zeroed
 * or previously decoded).  On failure *msg may hold partial allocations:
 * the caller frees it.  p may be NULL when n is 0.  ST_CORRUPT, ST_NOMEM,
 * ST_INTERNAL (a table row of an unsupported shape). */
enum status pb_desc_merge(const struct pb_msgdesc *d, const uint8_t *p, size_t n, void *msg,
                          struct errinfo *e);

/* Decode p[0..n) into *msg, which is overwritten (not freed first).  On
 * success the caller owns it (pb_desc_free or the struct's own *_free); on
 * failure it is left zeroed, nothing leaks, and the message is prefixed by
 * d->name.  Statuses as pb_desc_merge. */
enum status pb_desc_decode(const struct pb_msgdesc *d, const uint8_t *p, size_t n, void *msg,
                           struct errinfo *e);

/* Append the encoding of *msg to out (a buf_init'ed buffer); on failure
 * out->len is restored.  ST_NOMEM, ST_TOOBIG (out's cap), ST_CORRUPT (kept
 * unknown bytes that do not parse), ST_INTERNAL (a table out of order). */
enum status pb_desc_encode(const struct pb_msgdesc *d, const void *msg, struct buf *out,
                           struct errinfo *e);

/* Free every member of *msg the table owns (recursively) and `unknown`,
 * then zero the struct.  NULL-safe. */
void pb_desc_free(const struct pb_msgdesc *d, void *msg);

#endif
