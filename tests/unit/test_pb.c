/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_pb.c - the protobuf wire codec (src/lib/pb.c): varints at their
 * limits, zigzag, fixed-width values, the record reader's refusal of every
 * malformed input, typed accessors, packed/unpacked repeated scalars,
 * strings, writers and the merging of kept unknown records; and the
 * table-driven message driver (src/lib/pb_desc.c) on a test message with
 * one field of every kind.
 */
#include "testutil.h"

#include <math.h>

#include "pb.h"
#include "pb_desc.h"

static void hex_to_bytes(const char *hex, uint8_t *out, size_t *n)
{
	size_t k = 0;
	for (const char *p = hex; p[0] && p[1];) {
		if (*p == ' ') {
			p++;
			continue;
		}
		unsigned v;
		assert_int_equal(sscanf(p, "%2x", &v), 1);
		out[k++] = (uint8_t)v;
		p += 2;
	}
	*n = k;
}

static void assert_buf_hex(const struct buf *b, const char *hex)
{
	uint8_t want[256];
	size_t n;
	hex_to_bytes(hex, want, &n);
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
}

static void test_varint_roundtrip(void **state)
{
	(void)state;
	static const struct {
		uint64_t v;
		const char *hex;
	} cases[] = {
	    {0, "00"},
	    {1, "01"},
	    {127, "7f"},
	    {128, "8001"},
	    {300, "ac02"},
	    {36500, "949d02"},
	    {UINT32_MAX, "ffffffff0f"},
	    {(uint64_t)-1, "ffffffffffffffffff01"},
	    {(uint64_t)INT64_MIN, "80808080808080808001"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_int_equal(pb_put_varint(&b, cases[i].v, NULL), ST_OK);
		assert_buf_hex(&b, cases[i].hex);
		assert_int_equal(pb_varint_size(cases[i].v), b.len);
		size_t off = 0;
		uint64_t got = 1234;
		assert_int_equal(pb_decode_varint(b.data, b.len, &off, &got, NULL), ST_OK);
		assert_true(got == cases[i].v);
		assert_int_equal(off, b.len);
		buf_free(&b);
	}
}

static void test_varint_rejects(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "",                       /* nothing */
	    "80",                     /* truncated */
	    "ffffffff",               /* truncated */
	    "ffffffffffffffffff02",   /* 10th byte overflows 64 bits */
	    "ffffffffffffffffff7f",   /* likewise */
	    "8080808080808080808000", /* 11 bytes */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t b[16];
		size_t n, off = 0;
		uint64_t v;
		struct errinfo e = {0};
		hex_to_bytes(bad[i], b, &n);
		assert_int_equal(pb_decode_varint(b, n, &off, &v, &e), ST_CORRUPT);
		assert_non_null(strstr(e.msg, "varint"));
	}
	/* a non-minimal but valid 10-byte encoding of 1 is accepted */
	uint8_t b[16];
	size_t n, off = 0;
	uint64_t v;
	hex_to_bytes("81808080808080808000", b, &n);
	assert_int_equal(pb_decode_varint(b, n, &off, &v, NULL), ST_OK);
	assert_true(v == 1);
}

static void test_zigzag(void **state)
{
	(void)state;
	assert_int_equal(pb_zigzag32(0), 0);
	assert_int_equal(pb_zigzag32(-1), 1);
	assert_int_equal(pb_zigzag32(1), 2);
	assert_int_equal(pb_zigzag32(-2), 3);
	assert_true(pb_zigzag32(INT32_MAX) == 0xfffffffeu);
	assert_true(pb_zigzag32(INT32_MIN) == 0xffffffffu);
	assert_true(pb_zigzag64(INT64_MIN) == UINT64_MAX);
	assert_true(pb_zigzag64(INT64_MAX) == UINT64_MAX - 1);
	for (int32_t v = -1000; v <= 1000; v += 7)
		assert_int_equal(pb_unzigzag32(pb_zigzag32(v)), v);
	int64_t vals[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX};
	for (size_t i = 0; i < 6; i++)
		assert_true(pb_unzigzag64(pb_zigzag64(vals[i])) == vals[i]);

	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(pb_put_sint32(&b, 4, -1, NULL), ST_OK); /* Template.usn style */
	assert_buf_hex(&b, "2001");
	struct pb_reader r;
	struct pb_field f;
	bool more;
	int32_t s32;
	pb_reader_init(&r, b.data, b.len);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_sint32(&f, &s32, NULL), ST_OK);
	assert_int_equal(s32, -1);
	buf_free(&b);
}

static void test_writers_and_reader(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(pb_put_int64(&b, 1, -2, NULL), ST_OK);
	assert_int_equal(pb_put_int32(&b, 2, -1, NULL), ST_OK);
	assert_int_equal(pb_put_uint32(&b, 3, 20, NULL), ST_OK);
	assert_int_equal(pb_put_bool(&b, 4, true, NULL), ST_OK);
	assert_int_equal(pb_put_float(&b, 5, 2.5f, NULL), ST_OK);
	assert_int_equal(pb_put_double(&b, 6, -0.5, NULL), ST_OK);
	assert_int_equal(pb_put_fixed32(&b, 7, 0xdeadbeef, NULL), ST_OK);
	assert_int_equal(pb_put_fixed64(&b, 8, 0x0102030405060708ull, NULL), ST_OK);
	assert_int_equal(pb_put_string(&b, 9, "Arial", NULL), ST_OK);
	assert_int_equal(pb_put_string(&b, 10, NULL, NULL), ST_OK);
	assert_int_equal(pb_put_sint64(&b, 11, -3, NULL), ST_OK);
	assert_int_equal(pb_put_uint64(&b, 255, 1, NULL), ST_OK);
	assert_buf_hex(&b, "08feffffffffffffffff01" /* negative int64: 10 bytes */
	                   "10ffffffffffffffffff01" /* negative int32 too */
	                   "1814"
	                   "2001"
	                   "2d00002040"         /* float 2.5 */
	                   "31000000000000e0bf" /* double -0.5 */
	                   "3defbeadde"
	                   "410807060504030201"
	                   "4a05417269616c"
	                   "5200"
	                   "5805"     /* sint64 -3 zigzag = 5 */
	                   "f80f01"); /* field 255 key = f8 0f */

	struct pb_reader r;
	struct pb_field f;
	bool more;
	pb_reader_init(&r, b.data, b.len);
	int64_t i64;
	int32_t i32;
	uint32_t u32;
	bool bo;
	float fl;
	double db;
	uint64_t u64;
	const uint8_t *d;
	size_t l;
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_true(more);
	assert_int_equal(f.num, 1);
	assert_int_equal(f.wt, PB_WT_VARINT);
	assert_int_equal(f.raw_len, 11);
	assert_int_equal(pb_get_int64(&f, &i64, NULL), ST_OK);
	assert_true(i64 == -2);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_int32(&f, &i32, NULL), ST_OK);
	assert_int_equal(i32, -1);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_uint32(&f, &u32, NULL), ST_OK);
	assert_int_equal(u32, 20);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_bool(&f, &bo, NULL), ST_OK);
	assert_true(bo);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_float(&f, &fl, NULL), ST_OK);
	assert_true(fl == 2.5f);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_double(&f, &db, NULL), ST_OK);
	assert_true(db == -0.5);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_fixed32(&f, &u32, NULL), ST_OK);
	assert_true(u32 == 0xdeadbeef);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_fixed64(&f, &u64, NULL), ST_OK);
	assert_true(u64 == 0x0102030405060708ull);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_len(&f, &d, &l, NULL), ST_OK);
	assert_int_equal(l, 5);
	assert_memory_equal(d, "Arial", 5);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(f.len, 0);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_sint64(&f, &i64, NULL), ST_OK);
	assert_true(i64 == -3);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(f.num, 255);
	assert_int_equal(pb_get_uint64(&f, &u64, NULL), ST_OK);
	assert_true(u64 == 1);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_false(more);
	buf_free(&b);
}

/* Every malformed record is ST_CORRUPT with a message, never a crash. */
static void test_reader_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		const char *msg;
	} bad[] = {
	    {"1b", "wire type 3"}, /* start group */
	    {"0c", "wire type 4"}, /* end group */
	    {"0e00", "wire type 6"},
	    {"0f00", "wire type 7"},
	    {"0001", "invalid field number 0"},
	    {"0a05414243", "exceeds"},   /* length 5, 3 bytes left */
	    {"0affffffff0f", "exceeds"}, /* length 4 GiB */
	    {"0a", "truncated varint"},  /* length missing */
	    {"08", "truncated varint"},  /* value missing */
	    {"0d000080", "truncated 4-byte"},
	    {"09000000000000f0", "truncated 8-byte"},
	    {"80", "truncated varint"},                       /* key truncated */
	    {"f8ffffffffffffffff01", "invalid field number"}, /* number > 2^29-1 */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t b[32];
		size_t n;
		hex_to_bytes(bad[i].hex, b, &n);
		struct pb_reader r;
		struct pb_field f;
		bool more = true;
		struct errinfo e = {0};
		pb_reader_init(&r, b, n);
		assert_int_equal(pb_reader_next(&r, &f, &more, &e), ST_CORRUPT);
		assert_false(more);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("case %zu (%s): message \"%s\" lacks \"%s\"", i, bad[i].hex, e.msg,
			         bad[i].msg);
	}
	/* empty input: no record, no error; NULL pointer with length 0 too */
	struct pb_reader r;
	struct pb_field f;
	bool more = true;
	pb_reader_init(&r, NULL, 0);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_false(more);
}

static void test_wrong_wire_type(void **state)
{
	(void)state;
	uint8_t b[8];
	size_t n;
	hex_to_bytes("1a0141", b, &n); /* field 3, LEN */
	struct pb_reader r;
	struct pb_field f;
	bool more;
	pb_reader_init(&r, b, n);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	struct errinfo e = {0};
	uint32_t u;
	float fl;
	uint64_t u64;
	assert_int_equal(pb_get_uint32(&f, &u, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "field 3 has wire type 2, expected 0"));
	assert_int_equal(pb_get_float(&f, &fl, NULL), ST_CORRUPT);
	assert_int_equal(pb_get_fixed64(&f, &u64, NULL), ST_CORRUPT);
	char *s = NULL;
	assert_int_equal(pb_get_string(&f, &s, NULL), ST_OK);
	assert_string_equal(s, "A");
	free(s);

	hex_to_bytes("1801", b, &n); /* field 3 as a varint */
	pb_reader_init(&r, b, n);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	s = NULL;
	assert_int_equal(pb_get_string(&f, &s, NULL), ST_CORRUPT);
	assert_null(s);
	struct pb_bytes by = {0};
	assert_int_equal(pb_get_bytes(&f, &by, NULL), ST_CORRUPT);
	assert_null(by.data);
}

static void test_repeated(void **state)
{
	(void)state;
	/* packed floats [1, 10], then one unpacked float 2.5, then packed
	 * varints [1, 300], then an unpacked varint 7 */
	uint8_t b[64];
	size_t n;
	hex_to_bytes("0a080000803f00002041 0d00002040 120301ac02 1007", b, &n);
	struct pb_reader r;
	struct pb_field f;
	bool more;
	float *fl = NULL;
	size_t nf = 0;
	uint32_t *u = NULL;
	size_t nu = 0;
	pb_reader_init(&r, b, n);
	for (;;) {
		assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
		if (!more)
			break;
		if (f.num == 1)
			assert_int_equal(pb_get_repeated_float(&f, &fl, &nf, NULL), ST_OK);
		else
			assert_int_equal(pb_get_repeated_uint32(&f, &u, &nu, NULL), ST_OK);
	}
	assert_int_equal(nf, 3);
	assert_true(fl[0] == 1.0f && fl[1] == 10.0f && fl[2] == 2.5f);
	assert_int_equal(nu, 3);
	assert_true(u[0] == 1 && u[1] == 300 && u[2] == 7);

	/* packed float payload not a multiple of 4; bad varint inside a pack */
	hex_to_bytes("0a03000080", b, &n);
	pb_reader_init(&r, b, n);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	struct errinfo e = {0};
	assert_int_equal(pb_get_repeated_float(&f, &fl, &nf, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "multiple of 4"));
	assert_int_equal(nf, 3);
	hex_to_bytes("120201ff", b, &n);
	pb_reader_init(&r, b, n);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_repeated_uint32(&f, &u, &nu, NULL), ST_CORRUPT);
	/* fixed64 where a repeated float is expected */
	hex_to_bytes("090000000000000000", b, &n);
	pb_reader_init(&r, b, n);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	assert_int_equal(pb_get_repeated_float(&f, &fl, &nf, NULL), ST_CORRUPT);
	free(fl);
	free(u);

	struct buf w;
	buf_init(&w, 0);
	float steps[] = {1.0f, 10.0f};
	uint32_t ords[] = {0, 1, 300};
	assert_int_equal(pb_put_packed_float(&w, 1, steps, 2, NULL), ST_OK);
	assert_int_equal(pb_put_packed_float(&w, 2, steps, 0, NULL), ST_OK); /* omitted */
	assert_int_equal(pb_put_packed_uint32(&w, 3, ords, 3, NULL), ST_OK);
	assert_int_equal(pb_put_packed_uint32(&w, 4, ords, 0, NULL), ST_OK);
	assert_buf_hex(&w, "0a080000803f00002041"
	                   "1a040001ac02");
	buf_free(&w);
}

static void test_strings_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		bool ok;
	} s[] = {
	    {"", true},          {"c3a9", true}, /* é */
	    {"e4b8ad", true},                    /* 中 */
	    {"f09f9880", true},                  /* U+1F600 */
	    {"c0af", false},                     /* overlong / */
	    {"e080af", false},                   /* overlong */
	    {"eda080", false},                   /* surrogate D800 */
	    {"f4908080", false},                 /* > U+10FFFF */
	    {"c3", false},                       /* truncated */
	    {"80", false},                       /* stray continuation */
	    {"ff", false},
	};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
		uint8_t b[8];
		size_t n;
		hex_to_bytes(s[i].hex, b, &n);
		if (pb_utf8_valid(b, n) != s[i].ok)
			fail_msg("utf8 case %zu (%s)", i, s[i].hex);
		/* the same bytes as a string field */
		uint8_t rec[16] = {0x0a, (uint8_t)n};
		memcpy(rec + 2, b, n);
		struct pb_reader r;
		struct pb_field f;
		bool more;
		pb_reader_init(&r, rec, n + 2);
		assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
		char *str = NULL;
		enum status st = pb_get_string(&f, &str, NULL);
		assert_int_equal(st, s[i].ok ? ST_OK : ST_CORRUPT);
		if (s[i].ok)
			assert_memory_equal(str, b, n);
		free(str);
	}
	/* NUL inside a string cannot become a C string */
	uint8_t rec[] = {0x0a, 0x03, 'a', 0, 'b'};
	struct pb_reader r;
	struct pb_field f;
	bool more;
	pb_reader_init(&r, rec, sizeof rec);
	assert_int_equal(pb_reader_next(&r, &f, &more, NULL), ST_OK);
	char *str = NULL;
	struct errinfo e = {0};
	assert_int_equal(pb_get_string(&f, &str, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "NUL"));
	/* but it is fine as bytes */
	struct pb_bytes by = {0};
	assert_int_equal(pb_get_bytes(&f, &by, NULL), ST_OK);
	assert_int_equal(by.len, 3);
	pb_bytes_free(&by);
}

static void test_writer_cap(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4);
	assert_int_equal(pb_put_uint32(&b, 1, 1, NULL), ST_OK);
	struct errinfo e = {0};
	assert_int_equal(pb_put_string(&b, 2, "long text", &e), ST_TOOBIG);
	assert_int_equal(pb_put_key(&b, 0, PB_WT_VARINT, NULL), ST_INTERNAL);
	assert_int_equal(pb_put_key(&b, PB_MAX_FIELD + 1, PB_WT_VARINT, NULL), ST_INTERNAL);
	buf_free(&b);
}

/* Kept unknown records are merged into the known ones by field number. */
static void test_unknown_emitter(void **state)
{
	(void)state;
	struct pb_bytes unk = {0};
	uint8_t b[32];
	size_t n;
	/* unknown fields 6 (varint 9), 2 (len "x"), 300 (varint 1), in that
	 * (unsorted) order */
	hex_to_bytes("3009 120178 e01201", b, &n);
	assert_int_equal(pb_bytes_append(&unk, b, n, NULL), ST_OK);
	struct buf out;
	buf_init(&out, 0);
	struct pb_emitter em;
	pb_emitter_init(&em, &out, &unk);
	assert_int_equal(pb_unknown_before(&em, 1, NULL), ST_OK);
	assert_int_equal(pb_put_uint32(&out, 1, 5, NULL), ST_OK);
	assert_int_equal(pb_unknown_before(&em, 7, NULL), ST_OK);
	assert_int_equal(pb_put_uint32(&out, 7, 5, NULL), ST_OK);
	assert_int_equal(pb_unknown_before(&em, 255, NULL), ST_OK);
	assert_int_equal(pb_put_uint32(&out, 255, 5, NULL), ST_OK);
	assert_int_equal(pb_unknown_rest(&em, NULL), ST_OK);
	/* within [2,7) the kept order is preserved: 6 then 2 */
	assert_buf_hex(&out, "0805 3009 120178 3805 f80f05 e01201");
	buf_free(&out);
	pb_bytes_free(&unk);
}

/* ---- pb_desc: a message with one field of every kind ---- */

struct t_inner {
	uint32_t a; /* 1 */
	char *s;    /* 2 */
	struct pb_bytes unknown;
};

struct t_outer {
	bool b;                /* 1 */
	int32_t i32;           /* 2 */
	uint32_t u32;          /* 3 */
	int64_t i64;           /* 4 */
	float f;               /* 5 */
	char *str;             /* 6 */
	struct pb_bytes bytes; /* 7 */
	bool has_opt;          /* 9, optional (8 is left free for an unknown) */
	uint32_t opt;
	size_t nfl; /* 10 */
	float *fl;
	size_t nu; /* 11 */
	uint32_t *u;
	bool has_in; /* 12 */
	struct t_inner in;
	size_t nins; /* 13 */
	struct t_inner *ins;
	struct pb_bytes unknown;
};

static const struct pb_fdesc t_inner_fields[] = {
    PB_SCALAR(struct t_inner, 1, UINT32, a),
    PB_SCALAR(struct t_inner, 2, STRING, s),
};
static const struct pb_msgdesc t_inner_desc = PB_MSGDESC(struct t_inner, "T.Inner", t_inner_fields);

static const struct pb_fdesc t_outer_fields[] = {
    PB_SCALAR(struct t_outer, 1, BOOL, b),
    PB_SCALAR(struct t_outer, 2, INT32, i32),
    PB_SCALAR(struct t_outer, 3, UINT32, u32),
    PB_SCALAR(struct t_outer, 4, INT64, i64),
    PB_SCALAR(struct t_outer, 5, FLOAT, f),
    PB_SCALAR(struct t_outer, 6, STRING, str),
    PB_SCALAR(struct t_outer, 7, BYTES, bytes),
    PB_OPTIONAL(struct t_outer, 9, UINT32, opt, has_opt),
    PB_REPEATED(struct t_outer, 10, FLOAT, fl, nfl),
    PB_REPEATED(struct t_outer, 11, UINT32, u, nu),
    PB_MESSAGE(struct t_outer, 12, in, has_in, &t_inner_desc),
    PB_MESSAGES(struct t_outer, 13, ins, nins, &t_inner_desc, "ins"),
};
static const struct pb_msgdesc t_outer_desc = PB_MSGDESC(struct t_outer, "T.Outer", t_outer_fields);

/* bool true, int32 -1 (10 bytes), uint32 300, int64 0 (omitted), float 1,
 * "hi", bytes 01 02, unknown 8 (varint 7), optional 0 (written), floats
 * [1, 10], uint32s [1, 300], an empty message (written: has flag), one
 * element {1, "x"}, unknown 100 (varint 1). */
#define T_OUTER_HEX                                                                                \
	"0801 10ffffffffffffffffff01 18ac02 2d0000803f 32026869 3a020102 4007 4800"                \
	" 52080000803f00002041 5a0301ac02 6200 6a050801120178 a00601"

static void test_desc_roundtrip(void **state)
{
	(void)state;
	uint8_t b[128];
	size_t n;
	hex_to_bytes(T_OUTER_HEX, b, &n);
	struct t_outer o;
	assert_int_equal(pb_desc_decode(&t_outer_desc, b, n, &o, NULL), ST_OK);
	assert_true(o.b);
	assert_int_equal(o.i32, -1);
	assert_int_equal(o.u32, 300);
	assert_true(o.i64 == 0);
	assert_true(o.f == 1.0f);
	assert_string_equal(o.str, "hi");
	assert_int_equal(o.bytes.len, 2);
	assert_true(o.has_opt);
	assert_int_equal(o.opt, 0);
	assert_int_equal(o.nfl, 2);
	assert_true(o.fl[1] == 10.0f);
	assert_int_equal(o.nu, 2);
	assert_int_equal(o.u[1], 300);
	assert_true(o.has_in);
	assert_null(o.in.s);
	assert_int_equal(o.nins, 1);
	assert_int_equal(o.ins[0].a, 1);
	assert_string_equal(o.ins[0].s, "x");
	assert_int_equal(o.unknown.len, 2 + 3);
	struct buf out;
	buf_init(&out, 0);
	assert_int_equal(pb_desc_encode(&t_outer_desc, &o, &out, NULL), ST_OK);
	assert_buf_hex(&out, T_OUTER_HEX);
	pb_desc_free(&t_outer_desc, &o);
	static const struct t_outer zero;
	assert_memory_equal(&o, &zero, sizeof o);

	/* a zeroed struct encodes to nothing; appending keeps what was there */
	buf_reset(&out);
	assert_int_equal(buf_append(&out, "x", 1, NULL), ST_OK);
	assert_int_equal(pb_desc_encode(&t_outer_desc, &zero, &out, NULL), ST_OK);
	assert_int_equal(out.len, 1);
	buf_free(&out);
}

static void test_desc_merge_semantics(void **state)
{
	(void)state;
	uint8_t b[64];
	size_t n;
	struct t_outer o;
	/* scalar twice: last wins; unpacked and packed repeats append; the
	 * embedded message twice is merged; string twice: last wins */
	hex_to_bytes("1801 1802 5801 5a020203 5804 62020801 6203120178 3201 61 3201 62", b, &n);
	assert_int_equal(pb_desc_decode(&t_outer_desc, b, n, &o, NULL), ST_OK);
	assert_int_equal(o.u32, 2);
	assert_int_equal(o.nu, 4);
	assert_int_equal(o.u[0], 1);
	assert_int_equal(o.u[3], 4);
	assert_int_equal(o.in.a, 1);
	assert_string_equal(o.in.s, "x");
	assert_string_equal(o.str, "b");
	/* merging more input into a decoded struct continues it */
	hex_to_bytes("6a00 6a020805", b, &n);
	assert_int_equal(pb_desc_merge(&t_outer_desc, b, n, &o, NULL), ST_OK);
	assert_int_equal(o.nins, 2);
	assert_int_equal(o.ins[1].a, 5);
	pb_desc_free(&t_outer_desc, &o);
}

static void test_desc_errors(void **state)
{
	(void)state;
	uint8_t b[64];
	size_t n;
	struct t_outer o;
	struct errinfo e = {0};
	/* an error inside the second element names it and the message; the
	 * struct is left zeroed and nothing leaks (ASan) */
	hex_to_bytes("3202 6869 6a02 0801 6a02 1201", b, &n);
	memset(&o, 0xab, sizeof o);
	assert_int_equal(pb_desc_decode(&t_outer_desc, b, n, &o, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "T.Outer: ins[1]: "));
	assert_non_null(strstr(e.msg, "exceeds"));
	static const struct t_outer zero;
	assert_memory_equal(&o, &zero, sizeof o);
	/* wrong wire types of a known field */
	hex_to_bytes("0d00000000", b, &n); /* bool as fixed32 */
	assert_int_equal(pb_desc_decode(&t_outer_desc, b, n, &o, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "field 1 has wire type 5"));
	hex_to_bytes("6001", b, &n); /* message as varint */
	assert_int_equal(pb_desc_decode(&t_outer_desc, b, n, &o, &e), ST_CORRUPT);
	assert_non_null(strstr(e.msg, "field 12 has wire type 0"));

	/* a table out of ascending order is refused on output; out restored */
	static const struct pb_fdesc bad_fields[] = {
	    PB_SCALAR(struct t_inner, 2, STRING, s),
	    PB_SCALAR(struct t_inner, 1, UINT32, a),
	};
	static const struct pb_msgdesc bad_desc = PB_MSGDESC(struct t_inner, "Bad", bad_fields);
	struct t_inner in = {.a = 1};
	struct buf out;
	buf_init(&out, 0);
	assert_int_equal(pb_desc_encode(&bad_desc, &in, &out, &e), ST_INTERNAL);
	assert_int_equal(out.len, 0);
	/* the cap of the output bounds nested messages too */
	struct t_outer big = {.has_in = true, .in = {.s = (char *)"0123456789"}};
	struct buf small;
	buf_init(&small, 8);
	assert_int_equal(pb_desc_encode(&t_outer_desc, &big, &small, NULL), ST_TOOBIG);
	assert_int_equal(small.len, 0);
	buf_free(&small);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_varint_roundtrip), cmocka_unit_test(test_varint_rejects),
	    cmocka_unit_test(test_zigzag),           cmocka_unit_test(test_writers_and_reader),
	    cmocka_unit_test(test_reader_rejects),   cmocka_unit_test(test_wrong_wire_type),
	    cmocka_unit_test(test_repeated),         cmocka_unit_test(test_strings_utf8),
	    cmocka_unit_test(test_writer_cap),       cmocka_unit_test(test_unknown_emitter),
	    cmocka_unit_test(test_desc_roundtrip),   cmocka_unit_test(test_desc_merge_semantics),
	    cmocka_unit_test(test_desc_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
