/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_retention.c - retention selection for anki-backup (semantics in
 * backup_retention.h).
 *
 * Invariant: the newest snapshot (largest time, then largest index) always
 * has a keep bit, whatever the policy; so does every pinned one.
 */
#include "backup_retention.h"

#include <stdlib.h>
#include <time.h>

int backup_policy_active(const struct backup_policy *p)
{
	return p->daily > 0 || p->weekly > 0 || p->monthly > 0;
}

struct order {
	int64_t time;
	size_t idx;
};

/* Newest first. */
static int order_cmp(const void *x, const void *y)
{
	const struct order *a = x, *b = y;
	if (a->time != b->time)
		return a->time < b->time ? 1 : -1;
	return a->idx < b->idx ? 1 : a->idx > b->idx ? -1 : 0;
}

/* Calendar buckets in local time (TZ). */
static long bucket_of(int64_t t, int rule)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		return 0;
	long year = tm.tm_year + 1900L;
	switch (rule) {
	case BACKUP_KEEP_DAILY:
		return year * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
	case BACKUP_KEEP_MONTHLY:
		return year * 100 + tm.tm_mon + 1;
	default: {
		/* ISO 8601 week: the week belongs to the year of its Thursday. */
		int wday = (tm.tm_wday + 6) % 7; /* Monday = 0 */
		struct tm th = tm;
		th.tm_mday += 3 - wday;
		th.tm_hour = 12;
		th.tm_isdst = -1;
		mktime(&th);
		return (th.tm_year + 1900L) * 100 + th.tm_yday / 7 + 1;
	}
	}
}

enum status backup_retention_select(const struct backup_snapinfo *snaps, size_t n,
                                    const struct backup_policy *p, unsigned *keep,
                                    struct errinfo *e)
{
	if (p->daily < 0 || p->weekly < 0 || p->monthly < 0)
		return errinfo_set(e, ST_INVALID, "keep counts must not be negative");
	for (size_t i = 0; i < n; i++)
		keep[i] = snaps[i].pinned ? BACKUP_KEEP_PINNED : 0;
	if (n == 0)
		return ST_OK;
	struct order *o = malloc(n * sizeof *o);
	if (!o)
		return errinfo_set(e, ST_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		o[i] = (struct order){snaps[i].time, i};
	qsort(o, n, sizeof *o, order_cmp);
	keep[o[0].idx] |= BACKUP_KEEP_NEWEST;
	static const int rules[] = {BACKUP_KEEP_DAILY, BACKUP_KEEP_WEEKLY, BACKUP_KEEP_MONTHLY};
	const int counts[] = {p->daily, p->weekly, p->monthly};
	for (int r = 0; r < 3; r++) {
		int left = counts[r];
		long last = 0;
		int have_last = 0;
		for (size_t k = 0; k < n && left > 0; k++) {
			long b = bucket_of(o[k].time, rules[r]);
			if (have_last && b == last)
				continue;
			keep[o[k].idx] |= (unsigned)rules[r];
			last = b;
			have_last = 1;
			left--;
		}
	}
	free(o);
	return ST_OK;
}
