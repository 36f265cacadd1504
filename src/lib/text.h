/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * text.h - text rules for notes (collection-format.md §6.1, §6.2):
 * the HTML stripping that feeds notes.sfld and notes.csum, the checksum,
 * empty-field detection, guids, field splitting/joining and the cleaning
 * Anki applies to every field before saving.
 *
 * All functions take (pointer, length) text; input may be any bytes.
 * Invalid UTF-8 never crashes anything: the stripping and checks read it
 * as Rust's from_utf8_lossy would (each ill-formed piece is one opaque
 * non-word character) and copy the bytes through unchanged; cleaning
 * replaces it with U+FFFD.  Output buffers are struct buf; their previous
 * content is discarded, their cap applies (ST_TOOBIG), and on success
 * out->data is non-NULL and NUL-terminated even when the result is empty
 * (so it can be bound as TEXT directly; it may contain NUL bytes from
 * "&#0;", so bind with out->len).
 */
#ifndef ANKIHOST_TEXT_H
#define ANKIHOST_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

/* The separator between fields in notes.flds. */
#define TEXT_FIELD_SEP '\x1f'

/* A guid is at most 10 base-91 digits; buffers take the NUL too. */
#define TEXT_GUID_MAX 10

/*
 * strip_html_preserving_media_filenames (§6.1 steps 1-4): media tags
 * (img/audio/video/object/source with src= or data=) become
 * " filename ", other tags, comments, <style> and <script> blocks are
 * removed, then entities are decoded all-or-nothing (and U+00A0 becomes a
 * space when decoding succeeded).  The result is the text Anki stores in
 * notes.sfld and hashes for notes.csum.  Runs in linear time.
 */
enum status text_strip_html_preserving_media(const char *in, size_t len, struct buf *out,
                                             struct errinfo *e);

/* The three steps on their own (the output of one is the input of the next). */
enum status text_replace_media_tags(const char *in, size_t len, struct buf *out, struct errinfo *e);
enum status text_strip_html_tags(const char *in, size_t len, struct buf *out, struct errinfo *e);
/* Step 3: if in contains '&', decode &name; (HTML 4 table), &#digits; and
 * &#xhex; - all of them, or none when any '&' does not start a valid,
 * ';'-terminated entity; on success U+00A0 becomes U+0020.  *decoded (may
 * be NULL) says whether decoding happened. */
enum status text_decode_entities(const char *in, size_t len, struct buf *out, bool *decoded,
                                 struct errinfo *e);

/* SHA-1 of already stripped text; the first 4 digest bytes, big-endian. */
uint32_t text_checksum_stripped(const char *stripped, size_t len);

/* notes.csum: strip the first field, then text_checksum_stripped. */
enum status text_checksum(const char *first_field, size_t len, uint32_t *out, struct errinfo *e);

/* notes.sfld: the stripped text of fields[sort_idx] ("" when sort_idx is
 * out of range, as Anki does).  Bind the result as TEXT. */
enum status text_sort_field(const char *const *fields, const size_t *lens, size_t nfields,
                            size_t sort_idx, struct buf *out, struct errinfo *e);

/* §6.2: true when the field holds only ASCII whitespace (space, TAB, LF,
 * VT, FF, CR) and/or <br>, </br>, <div>, </div> (optionally "<br />",
 * "<br/>"; case-insensitive).  "&nbsp;" is not empty. */
bool text_field_is_empty(const char *s, size_t len);

/* A new random guid (OpenSSL RAND_bytes u64, base 91, no padding).
 * out gets up to 10 characters and a NUL.  ST_INTERNAL if the RNG fails. */
enum status text_guid_new(char out[TEXT_GUID_MAX + 1], struct errinfo *e);

/* The base-91 spelling of v (0 gives ""). */
void text_guid_from_u64(uint64_t v, char out[TEXT_GUID_MAX + 1]);

/* A piece of text inside someone else's buffer (not NUL-terminated). */
struct text_slice {
	const char *p;
	size_t len;
};

/* Split notes.flds on \x1f.  *out (caller frees with free()) points into
 * flds, which must outlive it; "" gives one empty field.  At most
 * max_fields pieces (0 = no limit) or ST_TOOBIG. */
enum status text_fields_split(const char *flds, size_t len, size_t max_fields,
                              struct text_slice **out, size_t *n, struct errinfo *e);

/* Join fields with \x1f.  ST_INVALID if a field contains \x1f (it would
 * silently become two fields); clean fields first. */
enum status text_fields_join(const struct text_slice *fields, size_t n, struct buf *out,
                             struct errinfo *e);

/* The cleaning Anki applies to each field before saving: ASCII control
 * characters (U+0000-U+001F, U+007F) other than TAB and LF are removed,
 * invalid UTF-8 becomes U+FFFD, and when nfc is true (config
 * normalize_note_text, default true) the text is NFC-normalised. */
enum status text_field_clean(const char *in, size_t len, bool nfc, struct buf *out,
                             struct errinfo *e);

/* Decode one UTF-8 character at s[0..n) (n >= 1) the way
 * String::from_utf8_lossy does: returns the code point (U+FFFD for an
 * ill-formed piece) and sets *adv to the bytes consumed (>= 1).  Shared
 * with the other text modules so every one reads bad bytes alike. */
int32_t text_utf8_decode(const unsigned char *s, size_t n, size_t *adv);

/* Rust regex's Unicode \w: Alphabetic, marks, decimal digits, connector
 * punctuation, join controls. */
bool text_is_word_char(int32_t cp);

/* Rust char::is_whitespace (Unicode White_Space), used by str::trim. */
bool text_is_white_space(int32_t cp);

/* s[a..b) trimmed of that white space, as str::trim_start / trim_end:
 * the new start, or the new end.  Inline: the template parsers call them
 * for every tag. */
static inline size_t text_trim_ws_start(const char *s, size_t a, size_t b)
{
	while (a < b) {
		size_t adv;
		if (!text_is_white_space(
		        text_utf8_decode((const unsigned char *)s + a, b - a, &adv)))
			break;
		a += adv;
	}
	return a;
}

static inline size_t text_trim_ws_end(const char *s, size_t a, size_t b)
{
	while (b > a) {
		size_t start = b - 1;
		while (start > a && ((unsigned char)s[start] & 0xC0) == 0x80 && b - start < 4)
			start--;
		size_t adv;
		int32_t cp = text_utf8_decode((const unsigned char *)s + start, b - start, &adv);
		if (start + adv != b || !text_is_white_space(cp))
			break;
		b = start;
	}
	return b;
}

/* Append the lossy (U+FFFD for bad bytes) UTF-8 of in to out. */
enum status text_utf8_lossy(const char *in, size_t len, struct buf *out, struct errinfo *e);

/* True if in[0..len) is well-formed UTF-8. */
bool text_utf8_valid(const char *in, size_t len);

/* NFC of valid UTF-8 in (utf8proc).  ST_INVALID on invalid UTF-8. */
enum status text_nfc(const char *in, size_t len, struct buf *out, struct errinfo *e);

/* Append s[0..n) to b as a JSON string the way serde_json writes it
 * (Anki's Rust side): quotes, backslash, \b \f \n \r \t short escapes,
 * other control characters as \u00xx, everything else (UTF-8 included)
 * as is.  ST_NOMEM / ST_TOOBIG from b; e may be NULL. */
enum status text_json_string(struct buf *b, const char *s, size_t n, struct errinfo *e);

#endif
