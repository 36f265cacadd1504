/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * render_card.c - both sides of a card as desktop Anki renders them
 * (render.h): rslib's render_card (notetype/render.rs, template.rs) in
 * its "partial" mode followed by what pylib/anki/template.py does with
 * the result - FrontSide filled with the question after its sound tags
 * became play markers, extract_av_tags on each side, the LaTeX hook, and
 * "<style>css</style>" in front (TemplateRenderOutput.question_and_style).
 *
 * Order of events, as in Anki: the question template is rendered (an
 * error there is the front-side message on both sides); then the blank
 * check (cloze: no cloze with this number in any value of the field map;
 * normal: the front would not render with the non-empty names), which
 * skips the answer template entirely; else the answer template (an error
 * there is the back-side message on both sides).  Errors leave the CSS
 * out of the <style> element, as Python's error path does.
 *
 * Card generation helpers build cardgen.h objects from col_model.h
 * notetypes; the rules themselves live in cardgen.c.
 */
#include "render.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_store.h"
#include "render_av.h"
#include "render_html.h"
#include "render_latex.h"
#include "tags.h"
#include "text.h"

#define MORE_INFO "More information"
#define LINK_SYNTAX "https://docs.ankiweb.net/templates/errors.html#template-syntax-error"
#define LINK_BLANK "https://docs.ankiweb.net/templates/errors.html#front-of-card-is-blank"
#define LINK_CLOZE                                                                                 \
	"https://docs.ankiweb.net/templates/errors.html#no-cloze-filter-on-cloze-note-type"

void render_out_free(struct render_out *o)
{
	if (!o)
		return;
	free(o->question);
	free(o->answer);
	free(o->question_html);
	free(o->answer_html);
	free(o->css);
	free(o->notetype_name);
	free(o->template_name);
	free(o->deck_name);
	for (size_t i = 0; i < o->nfields; i++) {
		free(o->field_names ? o->field_names[i] : NULL);
		free(o->field_values ? o->field_values[i] : NULL);
	}
	free(o->field_names);
	free(o->field_values);
	memset(o, 0, sizeof *o);
}

static const char *bd(const struct buf *b)
{
	return b->data ? (const char *)b->data : "";
}

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

/* Anki's HTML for a template problem on one side. */
static enum status error_html(bool front, const struct buf *detail, struct buf *out,
                              struct errinfo *e)
{
	buf_reset(out);
	enum status st = buf_append_str(
	    out, front ? "Front template has a problem:<br>" : "Back template has a problem:<br>",
	    e);
	if (st == ST_OK)
		st = render_html_encode_minimal(bd(detail), detail->len, out, e);
	if (st == ST_OK)
		st = buf_append_str(out, "<br><a href='" LINK_SYNTAX "'>" MORE_INFO "</a>", e);
	return st;
}

/* Does the question count as blank (render.rs render_card)? */
static enum status front_blank(const struct render_qa_in *in, bool *blank, struct errinfo *e)
{
	const struct render_fields *f = in->fields;
	size_t n = render_fields_count(f);
	enum status st = ST_OK;
	*blank = false;
	if (in->is_cloze) {
		struct text_slice *vals = calloc(n ? n : 1, sizeof *vals);
		if (!vals)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			const char *nm;
			size_t nl;
			render_fields_at(f, i, &nm, &nl, &vals[i].p, &vals[i].len);
		}
		uint16_t *nums = NULL;
		size_t nn = 0;
		st = cardgen_cloze_numbers(vals, n, &nums, &nn, e);
		free(vals);
		if (st != ST_OK)
			return st;
		*blank = true;
		for (size_t i = 0; i < nn; i++)
			if ((uint32_t)nums[i] == in->card_ord + 1)
				*blank = false;
		free(nums);
		return ST_OK;
	}
	const char *q = in->qfmt ? in->qfmt : "";
	struct cardgen_template *t = NULL;
	st = cardgen_template_parse(q, strlen(q), &t, e);
	if (st != ST_OK)
		return st == ST_INVALID ? ST_OK : st; /* cannot happen: it just rendered */
	/* cardgen compares NUL-terminated names; the map's names are stored
	 * NUL-terminated, and a name with a NUL inside cannot match a key
	 * that parsed from the template anyway */
	const char **names = calloc(n ? n : 1, sizeof *names);
	if (!names) {
		cardgen_template_free(t);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	size_t nn = 0;
	for (size_t i = 0; i < n; i++) {
		const char *nm, *v;
		size_t nl, vl;
		render_fields_at(f, i, &nm, &nl, &v, &vl);
		if (!text_field_is_empty(v, vl))
			names[nn++] = nm;
	}
	*blank = !cardgen_template_renders(t, names, nn, true);
	free(names);
	cardgen_template_free(t);
	return ST_OK;
}

/* av pass then LaTeX pass, replacing b's content */
static enum status finish_side(struct buf *b, bool question, bool latex_svg, size_t *nav,
                               struct errinfo *e)
{
	struct buf t;
	buf_init(&t, b->cap);
	enum status st = render_av_extract(bd(b), b->len, question, &t, nav, e);
	if (st == ST_OK) {
		buf_reset(b);
		st = render_latex_extract(bd(&t), t.len, latex_svg, b, NULL, e);
	}
	buf_free(&t);
	return st;
}

static enum status valid_utf8_dup(const struct buf *b, char **out, struct errinfo *e)
{
	if (text_utf8_valid(bd(b), b->len)) {
		*out = malloc(b->len + 1);
		if (!*out)
			return errinfo_set(e, ST_NOMEM, "out of memory");
		memcpy(*out, bd(b), b->len);
		(*out)[b->len] = '\0';
		return ST_OK;
	}
	struct buf t;
	buf_init(&t, 0);
	enum status st = text_utf8_lossy(bd(b), b->len, &t, e);
	if (st == ST_OK) {
		*out = strdup(bd(&t));
		if (!*out)
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	buf_free(&t);
	return st;
}

static enum status with_style(const char *css, const char *html, char **out, struct errinfo *e)
{
	size_t cl = strlen(css), hl = strlen(html);
	*out = malloc(cl + hl + 16);
	if (!*out)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	memcpy(*out, "<style>", 7);
	memcpy(*out + 7, css, cl);
	memcpy(*out + 7 + cl, "</style>", 8);
	memcpy(*out + 15 + cl, html, hl + 1);
	return ST_OK;
}

enum status render_qa(const struct render_qa_in *in, struct render_out *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct buf q, a, terr;
	buf_init(&q, RENDER_MAX_OUTPUT);
	buf_init(&a, RENDER_MAX_OUTPUT);
	buf_init(&terr, 0);
	const char *qfmt = in->qfmt ? in->qfmt : "", *afmt = in->afmt ? in->afmt : "";
	const char *css = in->css ? in->css : "";
	struct render_ctx ctx = {.card_ord = in->card_ord, .mode = in->mode};
	enum status st = render_template(qfmt, strlen(qfmt), in->fields, &ctx, &q, &terr, e);
	bool blank = false;
	if (st == ST_INVALID) {
		out->template_error = true;
		if ((st = error_html(true, &terr, &q, e)) == ST_OK)
			st = buf_append(&a, q.data, q.len, e);
		goto wrap;
	}
	if (st == ST_OK)
		st = front_blank(in, &blank, e);
	if (st != ST_OK)
		goto done;
	if (blank) {
		out->is_empty = true;
		if (in->is_cloze)
			st = buf_printf(
			    &a, e,
			    "<div>No cloze %" PRIu32 " found on card.\nPlease either add a "
			    "cloze deletion, or use the Empty Cards tool.<br><a href='" LINK_CLOZE
			    "'>" MORE_INFO "</a></div>",
			    in->card_ord + 1);
		else
			st = buf_append_str(
			    &a,
			    "<div>The front of this card is blank.<br><a href='" LINK_BLANK
			    "'>" MORE_INFO "</a></div>",
			    e);
		if (st == ST_OK)
			st = buf_append(&q, a.data, a.len, e);
		if (st == ST_OK)
			st = finish_side(&q, true, in->latex_svg, &out->nav_question, e);
		if (st == ST_OK)
			st = finish_side(&a, false, in->latex_svg, &out->nav_answer, e);
		goto wrap;
	}
	/* the answer's FrontSide is the question after its sound tags became
	 * play markers, but before LaTeX (Anki runs that hook last) */
	struct buf qav;
	buf_init(&qav, RENDER_MAX_OUTPUT);
	st = render_av_extract(bd(&q), q.len, true, &qav, &out->nav_question, e);
	if (st == ST_OK) {
		ctx.answer = true;
		ctx.frontside = bd(&qav);
		ctx.frontside_len = qav.len;
		st = render_template(afmt, strlen(afmt), in->fields, &ctx, &a, &terr, e);
	}
	if (st == ST_INVALID) {
		buf_free(&qav);
		out->template_error = true;
		out->nav_question = 0;
		if ((st = error_html(false, &terr, &q, e)) == ST_OK) {
			buf_reset(&a);
			st = buf_append(&a, q.data, q.len, e);
		}
		goto wrap;
	}
	if (st == ST_OK) {
		buf_reset(&q);
		st = render_latex_extract(bd(&qav), qav.len, in->latex_svg, &q, NULL, e);
	}
	buf_free(&qav);
	if (st == ST_OK)
		st = finish_side(&a, false, in->latex_svg, &out->nav_answer, e);
wrap:
	if (st == ST_OK)
		st = valid_utf8_dup(&q, &out->question_html, e);
	if (st == ST_OK)
		st = valid_utf8_dup(&a, &out->answer_html, e);
	if (st == ST_OK) {
		struct buf cb;
		buf_init(&cb, 0);
		if ((st = buf_append_str(&cb, out->template_error ? "" : css, e)) == ST_OK)
			st = valid_utf8_dup(&cb, &out->css, e);
		buf_free(&cb);
	}
	if (st == ST_OK)
		st = with_style(out->css, out->question_html, &out->question, e);
	if (st == ST_OK)
		st = with_style(out->css, out->answer_html, &out->answer, e);
	if (st == ST_OK && out->template_error) {
		/* cardsInfo's css member is the notetype's CSS in every case */
		free(out->css);
		if (!(out->css = xstrdup(css)))
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
done:
	buf_free(&q);
	buf_free(&a);
	buf_free(&terr);
	if (st != ST_OK)
		render_out_free(out);
	return st;
}

/* ---- field map of a card ---- */

static enum status put_str(struct render_fields *f, const char *name, const char *val, size_t vlen,
                           struct errinfo *e)
{
	return render_fields_put(f, name, strlen(name), val, vlen, false, e);
}

enum status render_card_fields(const struct notetype *nt, const struct note *n,
                               const struct card *cd, const char *template_name,
                               const char *deck_name, struct render_fields **out, struct errinfo *e)
{
	*out = NULL;
	struct render_fields *f;
	enum status st = render_fields_new(&f, e);
	if (st != ST_OK)
		return st;
	struct text_slice *flds = NULL;
	size_t nflds = 0;
	const char *raw = col_str(n->flds);
	st = text_fields_split(raw, strlen(raw), 0, &flds, &nflds, e);
	for (size_t i = 0; i < nflds && st == ST_OK; i++) {
		const char *name = i < nt->nfields ? col_str(nt->fields[i].name) : "";
		st = render_fields_put(f, name, strlen(name), flds[i].p, flds[i].len, true, e);
	}
	free(flds);

	/* Tags: split on U+0020 / U+3000, empty pieces dropped, one space */
	struct buf tags;
	buf_init(&tags, 0);
	const char *t = col_str(n->tags);
	size_t tl = strlen(t), i = 0;
	while (i < tl && st == ST_OK) {
		size_t adv, j = i;
		if (tags_is_separator(t + i, tl - i, &adv)) {
			i += adv;
			continue;
		}
		while (j < tl && !tags_is_separator(t + j, tl - j, &adv))
			j++;
		if (tags.len)
			st = buf_append_str(&tags, " ", e);
		if (st == ST_OK)
			st = buf_append(&tags, t + i, j - i, e);
		i = j;
	}
	if (st == ST_OK)
		st = put_str(f, "Tags", bd(&tags), tags.len, e);
	buf_free(&tags);

	const char *nt_name = col_str(nt->name);
	const char *deck = deck_name ? deck_name : "(Deck)";
	const char *sub = deck;
	for (const char *p = deck; (p = strstr(p, "::")) != NULL; p += 2)
		sub = p + 2;
	char flag[32], cid[32], cnum[32];
	snprintf(flag, sizeof flag, "flag%" PRId64, cd->flags);
	snprintf(cid, sizeof cid, "%" PRId64, cd->id);
	snprintf(cnum, sizeof cnum, "c%" PRId64, (int64_t)cd->ord + 1);
	const char *tn = col_str(template_name);
	if (st == ST_OK)
		st = put_str(f, "Type", nt_name, strlen(nt_name), e);
	if (st == ST_OK)
		st = put_str(f, "Subdeck", sub, strlen(sub), e);
	if (st == ST_OK)
		st = put_str(f, "Deck", deck, strlen(deck), e);
	if (st == ST_OK)
		st = put_str(f, "CardFlag", flag, strlen(flag), e);
	if (st == ST_OK)
		st = put_str(f, "Card", tn, strlen(tn), e);
	if (st == ST_OK)
		st = put_str(f, "CardID", cid, strlen(cid), e);
	if (st == ST_OK)
		st = put_str(f, cnum, "1", 1, e);
	if (st != ST_OK) {
		render_fields_free(f);
		return st;
	}
	*out = f;
	return ST_OK;
}

/* ---- cards ---- */

static const struct nt_template *card_template(const struct notetype *nt, int32_t ord)
{
	if (nt->cfg.kind == NOTETYPE_KIND_CLOZE)
		return nt->ntemplates ? &nt->templates[0] : NULL;
	return ord >= 0 && (size_t)ord < nt->ntemplates ? &nt->templates[ord] : NULL;
}

static enum status fill_fields(const struct notetype *nt, const struct note *n,
                               struct render_out *out, struct errinfo *e)
{
	struct text_slice *flds = NULL;
	size_t nflds = 0;
	const char *raw = col_str(n->flds);
	enum status st = text_fields_split(raw, strlen(raw), 0, &flds, &nflds, e);
	if (st != ST_OK)
		return st;
	out->field_names = calloc(nt->nfields ? nt->nfields : 1, sizeof *out->field_names);
	out->field_values = calloc(nt->nfields ? nt->nfields : 1, sizeof *out->field_values);
	if (!out->field_names || !out->field_values) {
		free(flds);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	out->nfields = nt->nfields;
	for (size_t i = 0; i < nt->nfields && st == ST_OK; i++) {
		struct buf v;
		buf_init(&v, 0);
		st = buf_append(&v, i < nflds ? flds[i].p : "", i < nflds ? flds[i].len : 0, e);
		if (st == ST_OK)
			st = valid_utf8_dup(&v, &out->field_values[i], e);
		buf_free(&v);
		if (st == ST_OK && !(out->field_names[i] = xstrdup(nt->fields[i].name)))
			st = errinfo_set(e, ST_NOMEM, "out of memory");
	}
	free(flds);
	return st;
}

enum status render_note_card(const struct notetype *nt, const struct note *n, const struct card *cd,
                             const char *deck_name, struct render_out *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	const struct nt_template *tp = card_template(nt, cd->ord);
	if (!tp)
		return errinfo_set(e, ST_CORRUPT,
		                   "notetype %" PRId64 " has no template for card ord %d", nt->id,
		                   (int)cd->ord);
	struct render_fields *f = NULL;
	enum status st = render_card_fields(nt, n, cd, tp->name, deck_name, &f, e);
	if (st != ST_OK)
		return st;
	struct render_qa_in in = {
	    .qfmt = col_str(tp->cfg.q_format),
	    .afmt = col_str(tp->cfg.a_format),
	    .fields = f,
	    .card_ord = cd->ord < 0 ? 0 : (uint32_t)cd->ord,
	    .is_cloze = nt->cfg.kind == NOTETYPE_KIND_CLOZE,
	    .css = col_str(nt->cfg.css),
	    .latex_svg = nt->cfg.latex_svg,
	    .mode = RENDER_FILTERS_DESKTOP,
	};
	/* Anki's card ord is a u16 */
	in.card_ord &= 0xFFFF;
	st = render_qa(&in, out, e);
	render_fields_free(f);
	if (st != ST_OK)
		return st;
	out->card_id = cd->id;
	out->note_id = n->id;
	out->notetype_id = nt->id;
	out->ord = cd->ord < 0 ? 0 : (uint32_t)cd->ord;
	if (!(out->notetype_name = xstrdup(nt->name)) ||
	    !(out->template_name = xstrdup(tp->name)) ||
	    (deck_name && !(out->deck_name = xstrdup(deck_name))))
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	if (st == ST_OK)
		st = fill_fields(nt, n, out, e);
	if (st != ST_OK)
		render_out_free(out);
	return st;
}

/* Human name of deck id, or NULL (missing deck) in *out. */
static enum status deck_human(struct col *c, int64_t id, char **out, struct errinfo *e)
{
	*out = NULL;
	struct deck d;
	enum status st = col_load_deck(c, id, &d, e);
	if (st == ST_NOTFOUND)
		return ST_OK;
	if (st != ST_OK)
		return st;
	*out = deck_name_human_from_native(d.name);
	deck_free(&d);
	return *out ? ST_OK : errinfo_set(e, ST_NOMEM, "out of memory");
}

enum status render_card(struct col *c, int64_t card_id, struct render_out *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	struct card cd = {0};
	struct note n = {0};
	struct notetype nt = {0};
	char *deck = NULL, *home = NULL;
	enum status st = col_card_get(c, card_id, &cd, e);
	if (st == ST_OK)
		st = col_note_get(c, cd.nid, &n, e);
	if (st == ST_OK)
		st = col_load_notetype(c, n.mid, &nt, e);
	/* {{Deck}} is the home deck of a card in a filtered deck */
	if (st == ST_OK)
		st = deck_human(c, cd.odid ? cd.odid : cd.did, &deck, e);
	if (st == ST_OK && cd.odid)
		st = deck_human(c, cd.did, &home, e);
	if (st == ST_OK)
		st = render_note_card(&nt, &n, &cd, deck, out, e);
	if (st == ST_OK && cd.odid) {
		/* deck_name reports the deck the card is in now */
		free(out->deck_name);
		out->deck_name = home;
		home = NULL;
	}
	free(deck);
	free(home);
	card_free(&cd);
	note_free(&n);
	notetype_free(&nt);
	return st;
}

/* ---- card generation ---- */

enum status render_card_gen_notetype(const struct notetype *nt, struct cardgen_notetype **out,
                                     struct errinfo *e)
{
	const char **names = calloc(nt->nfields ? nt->nfields : 1, sizeof *names);
	struct text_slice *q = calloc(nt->ntemplates ? nt->ntemplates : 1, sizeof *q);
	enum status st;
	if (!names || !q) {
		st = errinfo_set(e, ST_NOMEM, "out of memory");
	} else {
		for (size_t i = 0; i < nt->nfields; i++)
			names[i] = col_str(nt->fields[i].name);
		for (size_t i = 0; i < nt->ntemplates; i++) {
			q[i].p = col_str(nt->templates[i].cfg.q_format);
			q[i].len = strlen(q[i].p);
		}
		st = cardgen_notetype_new(names, nt->nfields, q, nt->ntemplates,
		                          nt->cfg.kind == NOTETYPE_KIND_CLOZE, out, e);
	}
	free(names);
	free(q);
	return st;
}

enum status render_card_gen_ords(const struct notetype *nt, const char *flds, size_t len,
                                 const char *tags, struct cardgen_ords *out, struct errinfo *e)
{
	out->v = NULL;
	out->n = 0;
	out->fallback_ord0 = false;
	struct cardgen_notetype *cg = NULL;
	enum status st = render_card_gen_notetype(nt, &cg, e);
	if (st != ST_OK)
		return st;
	struct text_slice *f = NULL;
	size_t nf = 0;
	st = text_fields_split(flds ? flds : "", flds ? len : 0, 0, &f, &nf, e);
	bool has_tags = false;
	for (const char *t = tags ? tags : ""; *t && !has_tags;) {
		size_t adv;
		if (tags_is_separator(t, strlen(t), &adv))
			t += adv;
		else
			has_tags = true;
	}
	if (st == ST_OK)
		st = cardgen_cards(cg, f, nf, has_tags, out, e);
	free(f);
	cardgen_notetype_free(cg);
	return st;
}
