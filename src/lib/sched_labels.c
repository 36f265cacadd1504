/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_labels.c - answer-button labels (see sched_labels.h).  Arithmetic
 * in f32 as Anki's Timespan; the number is rounded to 2 decimals in f32,
 * widened to double and printed with "%.2f" minus trailing zeros, which is
 * what Anki's Fluent number formatter does.
 */
#include "sched_labels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MINUTE 60.0f
#define HOUR (60.0f * MINUTE)
#define DAY (24.0f * HOUR)
#define YEAR (365.0f * DAY)
#define MONTH (YEAR / 12.0f)

void sched_label_span(float secs, unsigned flags, char *out)
{
	float a = fabsf(secs), amount;
	const char *unit;
	if (a < MINUTE) {
		unit = "s";
		amount = roundf(secs);
	} else if (a < HOUR) {
		unit = "m";
		amount = roundf(secs / MINUTE);
	} else if (a < DAY) {
		unit = "h";
		amount = roundf(secs / HOUR * 10.0f) / 10.0f;
	} else if (a < MONTH) {
		unit = "d";
		amount = roundf(secs / DAY);
	} else if (a < YEAR) {
		unit = "mo";
		amount = roundf(secs / MONTH * 10.0f) / 10.0f;
	} else {
		unit = "y";
		amount = roundf(secs / YEAR * 10.0f) / 10.0f;
	}
	/* Fluent argument: rounded to 2 places in f32, then printed */
	amount = roundf(amount * 100.0f) / 100.0f;
	char num[400];
	snprintf(num, sizeof num, "%.2f", (double)amount);
	size_t n = strlen(num);
	while (n > 0 && num[n - 1] == '0')
		n--;
	if (n > 0 && num[n - 1] == '.')
		n--;
	num[n] = '\0';
	/* bounded assembly: isolation marks, number (at most 24 digits for
	 * any u32 span), unit */
	size_t o = 0, lim = SCHED_LABEL_MAX - 1;
	const char *parts[4] = {(flags & SCHED_LABEL_ISOLATE) ? "\xe2\x81\xa8" : "", num,
	                        (flags & SCHED_LABEL_ISOLATE) ? "\xe2\x81\xa9" : "", unit};
	for (int i = 0; i < 4; i++)
		for (const char *q = parts[i]; *q && o + 1 < lim; q++)
			out[o++] = *q;
	out[o] = '\0';
}

void sched_label(uint32_t secs, uint32_t collapse_secs, unsigned flags, char out[SCHED_LABEL_MAX])
{
	if (secs == 0) {
		snprintf(out, SCHED_LABEL_MAX, "(end)");
		return;
	}
	char *p = out;
	if (secs < collapse_secs)
		*p++ = '<';
	sched_label_span((float)secs, flags, p);
}
