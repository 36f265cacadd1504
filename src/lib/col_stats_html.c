/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * col_stats_html.c - the HTML rendering of the statistics report
 * (col_stats.h; ankiconnect.md §3.8 getCollectionStatsHTML): plain tables
 * with inline CSS bars, the same numbers and wording as Anki's legacy
 * report, not its flot graphs.  The only text from the collection (the
 * deck name) is HTML-escaped; numbers print as Anki's Fluent arguments do.
 */
#include "col_stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render_html.h"
/* ---- formatting ---- */

/* A number as Anki's Fluent arguments print it: at most two decimals,
 * trailing zeros and point removed. */
static void fmt_num(double v, char *dst, size_t cap)
{
	snprintf(dst, cap, "%.2f", v);
	char *dot = strchr(dst, '.');
	if (dot) {
		char *end = dst + strlen(dst);
		while (end > dot + 1 && end[-1] == '0')
			*--end = '\0';
		if (end == dot + 1)
			*dot = '\0';
	}
	if (strcmp(dst, "-0") == 0)
		snprintf(dst, cap, "0");
}

void col_stats_timespan(double secs, char *dst, size_t cap)
{
	static const struct {
		double size;
		const char *one, *many;
		bool integral;
	} units[] = {
	    {1, "second", "seconds", true},
	    {60, "minute", "minutes", false},
	    {3600, "hour", "hours", false},
	    {86400, "day", "days", true},
	    {86400.0 * 365 / 12, "month", "months", false},
	    {86400.0 * 365, "year", "years", false},
	};
	double a = fabs(secs);
	size_t u = 0;
	while (u + 1 < sizeof units / sizeof units[0] && a >= units[u + 1].size)
		u++;
	double amount = secs / units[u].size;
	amount = units[u].integral ? round(amount) : round(amount * 10) / 10;
	char n[64];
	fmt_num(amount, n, sizeof n);
	snprintf(dst, cap, "%s %s", n, strcmp(n, "1") == 0 ? units[u].one : units[u].many);
}

/* Output with the first failure remembered (later writes are skipped). */
struct out {
	struct buf *b;
	struct errinfo *e;
	enum status st;
};

static void w(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void w(struct out *o, const char *fmt, ...)
{
	if (o->st)
		return;
	va_list ap;
	va_start(ap, fmt);
	char small[512];
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->st = errinfo_set(o->e, ST_INTERNAL, "formatting the report");
		return;
	}
	if ((size_t)n < sizeof small) {
		o->st = buf_append(o->b, small, (size_t)n, o->e);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		o->st = errinfo_set(o->e, ST_NOMEM, "out of memory");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->st = buf_append(o->b, big, (size_t)n, o->e);
	free(big);
}

static void w_escaped(struct out *o, const char *s)
{
	if (!o->st)
		o->st = render_html_encode_minimal(s, strlen(s), o->b, o->e);
}

static const char *plural(int64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

#define BAR_PX 240

/* A horizontal stacked bar: vals[i] drawn in colors[i], max -> BAR_PX. */
static void w_bar(struct out *o, const int64_t *vals, const char *const *colors, int n, double max)
{
	w(o, "<td class=bar>");
	for (int i = 0; i < n && max > 0; i++) {
		if (vals[i] <= 0)
			continue;
		long px = lround((double)vals[i] * BAR_PX / max);
		w(o, "<span style=\"width:%ldpx;background:%s\"></span>", px < 1 ? 1 : px,
		  colors[i]);
	}
	w(o, "</td>");
}

static void w_title(struct out *o, const char *title, const char *sub)
{
	w(o, "<div class=section><h1>%s</h1>", title);
	if (sub)
		w(o, "<div class=sub>%s</div>", sub);
}

/* A "label: value" summary row; value is HTML. */
static void w_line(struct out *o, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void w_line(struct out *o, const char *label, const char *fmt, ...)
{
	char v[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof v, fmt, ap);
	va_end(ap);
	w(o, "<tr><td class=lbl>%s:</td><td><b>%s</b></td></tr>", label, v);
}

static void day_label(char *dst, size_t cap, int d, bool future)
{
	if (d == 0)
		snprintf(dst, cap, "Today");
	else
		snprintf(dst, cap, "%c%dd", future ? '+' : '-', d);
}

static void avg_day(char *dst, size_t cap, double tot, double days, const char *unit)
{
	snprintf(dst, cap, "%.1f %s/day", days > 0 ? tot / days : 0.0, unit);
}

static const char *const kind_names[CS_NKINDS] = {"Learn", "Young", "Mature", "Relearn", "Cram"};
static const char *const kind_colors[CS_NKINDS] = {"#00f", "#7c7", "#070", "#c00", "#ff0"};

static void html_today(struct out *o, const struct col_stats *s)
{
	const struct col_stats_today *t = &s->td;
	w_title(o, "Today", NULL);
	if (!t->cards) {
		w(o, "No cards have been studied today.</div>");
		return;
	}
	char amount[64], per[64];
	const char *unit;
	if (t->secs < 60 && t->secs > -60) {
		fmt_num((double)t->secs, amount, sizeof amount);
		unit = strcmp(amount, "1") == 0 ? "second" : "seconds";
	} else {
		fmt_num((double)t->secs / 60, amount, sizeof amount);
		unit = strcmp(amount, "1") == 0 ? "minute" : "minutes";
	}
	fmt_num((double)t->secs / (double)t->cards, per, sizeof per);
	w(o, "Studied %lld %s in %s %s today (%ss/card)", (long long)t->cards,
	  plural(t->cards, "card", "cards"), amount, unit, per);
	w(o, "<br>Again count: <b>%lld</b> (<b>%.1f%%</b> correct)", (long long)t->again,
	  (1.0 - (double)t->again / (double)t->cards) * 100);
	w(o,
	  "<br>Learn: <b>%lld</b>, Review: <b>%lld</b>, Relearn: <b>%lld</b>, Filtered: "
	  "<b>%lld</b>",
	  (long long)t->learn, (long long)t->review, (long long)t->relearn, (long long)t->filtered);
	if (t->mature)
		w(o, "<br>Correct answers on mature cards: %lld/%lld (%.1f%%)",
		  (long long)t->mature_correct, (long long)t->mature,
		  (double)t->mature_correct / (double)t->mature * 100);
	else
		w(o, "<br>No mature cards were studied today.");
	w(o, "</div>");
}

static void html_forecast(struct out *o, const struct col_stats *s)
{
	const struct col_stats_forecast *f = &s->due;
	static const char *const colors[2] = {"#7c7", "#070"};
	w_title(o, "Forecast", "The number of reviews due in the future.");
	int64_t max = 0;
	for (int d = 0; d < COL_STATS_DAYS; d++)
		if (f->young[d] + f->mature[d] > max)
			max = f->young[d] + f->mature[d];
	if (f->total) {
		w(o, "<table class=data><tr><th>Day</th><th>Young</th><th>Mature</th>"
		     "<th>Cumulative</th><th></th></tr>");
		int64_t cum = 0;
		for (int d = 0; d < COL_STATS_DAYS; d++) {
			char lbl[16];
			day_label(lbl, sizeof lbl, d, true);
			cum += f->young[d] + f->mature[d];
			if (!f->young[d] && !f->mature[d])
				continue;
			w(o,
			  "<tr><td>%s</td><td class=n>%lld</td><td class=n>%lld</td><td "
			  "class=n>%lld</td>",
			  lbl, (long long)f->young[d], (long long)f->mature[d], (long long)cum);
			int64_t v[2] = {f->young[d], f->mature[d]};
			w_bar(o, v, colors, 2, (double)max);
			w(o, "</tr>");
		}
		w(o, "</table><div class=sub>Days with nothing due are not listed.</div>");
	} else {
		w(o, "<p>No reviews are due in the next %d days.</p>", COL_STATS_DAYS);
	}
	char avg[64];
	avg_day(avg, sizeof avg, (double)f->total, (double)f->days_due, "reviews");
	w(o, "<table class=sum>");
	w_line(o, "Total", "%lld %s", (long long)f->total, plural(f->total, "review", "reviews"));
	w_line(o, "Average", "%s", avg);
	w_line(o, "Due tomorrow", "%lld %s", (long long)f->tomorrow,
	       plural(f->tomorrow, "card", "cards"));
	w_line(o, "Overdue", "%lld %s", (long long)f->overdue, plural(f->overdue, "card", "cards"));
	w(o, "</table></div>");
}

/* The summary of Review Count and Review Time, in Anki's order: days
 * studied, total (HTML), averages. */
static void studied_lines(struct out *o, const struct col_stats *s, const char *total, double tot,
                          const char *unit)
{
	int64_t studied = s->reps.days_studied;
	char a[64];
	w(o, "<tr><td class=lbl>Days studied:</td><td><b>%d%%</b> (%lld of %d)</td></tr>",
	  (int)((double)studied / COL_STATS_DAYS * 100), (long long)studied, COL_STATS_DAYS);
	w_line(o, "Total", "%s", total);
	avg_day(a, sizeof a, tot, (double)studied, unit);
	w_line(o, "Average for days studied", "%s", a);
	if (studied != COL_STATS_DAYS) {
		avg_day(a, sizeof a, tot, COL_STATS_DAYS, unit);
		w_line(o, "If you studied every day", "%s", a);
	}
}

static void html_reviews(struct out *o, const struct col_stats *s, bool time)
{
	const struct col_stats_reviews *r = &s->reps;
	if (time)
		w_title(o, "Review Time", "The time taken to answer the questions.");
	else
		w_title(o, "Review Count", "The number of questions you have answered.");
	if (!r->days_studied) {
		w(o, "<p>No reviews in this period.</p></div>");
		return;
	}
	double max = 0;
	for (int d = 0; d < COL_STATS_DAYS; d++) {
		double t = 0;
		for (int k = 0; k < CS_NKINDS; k++)
			t += (double)(time ? r->ms[d][k] : r->count[d][k]);
		if (t > max)
			max = t;
	}
	w(o, "<table class=data><tr><th>Day</th>");
	for (int k = 0; k < CS_NKINDS; k++)
		w(o, "<th>%s</th>", kind_names[k]);
	w(o, "<th>Total</th><th></th></tr>");
	for (int d = 0; d < COL_STATS_DAYS; d++) {
		char lbl[16];
		int64_t any = 0;
		for (int k = 0; k < CS_NKINDS; k++)
			any += r->count[d][k];
		if (!any)
			continue;
		day_label(lbl, sizeof lbl, d, false);
		w(o, "<tr><td>%s</td>", lbl);
		int64_t sum = 0;
		for (int k = 0; k < CS_NKINDS; k++) {
			int64_t v = time ? r->ms[d][k] : r->count[d][k];
			sum += v;
			if (time)
				w(o, "<td class=n>%.1f</td>", (double)v / 60000.0);
			else
				w(o, "<td class=n>%lld</td>", (long long)v);
		}
		if (time)
			w(o, "<td class=n>%.1f</td>", (double)sum / 60000.0);
		else
			w(o, "<td class=n>%lld</td>", (long long)sum);
		w_bar(o, time ? r->ms[d] : r->count[d], kind_colors, CS_NKINDS, max);
		w(o, "</tr>");
	}
	w(o, "</table><div class=sub>%sDays without answers are not listed.</div><table class=sum>",
	  time ? "Minutes, by kind of answer. " : "");
	char total[64];
	if (!time) {
		snprintf(total, sizeof total, "%lld %s", (long long)r->total,
		         plural(r->total, "review", "reviews"));
		studied_lines(o, s, total, (double)r->total, "reviews");
	} else {
		double minutes = (double)r->total_ms / 60000.0;
		snprintf(total, sizeof total, "%lld minutes", (long long)minutes);
		studied_lines(o, s, total, minutes, "minutes");
		if (r->total && minutes != 0) {
			char secs[64], rate[64];
			fmt_num(minutes * 60 / (double)r->total, secs, sizeof secs);
			fmt_num((double)r->total / minutes, rate, sizeof rate);
			w_line(o, "Average answer time", "%ss (%s cards/minute)", secs, rate);
		}
	}
	w(o, "</table></div>");
}

static void html_added(struct out *o, const struct col_stats *s)
{
	static const char *const color[1] = {"#00f"};
	w_title(o, "Added", "The number of new cards you have added.");
	if (!s->added_total) {
		w(o, "<p>No cards were added in this period.</p></div>");
		return;
	}
	int64_t max = 0;
	for (int d = 0; d < COL_STATS_DAYS; d++)
		if (s->added[d] > max)
			max = s->added[d];
	w(o, "<table class=data><tr><th>Day</th><th>Cards</th><th></th></tr>");
	for (int d = 0; d < COL_STATS_DAYS; d++) {
		char lbl[16];
		if (!s->added[d])
			continue;
		day_label(lbl, sizeof lbl, d, false);
		w(o, "<tr><td>%s</td><td class=n>%lld</td>", lbl, (long long)s->added[d]);
		w_bar(o, &s->added[d], color, 1, (double)max);
		w(o, "</tr>");
	}
	char avg[64];
	avg_day(avg, sizeof avg, (double)s->added_total, COL_STATS_DAYS, "cards");
	w(o, "</table><div class=sub>Days without added cards are not listed.</div>"
	     "<table class=sum>");
	w_line(o, "Total", "%lld %s", (long long)s->added_total,
	       plural(s->added_total, "card", "cards"));
	w_line(o, "Average", "%s", avg);
	w(o, "</table></div>");
}

static void html_intervals(struct out *o, const struct col_stats *s)
{
	static const char *const color[1] = {"#077"};
	const struct col_stats_intervals *v = &s->ivl;
	w_title(o, "Intervals", "Delays until reviews are shown again.");
	if (!v->count) {
		w(o, "<p>No cards in review.</p></div>");
		return;
	}
	int64_t max = 0;
	for (int i = 0; i <= COL_STATS_IVL_MAX; i++)
		if (v->hist[i] > max)
			max = v->hist[i];
	w(o,
	  "<table class=data><tr><th>Interval</th><th>Cards</th><th>Cumulative</th><th></th></tr>");
	int64_t cum = 0;
	for (int i = 0; i <= COL_STATS_IVL_MAX; i++) {
		cum += v->hist[i];
		if (!v->hist[i])
			continue;
		w(o, "<tr><td>%dd</td><td class=n>%lld</td><td class=n>%.1f%%</td>", i,
		  (long long)v->hist[i], (double)cum / (double)v->count * 100);
		w_bar(o, &v->hist[i], color, 1, (double)max);
		w(o, "</tr>");
	}
	char avg[64], lng[64];
	col_stats_timespan(v->avg * 86400, avg, sizeof avg);
	col_stats_timespan((double)v->max * 86400, lng, sizeof lng);
	w(o, "</table><div class=sub>Intervals without cards are not listed.</div>");
	if (cum != v->count)
		w(o, "<div class=sub>%lld %s with longer intervals not listed.</div>",
		  (long long)(v->count - cum), plural(v->count - cum, "card", "cards"));
	w(o, "<table class=sum>");
	w_line(o, "Average interval", "%s", avg);
	w_line(o, "Longest interval", "%s", lng);
	w(o, "</table></div>");
}

static void html_hours(struct out *o, const struct col_stats *s)
{
	static const char *const color[1] = {"#999"};
	const struct col_stats_hours *h = &s->hours;
	w_title(o, "Hourly Breakdown", "Review success rate for each hour of the day.");
	int64_t max = 0;
	for (int i = 0; i < 24; i++)
		if (h->count[i] > max)
			max = h->count[i];
	if (!max) {
		w(o, "<p>No answers in this period.</p></div>");
		return;
	}
	w(o,
	  "<table class=data><tr><th>Hour</th><th>Answers</th><th>%% Correct</th><th></th></tr>");
	for (int i = 0; i < 24; i++) {
		int hr = (i + 4) % 24; /* Anki's axis starts at 4AM */
		if (!h->count[hr])
			continue;
		w(o, "<tr><td>%02d:00</td><td class=n>%lld</td>", hr, (long long)h->count[hr]);
		w(o, "<td class=n>%.1f%%</td>",
		  (double)h->correct[hr] / (double)h->count[hr] * 100);
		w_bar(o, &h->count[hr], color, 1, (double)max);
		w(o, "</tr>");
	}
	w(o, "</table><div class=sub>Anki's graph leaves out hours with 30 or fewer answers; "
	     "every hour with answers is listed here.</div></div>");
}

static void html_buttons(struct out *o, const struct col_stats *s)
{
	static const char *const names[CS_NCLASSES] = {"Learning", "Young", "Mature"};
	const struct col_stats_buttons *b = &s->buttons;
	w_title(o, "Answer Buttons", "The number of times you have pressed each button.");
	w(o, "<table class=data><tr><th></th><th>1</th><th>2</th><th>3</th><th>4</th>"
	     "<th>Correct</th></tr>");
	for (int c = 0; c < CS_NCLASSES; c++) {
		w(o, "<tr><td>%s</td>", names[c]);
		for (int ea = 1; ea <= 4; ea++)
			w(o, "<td class=n>%lld</td>", (long long)b->ease[c][ea]);
		int64_t good = b->total[c] - b->again[c];
		double pct = b->total[c] ? (double)good / (double)b->total[c] * 100 : 0;
		w(o, "<td>Correct: <b>%.2f%%</b> (%lld of %lld)</td></tr>", pct, (long long)good,
		  (long long)b->total[c]);
	}
	w(o, "</table></div>");
}

static void html_cards(struct out *o, const struct col_stats *s)
{
	const struct col_stats_cards *c = &s->cards;
	w_title(o, "Card Types", "The division of cards in your deck(s).");
	struct {
		const char *name, *color;
		int64_t n;
	} rows[4] = {{"Mature", "#070", c->mature},
	             {"Young+Learn", "#7c7", c->young + c->learning},
	             {"Unseen", "#000", c->unseen},
	             {"Suspended+Buried", "#ff0", c->suspended + c->buried}};
	w(o, "<table class=data>");
	for (int i = 0; i < 4; i++) {
		w(o, "<tr><td>%s</td><td class=n>%lld</td><td class=n>%.1f%%</td>", rows[i].name,
		  (long long)rows[i].n,
		  c->total ? (double)rows[i].n / (double)c->total * 100 : 0.0);
		w_bar(o, &rows[i].n, &rows[i].color, 1, (double)c->total);
		if (i == 1)
			w(o, "<td>Young %lld, Learning %lld</td>", (long long)c->young,
			  (long long)c->learning);
		else if (i == 3)
			w(o, "<td>Suspended %lld, Buried %lld</td>", (long long)c->suspended,
			  (long long)c->buried);
		else
			w(o, "<td></td>");
		w(o, "</tr>");
	}
	w(o, "</table><table class=sum>");
	w_line(o, "Total cards", "%lld", (long long)c->total);
	w_line(o, "Total notes", "%lld", (long long)c->notes);
	if (c->have_ease) {
		w_line(o, "Lowest ease", "%lld%%", (long long)c->ease_min);
		w_line(o, "Average ease", "%lld%%", (long long)c->ease_avg);
		w_line(o, "Highest ease", "%lld%%", (long long)c->ease_max);
	}
	w(o, "</table><p>A card's <i>ease</i> is the size of the next interval when you answer "
	     "\"good\" on a review.</p></div>");
}

static void html_footer(struct out *o, const struct col_stats *s)
{
	char when[64] = "";
	time_t t = (time_t)s->now;
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
	w(o, "<div class=\"section foot\">Generated on %s<br>Scope: ", when);
	w_escaped(o, s->scope ? s->scope : "");
	w(o, "<br>Period: 1 month</div>");
}

static const char css[] =
    "<style>\n"
    ".ankihost-stats{font-family:sans-serif;text-align:left;max-width:800px;margin:0 auto}\n"
    ".ankihost-stats h1{margin:1em 0 0;font-size:1.4em}\n"
    ".ankihost-stats .sub{color:#666;margin:.2em 0 .5em}\n"
    ".ankihost-stats table{border-collapse:collapse;margin:.4em 0}\n"
    ".ankihost-stats th,.ankihost-stats td{padding:1px 6px}\n"
    ".ankihost-stats td.n{text-align:right}\n"
    ".ankihost-stats td.lbl{text-align:right;width:200px}\n"
    ".ankihost-stats td.bar{width:240px;white-space:nowrap}\n"
    ".ankihost-stats td.bar span{display:inline-block;height:.8em}\n"
    ".ankihost-stats .foot{font-size:smaller;margin-top:2em}\n"
    "@media print{.ankihost-stats .section{page-break-inside:avoid}}\n"
    "</style>\n";

enum status col_stats_html(const struct col_stats *s, struct buf *out, struct errinfo *e)
{
	struct out o = {out, e, ST_OK};
	w(&o, "%s<div class=ankihost-stats>", css);
	html_today(&o, s);
	html_forecast(&o, s);
	html_reviews(&o, s, false);
	html_reviews(&o, s, true);
	html_added(&o, s);
	html_intervals(&o, s);
	html_hours(&o, s);
	html_buttons(&o, s);
	html_cards(&o, s);
	html_footer(&o, s);
	w(&o, "</div>");
	return o.st;
}
