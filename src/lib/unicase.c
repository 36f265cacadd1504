/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * unicase.c - the "unicase" collation (collection-format.md §1.2).
 *
 * Anki registers a Rust closure that receives both operands through
 * String::from_utf8_lossy and compares UniCase values (unicase 2.6.0):
 * pure-ASCII pairs by ASCII-lowercased bytes, anything else by full Unicode
 * case folding, code point by code point.
 *
 * Fast path without a pre-scan: ASCII folding and full folding agree on
 * ASCII characters, and full folding never maps a character to nothing, so
 * while both strings show ASCII bytes at the same offset the two orders are
 * identical.  Only from the first offset where either string has a
 * non-ASCII byte do we decode and fold.  Nothing here allocates.
 *
 * Known gap: utf8proc carries a newer Unicode version than the 2019 table
 * compiled into unicase 2.6.0, so characters added to CaseFolding.txt after
 * Unicode 12.1 fold here but not in Anki.  Names using them are rare.
 */
#include "unicase.h"

#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

#include "text.h"

/* A cursor over one operand that yields case-folded code points. */
struct fold_iter {
	const unsigned char *p;
	const unsigned char *end;
	utf8proc_int32_t pending[4]; /* folds are at most 3 code points */
	int npending;
	int ipending;
};

/* Next folded code point, or -1 at the end. */
static int32_t fold_next(struct fold_iter *it)
{
	if (it->ipending < it->npending)
		return it->pending[it->ipending++];
	if (it->p >= it->end)
		return -1;
	size_t adv;
	int32_t cp = text_utf8_decode(it->p, (size_t)(it->end - it->p), &adv);
	it->p += adv;
	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
	int boundclass = 0;
	utf8proc_ssize_t n =
	    utf8proc_decompose_char(cp, it->pending, 4, UTF8PROC_CASEFOLD, &boundclass);
	if (n < 1 || n > 4)
		return cp; /* cannot happen for CASEFOLD alone; stay total */
	it->npending = (int)n;
	it->ipending = 1;
	return it->pending[0];
}

static int fold_compare(const unsigned char *a, const unsigned char *aend, const unsigned char *b,
                        const unsigned char *bend)
{
	struct fold_iter ia = {.p = a, .end = aend};
	struct fold_iter ib = {.p = b, .end = bend};
	for (;;) {
		int32_t ca = fold_next(&ia);
		int32_t cb = fold_next(&ib);
		if (ca != cb)
			return ca < cb ? -1 : 1; /* -1 (end) sorts first */
		if (ca < 0)
			return 0;
	}
}

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int unicase_compare(const char *a, int alen, const char *b, int blen)
{
	const unsigned char *pa = (const unsigned char *)(a ? a : "");
	const unsigned char *pb = (const unsigned char *)(b ? b : "");
	size_t na = alen < 0 ? strlen((const char *)pa) : (size_t)alen;
	size_t nb = blen < 0 ? strlen((const char *)pb) : (size_t)blen;
	size_t n = na < nb ? na : nb;
	size_t i = 0;

	for (; i < n; i++) {
		unsigned char x = pa[i], y = pb[i];
		if ((x | y) & 0x80)
			return fold_compare(pa + i, pa + na, pb + i, pb + nb);
		x = ascii_lower(x);
		y = ascii_lower(y);
		if (x != y)
			return x < y ? -1 : 1;
	}
	/* One is exhausted; anything left folds to at least one code point. */
	if (na == nb)
		return 0;
	return na < nb ? -1 : 1;
}

static int collation_cb(void *ctx, int alen, const void *a, int blen, const void *b)
{
	(void)ctx;
	return unicase_compare(a, alen, b, blen);
}

int unicase_register(sqlite3 *db)
{
	return sqlite3_create_collation_v2(db, "unicase", SQLITE_UTF8, NULL, collation_cb, NULL);
}
