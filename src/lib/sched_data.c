/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_data.c - cards.data read and write (see sched_data.h; spec
 * collection-format.md §6.3).  Anki drops keys it does not know when it
 * rewrites a card, and so do we: the writer emits only the seven fields.
 */
#include "sched_data.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

void sched_data_free(struct sched_data *d)
{
	free(d->cd);
	memset(d, 0, sizeof *d);
}

static bool get_f32(json_t *v, float *out)
{
	if (json_is_integer(v))
		*out = (float)json_integer_value(v);
	else if (json_is_real(v))
		*out = (float)json_real_value(v);
	else
		return false;
	return true;
}

/* Field k (0 pos .. 6 cd) from v; false when the whole record is invalid. */
static bool take(struct sched_data *d, int k, json_t *v, bool *nomem)
{
	switch (k) {
	case 0:
		d->has_pos = json_is_integer(v) && json_integer_value(v) >= 0 &&
		             json_integer_value(v) <= UINT32_MAX;
		if (d->has_pos)
			d->pos = (uint32_t)json_integer_value(v);
		return true;
	case 1:
		d->has_s = get_f32(v, &d->s);
		return true;
	case 2:
		d->has_d = get_f32(v, &d->d);
		return true;
	case 3:
		d->has_dr = get_f32(v, &d->dr);
		return true;
	case 4:
		d->has_decay = get_f32(v, &d->decay);
		return true;
	case 5:
		d->has_lrt = json_is_integer(v);
		if (d->has_lrt)
			d->lrt = json_integer_value(v);
		return true;
	case 6:
		/* "cd" has no lenient reader in Anki: a non-string voids it all */
		if (!json_is_string(v))
			return false;
		free(d->cd);
		d->cd = strdup(json_string_value(v));
		if (!d->cd)
			*nomem = true;
		return true;
	}
	return false;
}

enum status sched_data_parse(const char *text, struct sched_data *out, struct errinfo *e)
{
	memset(out, 0, sizeof *out);
	if (!text || !*text)
		return ST_OK;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (!j)
		return ST_OK;
	static const char *const keys[] = {"pos", "s", "d", "dr", "decay", "lrt", "cd"};
	bool ok = true, nomem = false;
	if (json_is_object(j)) {
		for (int k = 0; k < 7 && ok; k++) {
			json_t *v = json_object_get(j, keys[k]);
			if (v)
				ok = take(out, k, v, &nomem);
		}
	} else if (json_is_array(j) && json_array_size(j) <= 7) {
		for (size_t k = 0; k < json_array_size(j) && ok; k++)
			ok = take(out, (int)k, json_array_get(j, k), &nomem);
	} else {
		ok = false;
	}
	json_decref(j);
	if (nomem) {
		sched_data_free(out);
		return errinfo_set(e, ST_NOMEM, "out of memory");
	}
	if (!ok)
		sched_data_free(out);
	return ST_OK;
}

float sched_round_places(float v, int places)
{
	float factor = 1.0f;
	for (int i = 0; i < places; i++)
		factor *= 10.0f;
	return roundf(v * factor) / factor;
}

void sched_fmt_f32(float v, char out[32])
{
	if (!isfinite(v)) {
		/* serde_json writes non-finite floats as null */
		snprintf(out, 32, "null");
		return;
	}
	if (v == 0.0f) {
		snprintf(out, 32, "%s", signbit(v) ? "-0.0" : "0.0");
		return;
	}
	/* shortest digit string that reads back to the same float */
	char tmp[40];
	int p;
	for (p = 1; p <= 9; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, (double)v);
		if (strtof(tmp, NULL) == v)
			break;
	}
	const char *s = tmp;
	size_t o = 0;
	if (*s == '-')
		out[o++] = *s++;
	char digits[16] = {0};
	int n = 0;
	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && n < 15)
			digits[n++] = *s;
	int exp10 = *s ? (int)strtol(s + 1, NULL, 10) : 0;
	if (n == 0)
		digits[n++] = '0';
	int kk = exp10 + 1; /* 10^(kk-1) <= |v| < 10^kk */
	int k = kk - n;     /* |v| = digits * 10^k */
	if (k >= 0 && kk <= 13) {
		memcpy(out + o, digits, (size_t)n);
		o += (size_t)n;
		for (int i = n; i < kk; i++)
			out[o++] = '0';
		out[o++] = '.';
		out[o++] = '0';
	} else if (kk > 0 && kk <= 13) {
		memcpy(out + o, digits, (size_t)kk);
		o += (size_t)kk;
		out[o++] = '.';
		memcpy(out + o, digits + kk, (size_t)(n - kk));
		o += (size_t)(n - kk);
	} else if (kk > -6 && kk <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -kk; i++)
			out[o++] = '0';
		memcpy(out + o, digits, (size_t)n);
		o += (size_t)n;
	} else {
		out[o++] = digits[0];
		if (n > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, (size_t)(n - 1));
			o += (size_t)(n - 1);
		}
		o += (size_t)snprintf(out + o, 32 - o, "e%d", kk - 1);
	}
	out[o] = '\0';
}

enum status sched_data_format(const struct sched_data *d, struct buf *out, struct errinfo *e)
{
	enum status st = buf_append(out, "{", 1, e);
	bool first = true;
	char num[32];
#define SEP() (first ? (first = false, ST_OK) : buf_append(out, ",", 1, e))
	if (!st && d->has_pos) {
		st = SEP();
		if (!st)
			st = buf_printf(out, e, "\"pos\":%u", d->pos);
	}
	struct {
		bool has;
		const char *key;
		float v;
		int places;
	} f[] = {{d->has_s, "s", d->s, 4},
	         {d->has_d, "d", d->d, 3},
	         {d->has_dr, "dr", d->dr, 2},
	         {d->has_decay, "decay", d->decay, 3}};
	for (size_t i = 0; !st && i < 4; i++) {
		if (!f[i].has)
			continue;
		sched_fmt_f32(sched_round_places(f[i].v, f[i].places), num);
		st = SEP();
		if (!st)
			st = buf_printf(out, e, "\"%s\":%s", f[i].key, num);
	}
	if (!st && d->has_lrt) {
		st = SEP();
		if (!st)
			st = buf_printf(out, e, "\"lrt\":%lld", (long long)d->lrt);
	}
	if (!st && d->cd && *d->cd && strcmp(d->cd, "{}") != 0) {
		st = SEP();
		if (!st)
			st = buf_append_str(out, "\"cd\":", e);
		if (!st)
			st = text_json_string(out, d->cd, strlen(d->cd), e);
	}
#undef SEP
	return st ? st : buf_append(out, "}", 1, e);
}
