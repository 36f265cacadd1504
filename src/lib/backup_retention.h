/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_retention.h - which snapshots a --keep-daily/--keep-weekly/
 * --keep-monthly policy keeps.  A pure function of its inputs (and of the
 * TZ setting, which defines where a day starts), so it is tested with
 * made-up dates.
 *
 * Semantics (as restic's "forget", counted over snapshots, not the clock):
 *   keep-daily N   the newest snapshot of each of the N most recent
 *                  calendar days that have a snapshot;
 *   keep-weekly N  likewise per ISO 8601 week (Monday first);
 *   keep-monthly N likewise per calendar month.
 * A snapshot kept by any rule is kept.  The newest snapshot, and every
 * snapshot marked pinned, is always kept.  Counting over existing snapshots
 * rather than "the last N days from now" means that a machine that was off
 * for a month, or a clock set wrong, never loses its old backups.
 */
#ifndef ANKIHOST_BACKUP_RETENTION_H
#define ANKIHOST_BACKUP_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct backup_policy {
	int daily, weekly, monthly; /* 0 = rule off; negative refused */
};

/* Is any rule on?  With none, nothing is ever pruned. */
int backup_policy_active(const struct backup_policy *p);

struct backup_snapinfo {
	int64_t time; /* creation, seconds since the epoch */
	int pinned;   /* keep regardless (the snapshot just written) */
};

/* Why a snapshot is kept (bit set in keep[i]); 0 = prune it. */
enum {
	BACKUP_KEEP_NEWEST = 1,
	BACKUP_KEEP_PINNED = 2,
	BACKUP_KEEP_DAILY = 4,
	BACKUP_KEEP_WEEKLY = 8,
	BACKUP_KEEP_MONTHLY = 16,
};

/* Fill keep[0..n) for snaps[0..n) (any order; equal times are ordered by
 * index, later index = newer).  ST_INVALID for a negative count,
 * ST_NOMEM. */
enum status backup_retention_select(const struct backup_snapinfo *snaps, size_t n,
                                    const struct backup_policy *p, unsigned *keep,
                                    struct errinfo *e);

#endif
