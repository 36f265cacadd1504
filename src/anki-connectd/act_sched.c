/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * act_sched.c - answerCards and setDueDate (ankiconnect.md §3.1) over the
 * library's scheduler (sched_answer.h, sched_setdue.h; docs/scheduler.md).
 *
 * The scheduling itself is the library's; this file reproduces what the
 * AnkiConnect 25.x Python code around Anki's backend lets a client see:
 *
 * answerCards(answers) walks the list in order and, per element, reads
 * answer['cardId'] then answer['ease'] (Python's KeyError / TypeError
 * texts), loads the card (Collection.get_card: a falsy id gives a blank
 * card with id 0, an id that is not an int fails protobuf's conversion),
 * then Scheduler.answerCard checks the ease (== 1..4 with Python equality,
 * so 3.0 and true count) before Anki builds the scheduling states.  A
 * NotFoundError anywhere (missing card, the card's deck or home deck
 * missing, card id 0) makes that element false; any other error stops the
 * call and the answers before it stay (each was its own transaction in
 * Anki, here a savepoint inside the call's transaction, committed with
 * keep_partial).  The checks are made here first, in the same order, so
 * the library gets only answers Anki would apply; the review time is 0 ms
 * (AnkiConnect starts the card timer just before answering).
 *
 * setDueDate(cards, days) builds Anki's SetDueDateRequest (protobuf:
 * card ids must be integers, days a string, None leaves a field empty)
 * and Anki parses days with the regex ^\d+(?:-\d+)?!?$ (\d is Unicode's Nd)
 * and u32::parse: a mismatch fails with the text itself as the message, a
 * matched number that is not ASCII or exceeds u32 with Anki's "number was
 * invalid" string.  Missing cards are skipped; any failure rolls the
 * whole call back (one transaction in Anki).  Result true.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "actions.h"
#include "sched_answer.h"
#include "sched_setdue.h"

/* ---- shared: Python/protobuf views of JSON values ---- */

/* Python equality with 1..4 (ease == BUTTON_ONE ...): ints, integral
 * floats and True (== 1). */
static int ease_value(const json_t *v)
{
	int64_t x;
	if (json_is_integer(v))
		x = json_integer_value(v);
	else if (json_is_true(v))
		x = 1;
	else if (json_is_real(v) && json_real_value(v) >= 1.0 && json_real_value(v) <= 4.0 &&
	         (double)(int)json_real_value(v) == json_real_value(v))
		x = (int64_t)json_real_value(v);
	else
		return 0;
	return x >= 1 && x <= 4 ? (int)x : 0;
}

/* A protobuf int64 field from a Python value (operator.index): ints and
 * bools; anything else fails with Python's words. */
static bool pb_int64(struct ac_call *k, const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return true;
	}
	ac_fail(k, "'%s' object cannot be interpreted as an integer",
	        ac_pytype(v ? v : json_null()));
	return false;
}

/* ---- answerCards ---- */

/* What Anki would find for a card id: nothing, the card without its deck
 * (or home deck), or a card it can schedule. */
enum card_look { LOOK_MISSING, LOOK_NO_DECK, LOOK_OK };

static enum status look_card(sqlite3 *db, sqlite3_stmt *q, int64_t cid, enum card_look *out,
                             struct errinfo *e)
{
	sqlite3_reset(q);
	sqlite3_bind_int64(q, 1, cid);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		*out = LOOK_MISSING;
		return ST_OK;
	}
	if (rc != SQLITE_ROW)
		return col_sqlite_err(db, rc, e, "looking up a card");
	*out = sqlite3_column_int(q, 0) ? LOOK_OK : LOOK_NO_DECK;
	return ST_OK;
}

/* The element at i of what Python's "for answer in answers" iterates:
 * list items, dict keys, characters of a string (the latter two are str,
 * which is all the later checks look at).  Sets *len on i == 0. */
static bool answers_iterable(struct ac_call *k, const json_t *v, size_t *len)
{
	if (!v)
		v = json_null();
	if (json_is_array(v))
		*len = json_array_size(v);
	else if (json_is_object(v))
		*len = json_object_size(v);
	else if (json_is_string(v))
		*len = json_string_length(v);
	else {
		ac_fail(k, "'%s' object is not iterable", ac_pytype(v));
		return false;
	}
	return true;
}

/* answer['cardId'] / answer['ease'] on a non-dict element. */
static void fail_subscript(struct ac_call *k, const json_t *elem)
{
	if (!elem || json_is_string(elem))
		ac_fail(k, "string indices must be integers, not 'str'");
	else if (json_is_array(elem))
		ac_fail(k, "list indices must be integers or slices, not str");
	else
		ac_fail(k, "'%s' object is not subscriptable", ac_pytype(elem));
}

enum status act_answer_cards(struct ac_call *k)
{
	const json_t *answers = json_object_get(k->params, "answers");
	size_t n = 0;
	if (!answers_iterable(k, answers, &n))
		return ST_INVALID;
	/* per element: its result; batch: the answers the library applies */
	bool *result = calloc(n + 1, sizeof *result);
	bool *applied = calloc(n + 1, sizeof *applied);
	size_t *where = calloc(n + 1, sizeof *where);
	struct sched_answer *batch = calloc(n + 1, sizeof *batch);
	sqlite3_stmt *q = NULL;
	sqlite3 *db = col_db(k->c);
	struct errinfo e;
	errinfo_clear(&e);
	enum status st = ST_OK;
	if (!result || !applied || !where || !batch) {
		st = ac_fail(k, "out of memory");
		goto out;
	}
	int rc = sqlite3_prepare_v2(db,
	                            "select exists(select 1 from decks where id = c.did) and "
	                            "(c.odid = 0 or exists(select 1 from decks where id = c.odid)) "
	                            "from cards c where c.id = ?1",
	                            -1, &q, NULL);
	if (rc != SQLITE_OK) {
		col_sqlite_err(db, rc, &e, "looking up cards");
		st = ac_fail_err(k, &e);
		goto out;
	}

	/* Anki's checks, in order, up to the first that raises */
	size_t nb = 0, i;
	bool stop = false;
	for (i = 0; i < n && !stop; i++) {
		const json_t *a = json_is_array(answers) ? json_array_get(answers, i) : NULL;
		if (!json_is_object(a)) {
			fail_subscript(k, a);
			stop = true;
			break;
		}
		const json_t *cid_j = json_object_get(a, "cardId");
		const json_t *ease_j = json_object_get(a, "ease");
		if (!cid_j || !ease_j) {
			ac_fail_key(k, cid_j ? "ease" : "cardId");
			stop = true;
			break;
		}
		int ease = ease_value(ease_j);
		if (!ac_truthy(cid_j)) {
			/* a blank card (id 0): the ease is checked, then not found */
			if (!ease) {
				ac_fail(k, "invalid ease");
				stop = true;
			}
			continue;
		}
		int64_t cid;
		if (!pb_int64(k, cid_j, &cid)) {
			stop = true;
			break;
		}
		enum card_look look = LOOK_MISSING;
		if (look_card(db, q, cid, &look, &e)) {
			ac_fail_err(k, &e);
			stop = true;
			break;
		}
		if (look == LOOK_MISSING)
			continue;
		if (!ease) {
			ac_fail(k, "invalid ease");
			stop = true;
			break;
		}
		if (look == LOOK_NO_DECK)
			continue;
		batch[nb] = (struct sched_answer){cid, ease, 0};
		where[nb++] = i;
	}
	sqlite3_finalize(q);
	q = NULL;
	/* what was answered before a failure stays, as in AnkiConnect */
	k->keep_partial = true;
	if (nb) {
		size_t done = 0;
		enum status s = sched_answer_cards(k->c, batch, nb, NULL, applied, &done, &e);
		for (size_t j = 0; j < done; j++)
			result[where[j]] = applied[j];
		if (s) {
			/* the library's failure comes first: it is at or before
			 * the element that stopped the walk */
			st = ac_fail_err(k, &e);
			goto out;
		}
	}
	if (stop) {
		st = ST_INVALID; /* k->err holds the message */
		goto out;
	}
	json_t *arr = json_array();
	for (size_t j = 0; arr && j < n; j++)
		if (json_array_append_new(arr, json_boolean(result[j])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	st = ac_ok(k, arr);
out:
	sqlite3_finalize(q);
	free(result);
	free(applied);
	free(where);
	free(batch);
	return st;
}

/* ---- setDueDate ---- */

/* The card_ids field: Python iterates the value (None = not set). */
static bool due_card_ids(struct ac_call *k, const json_t *v, int64_t **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return true;
	size_t len;
	if (json_is_array(v))
		len = json_array_size(v);
	else if (json_is_object(v) || json_is_string(v))
		len = json_is_object(v) ? json_object_size(v) : json_string_length(v);
	else {
		ac_fail(k, "'%s' object is not iterable", ac_pytype(v));
		return false;
	}
	if (len && !json_is_array(v)) { /* dict keys / characters: str */
		ac_fail(k, "'str' object cannot be interpreted as an integer");
		return false;
	}
	int64_t *out = malloc((len ? len : 1) * sizeof *out);
	if (!out) {
		ac_fail(k, "out of memory");
		return false;
	}
	for (size_t i = 0; i < len; i++)
		if (!pb_int64(k, json_array_get(v, i), &out[i])) {
			free(out);
			return false;
		}
	*ids = out;
	*n = len;
	return true;
}

/* Anki's parse_due_date_str before the library's: its regex matches
 * Unicode digits, which u32::parse then refuses, and u32 overflow is the
 * same ParseNumError.  true when the library may parse s. */
static bool due_days_check(struct ac_call *k, const char *s, size_t len)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t left = (utf8proc_ssize_t)len;
	int part = 0; /* 0 first number, 1 after '-', 2 after '!' */
	size_t digits = 0;
	bool ascii = true, fits = true;
	uint64_t val = 0;
	bool ok = true;
	while (left > 0 && ok) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t m = utf8proc_iterate(p, left, &cp);
		if (m <= 0) { /* not reached: JSON text is valid UTF-8 */
			ok = false;
			break;
		}
		p += m;
		left -= m;
		if (part < 2 && utf8proc_category(cp) == UTF8PROC_CATEGORY_ND) {
			digits++;
			if (cp < '0' || cp > '9')
				ascii = false;
			else if (fits) {
				val = val * 10 + (uint64_t)(cp - '0');
				fits = val <= UINT32_MAX;
			}
		} else if (cp == '-' && part == 0 && digits) {
			part = 1;
			digits = 0;
			val = 0;
		} else if (cp == '!' && part < 2 && digits) {
			part = 2;
		} else {
			ok = false;
		}
	}
	if (!ok || !digits) {
		ac_fail(k, "%s", s);
		return false;
	}
	if (!ascii || !fits) {
		ac_fail(k, "A number was invalid or out of range.");
		return false;
	}
	return true;
}

enum status act_set_due_date(struct ac_call *k)
{
	int64_t *ids;
	size_t n;
	if (!due_card_ids(k, json_object_get(k->params, "cards"), &ids, &n))
		return ST_INVALID;
	const json_t *dj = json_object_get(k->params, "days");
	const char *days = "";
	size_t dlen = 0;
	if (dj && !json_is_null(dj)) {
		if (!json_is_string(dj)) {
			free(ids);
			return ac_fail(k, "bad argument type for built-in operation");
		}
		days = json_string_value(dj);
		dlen = json_string_length(dj);
	}
	if (!due_days_check(k, days, dlen)) {
		free(ids);
		return ST_INVALID;
	}
	struct errinfo e;
	errinfo_clear(&e);
	enum status st = sched_set_due_date(k->c, ids, n, days, NULL, &e);
	free(ids);
	if (st)
		return ac_fail_err(k, &e);
	return ac_ok(k, json_true());
}
