/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_internal.h - what the media_*.c files share: the per-user handle
 * and the redo journal (see media_srv.c for the write order it serves).
 * Not for use outside src/lib/media_*.c.
 */
#ifndef ANKIHOST_MEDIA_INTERNAL_H
#define ANKIHOST_MEDIA_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "bounds.h"
#include "media_db.h"
#include "media_srv.h"

/* Temporary names: MEDIA_TMP_PREFIX + 16 random hex digits. */
#define MEDIA_TMP_NAME_MAX 64

struct media_srv {
	char userdir[MAX_PATH_BYTES];
	int userfd;  /* O_DIRECTORY of userdir */
	int mediafd; /* O_DIRECTORY of userdir/media */
	int jfd;     /* the journal file */
	int same_fs; /* journal and media folder on one filesystem */
	struct media_db *db;
	struct media_opts o;
	/* what media_srv_current compares: the DB file's identity and
	 * PRAGMA data_version as this handle last left them */
	dev_t db_dev;
	ino_t db_ino;
	int64_t data_version;
	uint64_t dl_mem_max; /* media_srv_set_dl_mem_max */
	/* journal state of the request in progress */
	char jid[17];    /* this batch's id (hex) */
	struct buf jrec; /* records not yet written */
	int jbegun;
};

static inline void media_hook(struct media_srv *m, enum media_hook p)
{
	if (m->o.hook)
		m->o.hook(m->o.hook_arg, p);
}

/* What a public media_srv_* function returns: ST_INVALID (400),
 * ST_CONFLICT and ST_BUSY (409) as they are; every other failure becomes a
 * 500-class code (a damaged DB must not answer 400, a permission problem
 * must not answer 403: the client would drop its login). */
static inline enum status media_outcome(enum status st, struct errinfo *e)
{
	switch (st) {
	case ST_OK:
	case ST_INVALID:
	case ST_CONFLICT:
	case ST_BUSY:
	case ST_NOMEM:
	case ST_IO:
	case ST_DB:
	case ST_INTERNAL:
		return st;
	default:
		if (e)
			e->code = ST_DB;
		return ST_DB;
	}
}

/* Journal (media_srv.c).  media_srv_journal_begin marks the journal busy (temporaries
 * may exist from now on); mj_add_* queue records; media_srv_journal_flush writes them
 * (and with durable=1 the caller's following syncfs covers them);
 * media_srv_journal_clear empties the journal after the folder matches the DB. */
enum status media_srv_journal_begin(struct media_srv *m, struct errinfo *e);
enum status media_srv_journal_rename(struct media_srv *m, const char *tmp,
                                     const unsigned char sha1[20], const char *fname, size_t len,
                                     struct errinfo *e);
enum status media_srv_journal_unlink(struct media_srv *m, const char *fname, size_t len,
                                     struct errinfo *e);
enum status media_srv_journal_reset(struct media_srv *m, const char *dir, int32_t usn,
                                    struct errinfo *e);
enum status media_srv_journal_flush(struct media_srv *m, struct errinfo *e);
enum status media_srv_journal_clear(struct media_srv *m, struct errinfo *e);

/* Make written data durable when o.durable: syncfs of the media folder's
 * filesystem (temporaries, directory entries, and the journal when it
 * lives there too), else an fdatasync of the journal as well. */
enum status media_srv_sync_data(struct media_srv *m, struct errinfo *e);
/* Durable mode: the journal's records reach the disk (before files they
 * name are created). */
enum status media_srv_journal_sync(struct media_srv *m, struct errinfo *e);
/* fsync a directory when o.durable. */
enum status media_srv_sync_dir(struct media_srv *m, int dirfd, struct errinfo *e);

/* Create a fresh temporary in the media folder: *fd open for writing,
 * name (>= MEDIA_TMP_NAME_MAX bytes) receives its name. */
enum status media_srv_tmp_create(struct media_srv *m, char *name, int *fd, struct errinfo *e);
/* (Re)open userdir/media as m->mediafd, creating it when missing. */
enum status media_srv_open_dir(struct media_srv *m, struct errinfo *e);

/* Remove every temporary in the media folder; returns how many, or -1. */
long media_srv_tmp_sweep(struct media_srv *m);

/* 40 lowercase hex digits + NUL. */
void media_srv_hex(const unsigned char *bin, size_t n, char *out);

/* digits (<= 64) random lowercase hex digits + NUL into out. */
enum status media_srv_random_hex(char *out, size_t digits, struct errinfo *e);

/* now, in seconds */
int64_t media_srv_now(void);

#endif
