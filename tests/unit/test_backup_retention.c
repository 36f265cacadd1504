/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_backup_retention.c - the retention selection (backup_retention.h)
 * with made-up dates: which snapshots --keep-daily/weekly/monthly keep.
 */
#include "testutil.h"

#include <time.h>

#include "backup_retention.h"

static int64_t at(const char *iso)
{
	struct tm tm = {0};
	const char *end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	assert_non_null(end);
	assert_int_equal(*end, '\0');
	return (int64_t)timegm(&tm);
}

static int setup_utc(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

/* Select and return a "1/0" string of keep decisions, in input order. */
static void select_str(const struct backup_snapinfo *s, size_t n, struct backup_policy p,
                       char *out)
{
	unsigned keep[400];
	assert_true(n <= 400);
	assert_int_equal(backup_retention_select(s, n, &p, keep, NULL), ST_OK);
	for (size_t i = 0; i < n; i++)
		out[i] = keep[i] ? '1' : '0';
	out[n] = '\0';
}

static void test_no_policy_keeps_newest_only_in_function(void **state)
{
	(void)state;
	struct backup_policy p = {0, 0, 0};
	assert_false(backup_policy_active(&p));
	struct backup_snapinfo s[] = {{at("2024-01-01T03:00:00Z"), 0},
	                              {at("2024-01-03T03:00:00Z"), 0},
	                              {at("2024-01-02T03:00:00Z"), 0}};
	unsigned keep[3];
	assert_int_equal(backup_retention_select(s, 3, &p, keep, NULL), ST_OK);
	assert_int_equal(keep[0], 0);
	assert_int_equal(keep[1], BACKUP_KEEP_NEWEST);
	assert_int_equal(keep[2], 0);
}

static void test_daily_newest_per_day(void **state)
{
	(void)state;
	/* Three runs on the 5th, two on the 6th, one on the 7th. */
	struct backup_snapinfo s[] = {
	    {at("2024-03-05T01:00:00Z"), 0}, {at("2024-03-05T13:00:00Z"), 0},
	    {at("2024-03-05T23:59:59Z"), 0}, {at("2024-03-06T00:00:00Z"), 0},
	    {at("2024-03-06T12:00:00Z"), 0}, {at("2024-03-07T03:00:00Z"), 0},
	};
	char got[8];
	select_str(s, 6, (struct backup_policy){2, 0, 0}, got);
	assert_string_equal(got, "000011");
	select_str(s, 6, (struct backup_policy){3, 0, 0}, got);
	assert_string_equal(got, "001011");
	select_str(s, 6, (struct backup_policy){10, 0, 0}, got);
	assert_string_equal(got, "001011");
}

static void test_ninety_days_combined(void **state)
{
	(void)state;
	/* One snapshot a day at 03:00, 2024-01-01 .. 2024-03-31 (leap year). */
	struct backup_snapinfo s[91];
	int64_t t0 = at("2024-01-01T03:00:00Z");
	for (int i = 0; i < 91; i++)
		s[i] = (struct backup_snapinfo){t0 + (int64_t)i * 86400, 0};
	unsigned keep[91];
	struct backup_policy p = {7, 4, 3};
	assert_int_equal(backup_retention_select(s, 91, &p, keep, NULL), ST_OK);
	/* daily: Mar 25..31; weekly (ISO, Monday first): Mar 31, 24, 17, 10;
	 * monthly: Mar 31, Feb 29, Jan 31. */
	const char *want[] = {"2024-01-31", "2024-02-29", "2024-03-10", "2024-03-17", "2024-03-24",
	                      "2024-03-25", "2024-03-26", "2024-03-27", "2024-03-28", "2024-03-29",
	                      "2024-03-30", "2024-03-31"};
	size_t kept = 0;
	for (int i = 0; i < 91; i++) {
		char day[16];
		time_t tt = (time_t)s[i].time;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(day, sizeof day, "%Y-%m-%d", &tm);
		int expected = 0;
		for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
			expected |= strcmp(day, want[k]) == 0;
		if (expected != (keep[i] != 0))
			fail_msg("%s: expected %s", day, expected ? "kept" : "pruned");
		kept += keep[i] != 0;
	}
	assert_int_equal(kept, 12);
	assert_true(keep[90] & BACKUP_KEEP_NEWEST);
	assert_true(keep[90] & BACKUP_KEEP_DAILY);
	assert_true(keep[90] & BACKUP_KEEP_WEEKLY);
	assert_true(keep[90] & BACKUP_KEEP_MONTHLY);
	assert_int_equal(keep[30], BACKUP_KEEP_MONTHLY); /* Jan 31 */
}

static void test_iso_week_across_new_year(void **state)
{
	(void)state;
	/* 2020-12-28 (Mon) .. 2021-01-03 (Sun) is ISO week 2020-W53. */
	struct backup_snapinfo s[] = {
	    {at("2020-12-27T12:00:00Z"), 0}, /* Sun, W52 */
	    {at("2020-12-28T12:00:00Z"), 0}, /* Mon, W53 */
	    {at("2021-01-03T12:00:00Z"), 0}, /* Sun, W53 */
	    {at("2021-01-04T12:00:00Z"), 0}, /* Mon, 2021-W01 */
	};
	char got[8];
	select_str(s, 4, (struct backup_policy){0, 2, 0}, got);
	assert_string_equal(got, "0011");
	select_str(s, 4, (struct backup_policy){0, 3, 0}, got);
	assert_string_equal(got, "1011");
	/* Monthly groups by calendar month, not week: Jan 4 and Dec 28. */
	select_str(s, 4, (struct backup_policy){0, 0, 2}, got);
	assert_string_equal(got, "0101");
}

static void test_pinned_and_unsorted_and_ties(void **state)
{
	(void)state;
	int64_t d = at("2024-05-01T03:00:00Z");
	/* Unsorted input; two snapshots at the same second (index decides). */
	struct backup_snapinfo s[] = {
	    {d + 2 * 86400, 0}, {d, 1}, {d + 86400, 0}, {d + 2 * 86400, 0},
	};
	unsigned keep[4];
	struct backup_policy p = {1, 0, 0};
	assert_int_equal(backup_retention_select(s, 4, &p, keep, NULL), ST_OK);
	assert_int_equal(keep[0], 0);                    /* older twin of the same second */
	assert_int_equal(keep[1], BACKUP_KEEP_PINNED);   /* pinned although old */
	assert_int_equal(keep[2], 0);
	assert_int_equal(keep[3], BACKUP_KEEP_NEWEST | BACKUP_KEEP_DAILY);
}

static void test_newest_kept_even_if_clock_went_back(void **state)
{
	(void)state;
	/* The snapshot just made (pinned) is older than an existing one: both
	 * stay, whatever the policy says. */
	struct backup_snapinfo s[] = {{at("2030-01-01T00:00:00Z"), 0},
	                              {at("2024-01-01T00:00:00Z"), 1},
	                              {at("2029-12-01T00:00:00Z"), 0}};
	char got[4];
	select_str(s, 3, (struct backup_policy){1, 0, 0}, got);
	assert_string_equal(got, "110");
}

static void test_local_day_boundary(void **state)
{
	(void)state;
	/* In UTC+2, 23:30 UTC is already the next local day. */
	setenv("TZ", "XXX-2", 1);
	tzset();
	struct backup_snapinfo s[] = {{at("2024-06-10T21:30:00Z"), 0}, /* local 23:30 Jun 10 */
	                              {at("2024-06-10T22:30:00Z"), 0}, /* local 00:30 Jun 11 */
	                              {at("2024-06-11T20:00:00Z"), 0}}; /* local 22:00 Jun 11 */
	char got[4];
	select_str(s, 3, (struct backup_policy){2, 0, 0}, got);
	assert_string_equal(got, "101");
	setenv("TZ", "UTC", 1);
	tzset();
}

static void test_bad_input(void **state)
{
	(void)state;
	struct backup_snapinfo s[] = {{1, 0}};
	unsigned keep[1];
	struct backup_policy p = {-1, 0, 0};
	struct errinfo e = {0};
	assert_int_equal(backup_retention_select(s, 1, &p, keep, &e), ST_INVALID);
	p = (struct backup_policy){1, 1, 1};
	assert_int_equal(backup_retention_select(NULL, 0, &p, keep, NULL), ST_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_policy_keeps_newest_only_in_function),
	    cmocka_unit_test(test_daily_newest_per_day),
	    cmocka_unit_test(test_ninety_days_combined),
	    cmocka_unit_test(test_iso_week_across_new_year),
	    cmocka_unit_test(test_pinned_and_unsorted_and_ties),
	    cmocka_unit_test(test_newest_kept_even_if_clock_went_back),
	    cmocka_unit_test(test_local_day_boundary),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, setup_utc, NULL);
}
