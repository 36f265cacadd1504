/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg_media.c - media in packages (collection-format.md §9.1 "Media map",
 * §8.3): the legacy JSON and latest protobuf media maps, the name checks
 * Anki's importer applies (a plain single component; latest names must
 * already be normalised, legacy names are normalised), the stem-<sha1>.ext
 * name used when a different file already has the name, and the media
 * references inside note text and notetypes.
 *
 * The normalisation itself is ac_media_normalize (the AnkiConnect media
 * module, Anki's normalize_filename).  References are found with Anki's
 * own patterns (rslib/src/text.rs HTML_MEDIA_TAGS, AV_TAGS,
 * UNDERSCORED_CSS_IMPORTS, UNDERSCORED_REFERENCES) run by PCRE2.  Rust's
 * regex engine is linear; PCRE2 backtracks and HTML_MEDIA_TAGS can take
 * exponential time on crafted text, so every match runs under a match and
 * depth limit and a field that hits it is refused (ST_TOOBIG) instead of
 * stalling an import.  Patterns are written without the x flag: in Rust's
 * x mode a space inside a class is ignored, so "[^ >]" means "[^>]".
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pkg_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ac_media.h"
#include "col_json.h"
#include "pb.h"
#include "render_html.h"
#include "render_latex.h"
#include "text.h"

/* Generous for real HTML (the work is about linear there), small enough
 * that a crafted field is refused within a fraction of a second. */
#define REFS_MATCH_LIMIT 20000000u
#define REFS_DEPTH_LIMIT 100000u

void pkg_media_entries_free(struct pkg_media_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].target);
	}
	free(v);
}

bool pkg_media_name_safe(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	return !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

enum status pkg_media_normalize(const char *name, size_t len, char **out, bool *changed,
                                struct errinfo *e)
{
	*out = NULL;
	if (!pkg_media_name_safe(name, len))
		return errinfo_set(e, ST_CORRUPT,
		                   "media file name \"%.*s\" is not a plain file name",
		                   (int)(len > 80 ? 80 : len), name);
	struct buf b;
	buf_init(&b, 0);
	enum status st = ac_media_normalize(name, len, &b, e);
	if (st == ST_INVALID)
		st = errinfo_set(e, ST_CORRUPT, "media file name \"%.*s\" is not usable",
		                 (int)(len > 80 ? 80 : len), name);
	if (!st) {
		if (changed)
			*changed = b.len != len || memcmp(b.data, name, len) != 0;
		*out = (char *)buf_steal(&b, NULL);
	}
	buf_free(&b);
	return st;
}

bool pkg_media_is_static(const char *name)
{
	return name[0] == '_' || strncmp(name, "latex-", 6) == 0;
}

/* Longest prefix of s[0..n) of at most max bytes ending on a character
 * boundary. */
static size_t cut_utf8(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

enum status pkg_media_hashed_name(const char *name, const uint8_t sha1[20], char **out,
                                  struct errinfo *e)
{
	/* Anki: 120 bytes minus the 40 hex digits and the hyphen, then the
	 * stem and extension split at the last dot, the extension kept to 10
	 * bytes and the stem to what leaves room for the dot and a "_". */
	const size_t max = AC_MEDIA_NAME_MAX - 41;
	size_t n = strlen(name);
	const char *dot = memrchr(name, '.', n);
	const char *stem = name, *ext = "";
	size_t stem_len = n, ext_len = 0;
	if (dot) {
		stem_len = (size_t)(dot - name);
		ext = dot + 1;
		ext_len = n - stem_len - 1;
	}
	ext_len = cut_utf8(ext, ext_len, 10);
	stem_len = cut_utf8(stem, stem_len, max - ext_len - 2);
	char hex[41];
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha1[i]);
	struct buf b;
	buf_init(&b, 0);
	/* Anki writes "stem-<sha1>." for a name without extension, a name its
	 * own rules call invalid (trailing dot); we leave the dot out. */
	enum status st =
	    ext_len ? buf_printf(&b, e, "%.*s-%s.%.*s", (int)stem_len, stem, hex, (int)ext_len, ext)
	            : buf_printf(&b, e, "%.*s-%s", (int)stem_len, stem, hex);
	if (!st)
		*out = (char *)buf_steal(&b, NULL);
	buf_free(&b);
	return st;
}

/* ---- media maps ---------------------------------------------------------- */

/* A new zeroed entry at the end of *v, or NULL when memory runs out. */
static struct pkg_media_entry *entry_push(struct pkg_media_entry **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct pkg_media_entry *p = realloc(*v, nc * sizeof *p);
		if (!p)
			return NULL;
		*v = p;
		*cap = nc;
	}
	struct pkg_media_entry *en = &(*v)[(*n)++];
	memset(en, 0, sizeof *en);
	return en;
}

static enum status parse_legacy(const void *data, size_t len, size_t max_entries,
                                struct pkg_media_entry **out, size_t *n, struct errinfo *e)
{
	json_error_t je;
	json_t *root = json_loadb(data, len, 0, &je);
	if (!root)
		return errinfo_set(e, ST_CORRUPT, "media map is not JSON: %s", je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return errinfo_set(e, ST_CORRUPT, "media map is not a JSON object");
	}
	size_t listed = json_object_size(root);
	if (listed > max_entries) {
		json_decref(root);
		return errinfo_set(e, ST_CORRUPT,
		                   "media map lists %zu files but the package has %zu members", listed,
		                   max_entries);
	}
	size_t cap = 0;
	enum status st = ST_OK;
	const char *key;
	json_t *val;
	json_object_foreach(root, key, val)
	{
		/* Anki parses the key as a usize and looks the member up by that
		 * number's decimal form. */
		uint64_t idx = 0;
		size_t kl = strlen(key);
		bool ok = kl > 0 && kl <= 18;
		for (size_t i = 0; ok && i < kl; i++) {
			ok = key[i] >= '0' && key[i] <= '9';
			idx = idx * 10 + (uint64_t)(key[i] - '0');
		}
		if (!ok) {
			st = errinfo_set(e, ST_CORRUPT, "media map key \"%.40s\" is not a number",
			                 key);
			break;
		}
		if (!json_is_string(val)) {
			st = errinfo_set(e, ST_CORRUPT,
			                 "media map value for \"%s\" is not a string", key);
			break;
		}
		struct pkg_media_entry *en = entry_push(out, n, &cap);
		if (!en) {
			st = errinfo_set(e, ST_NOMEM, "out of memory");
			break;
		}
		en->index = idx;
		st = pkg_media_normalize(json_string_value(val), json_string_length(val), &en->name,
		                         NULL, e);
		if (st)
			break;
	}
	json_decref(root);
	return st;
}

static enum status parse_entry(const uint8_t *p, size_t len, struct pkg_media_entry *en,
                               struct errinfo *e)
{
	struct pb_reader r;
	pb_reader_init(&r, p, len);
	char *name = NULL;
	struct pb_bytes sha1 = {0};
	enum status st = ST_OK;
	for (;;) {
		struct pb_field f;
		bool more = false;
		if ((st = pb_reader_next(&r, &f, &more, e)) || !more)
			break;
		if (f.num == 1)
			st = pb_get_string(&f, &name, e);
		else if (f.num == 2)
			st = pb_get_uint32(&f, &en->size, e);
		else if (f.num == 3)
			st = pb_get_bytes(&f, &sha1, e);
		if (st)
			break;
	}
	if (!st && (sha1.len != 20 || !sha1.data)) {
		st = errinfo_set(e, ST_CORRUPT, "media entry %s has a %zu-byte SHA-1",
		                 name ? name : "", sha1.len);
	} else if (!st) {
		memcpy(en->sha1, sha1.data, 20);
		en->has_sha1 = true;
		bool changed = false;
		const char *nm = name ? name : "";
		st = pkg_media_normalize(nm, strlen(nm), &en->name, &changed, e);
		if (!st && changed)
			st = errinfo_set(e, ST_CORRUPT,
			                 "media file name \"%.80s\" is not normalised", nm);
	}
	free(name);
	pb_bytes_free(&sha1);
	return st;
}

enum status pkg_media_map_parse(const void *data, size_t len, bool legacy, size_t max_entries,
                                struct pkg_media_entry **out, size_t *n, struct errinfo *e)
{
	*out = NULL;
	*n = 0;
	enum status st;
	if (legacy) {
		st = parse_legacy(data, len, max_entries, out, n, e);
	} else {
		struct pb_reader r;
		pb_reader_init(&r, data, len);
		size_t cap = 0;
		for (;;) {
			struct pb_field f;
			bool more = false;
			if ((st = pb_reader_next(&r, &f, &more, e)) || !more)
				break;
			if (f.num != 1)
				continue;
			const uint8_t *p;
			size_t l;
			if ((st = pb_get_len(&f, &p, &l, e)))
				break;
			if (*n >= max_entries) {
				st = errinfo_set(
				    e, ST_CORRUPT,
				    "media map lists more files than the package has members");
				break;
			}
			struct pkg_media_entry *en = entry_push(out, n, &cap);
			if (!en) {
				st = errinfo_set(e, ST_NOMEM, "out of memory");
				break;
			}
			en->index = *n - 1;
			if ((st = parse_entry(p, l, en, e)))
				break;
		}
	}
	if (st) {
		if (st == ST_CORRUPT)
			errinfo_prefix(e, "media map");
		pkg_media_entries_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return st;
}

enum status pkg_media_map_encode(const struct pkg_media_entry *v, size_t n, bool legacy,
                                 struct buf *out, struct errinfo *e)
{
	enum status st = ST_OK;
	if (legacy) {
		json_t *o = json_object();
		for (size_t i = 0; o && i < n && !st; i++) {
			char key[24];
			snprintf(key, sizeof key, "%zu", i);
			if (json_object_set_new(o, key, json_string(v[i].name)) != 0)
				st = errinfo_set(e, ST_NOMEM, "out of memory");
		}
		if (!o)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
		if (!st)
			st = col_json_dumpb(o, out, e);
		json_decref(o);
		return st;
	}
	struct buf one;
	buf_init(&one, 0);
	for (size_t i = 0; i < n && !st; i++) {
		buf_reset(&one);
		/* proto3 leaves zero and empty values out, as prost writes */
		if (v[i].name && *v[i].name)
			st = pb_put_string(&one, 1, v[i].name, e);
		if (!st && v[i].size)
			st = pb_put_uint32(&one, 2, v[i].size, e);
		if (!st)
			st = pb_put_len(&one, 3, v[i].sha1, 20, e);
		if (!st)
			st = pb_put_len(out, 1, one.data, one.len, e);
	}
	buf_free(&one);
	return st;
}

enum status pkg_file_sha1(const char *path, uint8_t out[20], struct errinfo *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ST_NOTFOUND
		                       : errinfo_errno(e, ST_IO, "cannot open %s", path);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *chunk = malloc(65536);
	enum status st = ST_OK;
	if (!md || !chunk || !EVP_DigestInit_ex(md, EVP_sha1(), NULL))
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	while (!st) {
		ssize_t r = read(fd, chunk, 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			st = errinfo_errno(e, ST_IO, "cannot read %s", path);
		if (r <= 0)
			break;
		EVP_DigestUpdate(md, chunk, (size_t)r);
	}
	if (!st) {
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned int dl = 0;
		EVP_DigestFinal_ex(md, d, &dl);
		memcpy(out, d, 20);
	}
	EVP_MD_CTX_free(md);
	free(chunk);
	close(fd);
	return st;
}

/* ---- references ---------------------------------------------------------- */

static const char pat_html[] = "(?si)<\\b(?:img|audio|video|object|source)\\b"
                               "(?:[^>]|\"[^\"]+?\"|'[^']+?')+?"
                               "\\b(?:src|data)\\b="
                               "(?:\"([^\"]+?)\"[^>]*>|'([^']+?)'[^>]*>|([^>]+?)(?:\\x20[^>]*>|>))";
static const char pat_av[] = "(?s)\\[sound:(.+?)\\]";
static const char pat_css[] = "(?i)(?:@import\\s+\"(_[^\"]*.css)\"|'(_[^']*.css)')"
                              "|(?:url\\(\\s*\"(_[^\"]+)\"|'(_[^']+)'|(_.+?)\\s*\\))";
static const char pat_tmpl[] = "\\[sound:(_[^]]+)\\]|\"(_[^\"]+)\"|'(_[^']+)'"
                               "|\\b(?:src|data)=(_[^>]+)";

enum { PAT_HTML, PAT_AV, PAT_CSS, PAT_TMPL, PAT_N };

struct pkg_refs {
	pcre2_code *code[PAT_N];
	pcre2_match_data *md;
	pcre2_match_context *mc;
	struct buf tmp, tmp2;
};

void pkg_refs_free(struct pkg_refs *r)
{
	if (!r)
		return;
	for (int i = 0; i < PAT_N; i++)
		pcre2_code_free(r->code[i]);
	pcre2_match_data_free(r->md);
	pcre2_match_context_free(r->mc);
	buf_free(&r->tmp);
	buf_free(&r->tmp2);
	free(r);
}

enum status pkg_refs_new(struct pkg_refs **out, struct errinfo *e)
{
	*out = NULL;
	struct pkg_refs *r = calloc(1, sizeof *r);
	if (!r)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	static const char *const pats[PAT_N] = {pat_html, pat_av, pat_css, pat_tmpl};
	for (int i = 0; i < PAT_N; i++) {
		int err;
		PCRE2_SIZE off;
		r->code[i] = pcre2_compile((PCRE2_SPTR)pats[i], PCRE2_ZERO_TERMINATED,
		                           PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err,
		                           &off, NULL);
		if (!r->code[i]) {
			pkg_refs_free(r);
			return errinfo_set(e, ST_INTERNAL,
			                   "media reference pattern %d: error %d at %zu", i, err,
			                   (size_t)off);
		}
		/* JIT is a speed-up only; the interpreter gives the same matches */
		(void)pcre2_jit_compile(r->code[i], PCRE2_JIT_COMPLETE);
	}
	r->md = pcre2_match_data_create(8, NULL);
	r->mc = pcre2_match_context_create(NULL);
	if (!r->md || !r->mc) {
		pkg_refs_free(r);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	pcre2_set_match_limit(r->mc, REFS_MATCH_LIMIT);
	pcre2_set_depth_limit(r->mc, REFS_DEPTH_LIMIT);
	buf_init(&r->tmp, 0);
	buf_init(&r->tmp2, 0);
	*out = r;
	return ST_OK;
}

/* Next match of pattern p in s[0..n) at or after *pos: ST_OK with *found;
 * ov receives the offsets; the first participating group 1..ngroups goes
 * to (*gs, *ge). */
static enum status next_match(struct pkg_refs *r, int p, const char *s, size_t n, size_t pos,
                              bool *found, size_t *ms, size_t *me, size_t *gs, size_t *ge,
                              struct errinfo *e)
{
	*found = false;
	if (pos > n)
		return ST_OK;
	int rc = pcre2_match(r->code[p], (PCRE2_SPTR)s, n, pos, 0, r->md, r->mc);
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter keeps its stack on the heap */
		rc = pcre2_match(r->code[p], (PCRE2_SPTR)s, n, pos, PCRE2_NO_JIT, r->md, r->mc);
	if (rc == PCRE2_ERROR_NOMATCH)
		return ST_OK;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT)
		return errinfo_set(e, ST_TOOBIG,
		                   "a field is too complex to search for media references");
	if (rc < 0)
		return errinfo_set(e, ST_INTERNAL, "media reference search failed (%d)", rc);
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
	*ms = ov[0];
	*me = ov[1];
	*gs = *ge = 0;
	for (int g = 1; g < rc; g++) {
		if (ov[2 * g] != PCRE2_UNSET) {
			*gs = ov[2 * g];
			*ge = ov[2 * g + 1];
			*found = true;
			return ST_OK;
		}
	}
	/* a match without a group cannot happen with these patterns; skip it */
	*gs = *ge = *me;
	*found = true;
	return ST_OK;
}

/* decode_entities of Anki: *owned when the text changed form (decoded). */
static enum status decode_name(const char *s, size_t n, struct buf *out, bool *owned,
                               struct errinfo *e)
{
	*owned = false;
	if (!memchr(s, '&', n)) {
		buf_reset(out);
		enum status st = buf_append(out, s, n, e);
		return st ? st : buf_append(out, "", 0, e);
	}
	return text_decode_entities(s, n, out, owned, e);
}

enum status pkg_refs_each(struct pkg_refs *r, const char *text, size_t len, pkg_ref_fn fn,
                          void *ctx, struct errinfo *e)
{
	static const int pats[] = {PAT_HTML, PAT_AV};
	for (size_t k = 0; k < 2; k++) {
		size_t pos = 0;
		for (;;) {
			bool found;
			size_t ms, me, gs, ge;
			enum status st =
			    next_match(r, pats[k], text, len, pos, &found, &ms, &me, &gs, &ge, e);
			if (st)
				return st;
			if (!found)
				break;
			pos = me > ms ? me : ms + 1;
			if (ge <= gs)
				continue;
			bool owned;
			if ((st = decode_name(text + gs, ge - gs, &r->tmp, &owned, e)))
				return st;
			if ((st = fn(ctx, (const char *)r->tmp.data, r->tmp.len, e)))
				return st;
		}
	}
	return ST_OK;
}

/* One replace_all pass of pattern p over in[0..n) into out. */
static enum status replace_pass(struct pkg_refs *r, int p, const char *in, size_t n, pkg_rep_fn fn,
                                void *ctx, struct buf *out, bool *changed, struct errinfo *e)
{
	buf_reset(out);
	size_t pos = 0, copied = 0;
	enum status st = ST_OK;
	struct buf dec, enc;
	buf_init(&dec, 0);
	buf_init(&enc, 0);
	while (!st) {
		bool found;
		size_t ms, me, gs, ge;
		st = next_match(r, p, in, n, pos, &found, &ms, &me, &gs, &ge, e);
		if (st || !found)
			break;
		pos = me > ms ? me : ms + 1;
		if (ge <= gs)
			continue;
		bool owned;
		if ((st = decode_name(in + gs, ge - gs, &dec, &owned, e)))
			break;
		char *repl = NULL;
		if ((st = fn(ctx, (const char *)dec.data, dec.len, &repl, e)) || !repl)
			continue;
		const char *nw = repl;
		size_t nl = strlen(repl);
		if (owned) { /* the reference was entity-encoded: encode the new name */
			buf_reset(&enc);
			st = render_html_encode_minimal(repl, nl, &enc, e);
			nw = (const char *)enc.data;
			nl = enc.len;
		}
		/* the whole match with every occurrence of the old name replaced
		 * (Rust's str::replace on the match, as Anki does) */
		if (!st)
			st = buf_append(out, in + copied, ms - copied, e);
		const char *old = in + gs;
		size_t ol = ge - gs;
		for (size_t i = ms; !st && i < me;) {
			if (i + ol <= me && memcmp(in + i, old, ol) == 0) {
				st = buf_append(out, nw, nl, e);
				i += ol;
			} else {
				st = buf_append(out, in + i, 1, e);
				i++;
			}
		}
		copied = me;
		*changed = true;
		free(repl);
	}
	if (!st)
		st = buf_append(out, in + copied, n - copied, e);
	if (!st)
		st = buf_append(out, "", 0, e);
	buf_free(&dec);
	buf_free(&enc);
	return st;
}

enum status pkg_refs_replace(struct pkg_refs *r, const char *text, size_t len, pkg_rep_fn fn,
                             void *ctx, struct buf *out, bool *changed, struct errinfo *e)
{
	*changed = false;
	buf_init(out, 0);
	enum status st = replace_pass(r, PAT_HTML, text, len, fn, ctx, &r->tmp2, changed, e);
	if (!st) {
		/* the sound pass reads the HTML pass's output */
		struct buf mid = r->tmp2;
		buf_init(&r->tmp2, 0);
		st = replace_pass(r, PAT_AV, (const char *)mid.data, mid.len, fn, ctx, out, changed,
		                  e);
		buf_free(&mid);
	}
	if (st)
		buf_free(out);
	return st;
}

static enum status each_group(struct pkg_refs *r, int p, const char *s, pkg_ref_fn fn, void *ctx,
                              struct errinfo *e)
{
	size_t n = s ? strlen(s) : 0, pos = 0;
	for (;;) {
		bool found;
		size_t ms, me, gs, ge;
		enum status st =
		    next_match(r, p, s ? s : "", n, pos, &found, &ms, &me, &gs, &ge, e);
		if (st || !found)
			return st;
		pos = me > ms ? me : ms + 1;
		if (ge > gs && (st = fn(ctx, s + gs, ge - gs, e)))
			return st;
	}
}

enum status pkg_refs_notetype(struct pkg_refs *r, const struct notetype *nt, pkg_ref_fn fn,
                              void *ctx, struct errinfo *e)
{
	enum status st = each_group(r, PAT_CSS, nt->cfg.css, fn, ctx, e);
	for (size_t i = 0; i < nt->ntemplates && !st; i++) {
		st = each_group(r, PAT_TMPL, nt->templates[i].cfg.q_format, fn, ctx, e);
		if (!st)
			st = each_group(r, PAT_TMPL, nt->templates[i].cfg.a_format, fn, ctx, e);
	}
	return st;
}

/* The LaTeX names are read back from the links render_latex_extract
 * makes: each is <img class=latex alt="..." src="latex-...">. */
enum status pkg_refs_latex(const char *text, size_t len, bool svg, pkg_ref_fn fn, void *ctx,
                           struct errinfo *e)
{
	if (!memchr(text, '[', len))
		return ST_OK;
	struct buf out;
	buf_init(&out, 0);
	size_t count = 0;
	enum status st = render_latex_extract(text, len, svg, &out, &count, e);
	static const char open_tag[] = "<img class=latex alt=\"";
	static const char src[] = "\" src=\"";
	const char *p = out.data ? (const char *)out.data : "";
	size_t n = out.len;
	for (size_t i = 0; !st && count && i < n;) {
		const char *t = render_html_find(p + i, n - i, open_tag, sizeof open_tag - 1);
		if (!t)
			break;
		/* the alt text is attribute-escaped: it holds no '"' */
		const char *q = memchr(t + sizeof open_tag - 1, '"',
		                       n - (size_t)(t - p) - (sizeof open_tag - 1));
		i = (size_t)(t - p) + sizeof open_tag - 1;
		if (!q || (size_t)(p + n - q) < sizeof src - 1 ||
		    memcmp(q, src, sizeof src - 1) != 0)
			continue;
		const char *nm = q + sizeof src - 1;
		const char *end = memchr(nm, '"', (size_t)(p + n - nm));
		if (!end)
			break;
		st = fn(ctx, nm, (size_t)(end - nm), e);
		i = (size_t)(end - p);
	}
	buf_free(&out);
	return st;
}

/* ---- folders ----------------------------------------------------------- */

enum status pkg_media_dir(struct col *c, const char *media_dir, char *out, size_t cap,
                          struct errinfo *e)
{
	if (media_dir) {
		if (snprintf(out, cap, "%s", media_dir) >= (int)cap)
			return errinfo_set(e, ST_TOOBIG, "media folder path too long");
		return ST_OK;
	}
	return ac_media_dir_for(col_path(c), out, cap, e);
}

enum status pkg_tmpdir(char **out, struct errinfo *e)
{
	const char *base = getenv("TMPDIR");
	char *p = NULL;
	if (asprintf(&p, "%s/ankihost-pkg-XXXXXX", base && *base ? base : "/tmp") < 0)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	if (!mkdtemp(p)) {
		enum status st = errinfo_errno(e, ST_IO, "cannot create a temporary folder in %s",
		                               base && *base ? base : "/tmp");
		free(p);
		return st;
	}
	*out = p;
	return ST_OK;
}

void pkg_rmtree(const char *dir)
{
	if (!dir)
		return;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			unlinkat(dirfd(d), de->d_name, 0);
		}
		closedir(d);
	}
	rmdir(dir);
}
