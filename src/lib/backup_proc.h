/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backup_proc.h - run a filter program (age) with its stdin and stdout on
 * pipes and stream through it without deadlock.
 *
 * The program is started with posix_spawnp (no shell).  backup_proc_feed
 * writes to the child's stdin while passing everything the child prints on
 * stdout to a sink, using poll(2) on both pipes: writing alone would block
 * forever once the child, itself blocked on a full stdout pipe, stops
 * reading.  The child's stderr is kept (first BACKUP_PROC_ERR_MAX bytes)
 * for the error message.  SIGPIPE is blocked around writes in the calling
 * thread, so a child that dies early is an error value, not a signal.
 *
 *   struct backup_proc p;
 *   backup_proc_start(&p, argv, e);
 *   backup_proc_feed(&p, data, len, sink, ctx, e);   // any number of times
 *   backup_proc_finish(&p, sink, ctx, e);            // EOF, drain, wait
 * On any failure call backup_proc_kill(&p) (safe after finish too).
 */
#ifndef ANKIHOST_BACKUP_PROC_H
#define ANKIHOST_BACKUP_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "status.h"

/* Enough for age's error lines; more is noise. */
#define BACKUP_PROC_ERR_MAX 4096

/* Receives bytes; a non-OK return stops the stream. */
typedef enum status (*backup_sink_fn)(void *ctx, const void *data, size_t len,
                                      struct errinfo *e);

struct backup_proc {
	pid_t pid;  /* 0 when not running */
	int in_fd;  /* write end of the child's stdin; -1 once closed */
	int out_fd; /* read end of the child's stdout; -1 at EOF */
	int err_fd; /* read end of the child's stderr; -1 at EOF */
	struct buf err;
	char name[64]; /* argv[0], for messages */
};

/* Start argv[0] (searched in PATH) with argv.  ST_NOTFOUND when the program
 * cannot be run. */
enum status backup_proc_start(struct backup_proc *p, char *const argv[], struct errinfo *e);

/* Write data[0..len) to the child, passing its output to sink meanwhile.
 * ST_IO when the child closed its stdin (exited) early; the message then
 * carries the child's stderr. */
enum status backup_proc_feed(struct backup_proc *p, const void *data, size_t len,
                             backup_sink_fn sink, void *ctx, struct errinfo *e);

/* Close the child's stdin, pass the remaining output to sink, reap it.
 * A non-zero exit is ST_IO ("age failed (exit 1): <first stderr line>"). */
enum status backup_proc_finish(struct backup_proc *p, backup_sink_fn sink, void *ctx,
                               struct errinfo *e);

/* Kill (SIGKILL) and reap a child still running; close pipes; free. */
void backup_proc_kill(struct backup_proc *p);

#endif
