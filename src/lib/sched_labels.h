/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched_labels.h - the text above Anki's answer buttons ("<1m", "10m",
 * "1d", "3.5mo", "(end)"), as rslib/src/scheduler/timespan.rs and the
 * English strings of ftl/core/scheduling.ftl format it.
 *
 * Rules: the unit is the largest of s, m, h, d, mo (365/12 days), y that
 * the span reaches; seconds, minutes and days are rounded to integers,
 * hours, months and years to one decimal; the number is printed with at
 * most two decimals and no trailing zeros; 0 seconds is "(end)"; spans
 * shorter than the learn-ahead limit (config collapseTime, default 1200 s)
 * get a "<" prefix.  Anki's translation layer wraps the number in Unicode
 * isolation marks U+2068/U+2069 in the desktop app ("\u20681\u2069d");
 * SCHED_LABEL_ISOLATE reproduces that, 0 gives the plain text.
 */
#ifndef ANKIHOST_SCHED_LABELS_H
#define ANKIHOST_SCHED_LABELS_H

#include <stdint.h>

#define SCHED_LABEL_MAX 48
#define SCHED_LABEL_ISOLATE 1u

/* The label for an interval of secs seconds. */
void sched_label(uint32_t secs, uint32_t collapse_secs, unsigned flags, char out[SCHED_LABEL_MAX]);

/* The bare span ("30s", "1.1mo") without the "<"/"(end)" rules; writes
 * at most SCHED_LABEL_MAX - 1 bytes. */
void sched_label_span(float secs, unsigned flags, char *out);

#endif
