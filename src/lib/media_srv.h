/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * media_srv.h - the server side of media sync (sync-protocol.md §5) as a
 * library: what the /msync/ handlers of anki-sync-server and the media
 * commands of anki-sync-admin call.  HTTP, authentication and zstd framing
 * are the caller's; everything here takes decoded request data (JSON text,
 * the path of the spooled upload zip) and produces response bodies.
 *
 * One struct media_srv is one user's media: <userdir>/media.db (media_db.h),
 * the flat folder <userdir>/media/ and a small redo journal
 * <userdir>/media.ankihost-journal.  The layout is the official server's
 * (§6.2), so a SYNC_BASE moves between the two servers unchanged.
 *
 * Concurrency: one handle serves one request at a time, and the caller
 * must make sure that no two handles of the same user work at once (the
 * server's per-user lock; the admin's flock).  Opening is where a crash
 * of an earlier request is repaired.  A handle may be kept between
 * requests (the server keeps one per user while the user is active, and
 * releases the flock in between): before reusing it, under the locks
 * again, ask media_srv_current; when it says no (another process wrote
 * to the DB, moved media/ aside, left a journal), close it and open a
 * new one, which repairs and re-reads everything.  After a request that
 * failed with a 500-class status, close it too.
 *
 * Errors: every function returns enum status; for media_srv_open and the
 * request functions, status_http() of it is the status the official
 * server answers in the same situation - ST_INVALID (400) for bad requests
 * and bad zips, ST_CONFLICT (409) for downloads of missing files, ST_BUSY
 * (409: another process holds the DB), and only 500-class codes
 * otherwise (a damaged DB is ST_DB, never 400; nothing maps to 403, 404
 * or 413, which would mislead the client).  e->msg says why, for the log.
 *
 * Consistency (the reason for the journal; full argument in media_srv.c and
 * docs/media-sync.md): after any crash, the next media_srv_open leaves the
 * folder and the DB agreeing - every live row has its file, every file in
 * the folder has a live row, and no temporary file remains.
 */
#ifndef ANKIHOST_MEDIA_SRV_H
#define ANKIHOST_MEDIA_SRV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "bounds.h"
#include "media_db.h"
#include "status.h"

/* Protocol limits (§5.10). */
#define MEDIA_FILE_MAX (100u * 1024 * 1024) /* MAX_INDIVIDUAL_MEDIA_FILE_SIZE */
#define MEDIA_ZIP_FILES_MAX 25              /* MAX_MEDIA_FILES_IN_ZIP */
#define MEDIA_ZIP_TARGET_BYTES 2621440u     /* MEDIA_SYNC_TARGET_ZIP_BYTES, 2.5 MiB */
#define MEDIA_META_MAX (50u * 1024)         /* _meta read limit on upload */
/* Default cap on the sum of declared member sizes of one upload: what the
 * official server can receive at all (3 x MAX_SYNC_PAYLOAD_MEGS 100 MiB
 * of uncompressed body; a real client sends 2.5 MiB + one file at most). */
#define MEDIA_UPLOAD_TOTAL_DEFAULT (300ull * 1024 * 1024)
/* Default of media_opts.parallel_min: files smaller than this on average
 * cost more to split between threads than the split saves. */
#define MEDIA_PARALLEL_MIN (256u * 1024)

#define MEDIA_DIR "media"
#define MEDIA_JOURNAL_FILE "media.ankihost-journal"
/* Download zips of selections up to this many bytes are built in memory
 * (the files, then the archive: about twice this per request in flight);
 * larger ones in the user directory under MEDIA_DL_PREFIX. */
#define MEDIA_DL_MEM_MAX (8u * 1024 * 1024)
/* Download zips are built in the user directory under this prefix. */
#define MEDIA_DL_PREFIX ".ankihost-msync-dl."

/* Crash points for tests (media_opts.hook). */
enum media_hook {
	MH_UP_TEMPS,        /* upload: temporaries written, nothing committed */
	MH_UP_JOURNAL,      /* upload: journal written, DB not committed */
	MH_UP_COMMITTED,    /* upload: DB committed, no rename done */
	MH_UP_RENAMED_ONE,  /* upload: first rename/unlink done */
	MH_UP_RENAMED,      /* upload: all done, journal not yet cleared */
	MH_DL_FORGET,       /* download: row of a bad file forgotten, file not yet removed */
	MH_RESET_COMMITTED, /* reset: DB cleared, folder not yet moved */
	MH_RESET_MOVED,     /* reset: folder moved, new folder not yet made */
};

struct media_opts {
	/* fsync file data, the journal and the folder around each commit, so
	 * the folder/DB agreement survives power loss too.  Without it the
	 * agreement survives any crash of the process (the kernel keeps the
	 * writes) and the DB commits with synchronous=NORMAL. */
	int durable;
	/* remove leftover temporaries at open even when the journal is empty
	 * (once per user per process start: covers power loss before the
	 * journal header reached the disk) */
	int sweep;
	uint64_t max_upload_bytes; /* 0 = MEDIA_UPLOAD_TOTAL_DEFAULT */
	unsigned db_flags;         /* extra media_db flags (MEDIA_DB_EXCLUSIVE) */
	/* An upload batch whose added files average at least this many bytes
	 * is extracted on two threads (hashing and writing are per file, the
	 * zip is read-only); 0 = MEDIA_PARALLEL_MIN, UINT64_MAX = never. */
	uint64_t parallel_min;
	/* Tests only: called at each crash point; NULL in production. */
	void (*hook)(void *arg, enum media_hook point);
	void *hook_arg;
};

struct media_srv;

/* Open the media of the user directory userdir (which must exist):
 * creates media/ and media.db when missing, upgrades schema 3, and replays
 * the journal of an interrupted request.  o may be NULL (defaults:
 * durable, no sweep).  Free with media_srv_close. */
enum status media_srv_open(const char *userdir, const struct media_opts *o, struct media_srv **out,
                           struct errinfo *e);
void media_srv_close(struct media_srv *m);
/* For a handle kept between requests, under the same locks as a request:
 * 1 when it may serve another request - the user directory, media/, the
 * journal and media.db are the same files as when it was opened, the
 * journal is empty, and no other connection has committed to the DB
 * since media_srv_mark (PRAGMA data_version); 0 otherwise (close it and
 * open a new one).  A few stat calls and one SQLite step. */
int media_srv_current(struct media_srv *m);
/* Record the DB's identity and data_version as the handle leaves them
 * (done by media_srv_open; the handle's own commits do not change it). */
enum status media_srv_mark(struct media_srv *m, struct errinfo *e);

/* The media USN (meta.last_usn): what begin reports and `meta` must
 * report as media_usn. */
enum status media_srv_usn(struct media_srv *m, int32_t *usn, struct errinfo *e);
enum status media_srv_meta(struct media_srv *m, struct media_meta *out, struct errinfo *e);
struct media_db *media_srv_db(struct media_srv *m);

/* ---- result wrapper (§5.1) ---- */
/* out += {"data":<data_json>,"err":""} */
enum status media_srv_wrap(struct buf *out, const char *data_json, size_t len, struct errinfo *e);
/* out += {"err":"<msg>"} (the client shows msg; the official server never
 * sends it). */
enum status media_srv_wrap_err(struct buf *out, const char *msg, struct errinfo *e);

/* ---- begin (§5.2) ---- */
/* client_version: the request's "v" (legacy: multipart field v or GET
 * query v); empty or NULL -> ST_INVALID ("missing client version").
 * hkey: the request's host key, echoed as "sk".  out +=
 * {"data":{"usn":N,"sk":"<hkey>"},"err":""}. */
enum status media_srv_begin(struct media_srv *m, const char *client_version, const char *hkey,
                            struct buf *out, struct errinfo *e);
/* The same from the JSON body {"v":"..."}. */
enum status media_srv_begin_json(struct media_srv *m, const char *json, size_t len,
                                 const char *hkey, struct buf *out, struct errinfo *e);

/* ---- mediaChanges (§5.3) ---- */
/* out += {"data":[[fname,usn,sha1hex|""],...],"err":""}: rows with
 * usn > last_usn, ascending, at most 1000. */
enum status media_srv_changes(struct media_srv *m, int32_t last_usn, struct buf *out,
                              struct errinfo *e);
/* From the body {"lastUsn":i32}. */
enum status media_srv_changes_json(struct media_srv *m, const char *json, size_t len,
                                   struct buf *out, struct errinfo *e);

/* ---- uploadChanges (§5.4) ---- */
struct media_upload_result {
	uint32_t processed;                           /* _meta entries handled (all of them) */
	int32_t current_usn;                          /* last_usn after the upload */
	uint32_t added, replaced, removed, unchanged; /* for the log */
};
/* Apply the zip at zip_path (the decoded request body, spooled by the
 * server; it is only read).  Every rule of §5.4 is checked before
 * anything is applied; any violation -> ST_INVALID and nothing changes.
 * res receives the counts; out (may be NULL) += {"data":[processed,usn],
 * "err":""}. */
enum status media_srv_upload(struct media_srv *m, const char *zip_path,
                             struct media_upload_result *res, struct buf *out, struct errinfo *e);
/* The same for a zip held in memory (zip[0..len), only read, not kept):
 * what the server uses for bodies up to its in-memory spool limit. */
enum status media_srv_upload_mem(struct media_srv *m, const void *zip, size_t len,
                                 struct media_upload_result *res, struct buf *out,
                                 struct errinfo *e);

/* ---- downloadFiles (§5.5) ---- */
struct media_download {
	int fd;              /* the zip in an unlinked file, open for reading at
	                        offset 0; -1 when in memory */
	unsigned char *data; /* or the zip in memory (the caller frees it) */
	uint64_t size;       /* its length in bytes */
	uint32_t files;      /* members besides _meta (>= 1 for a non-empty request) */
	int in_memory;       /* data is set, fd is -1 */
	int32_t last_usn;    /* usn of the last file in the zip */
	/* The files are every live row with a usn from the first's to the
	 * last's, in usn order: what a client fetching everything asks for,
	 * so its next request is likely media_srv_download_after(last_usn). */
	int consecutive;
	int cut; /* the selection stopped at the 2.5 MiB mark */
};

/* The names of a selection, in zip order. */
struct media_dl_sel {
	size_t n;
	char names[MEDIA_ZIP_FILES_MAX][MEDIA_NAME_MAX + 1];
};
/* Largest selection (sum of file sizes) the next downloads build in
 * memory; 0 = always a file.  MEDIA_DL_MEM_MAX after open.  The server
 * lowers it to 0 when its budget for reply memory is spent. */
void media_srv_set_dl_mem_max(struct media_srv *m, uint64_t max);
/* Build the reply zip for names[0..n): ST_INVALID when n > 25; ST_CONFLICT
 * when a name has no live row, or its file is missing or not what the DB
 * says (the row is then forgotten: deleted without a USN change, §5.5
 * step 3).  The zip holds a prefix of names (stopping after the file that
 * passes 2.5 MiB), members "0".."k-1" and _meta {"0":name,...}.  The
 * caller streams dl->fd and closes it. */
enum status media_srv_download(struct media_srv *m, const char *const *names, size_t n,
                               struct media_download *dl, struct errinfo *e);
/* The names of a body {"files":[...]} (at most 25, else ST_INVALID):
 * names[0..*n) point into *hold, which media_dl_names_free releases. */
enum status media_dl_names_json(const char *json, size_t len, const char **names, size_t *n,
                                void **hold, struct errinfo *e);
void media_dl_names_free(void *hold);
/* A speculative reply: the zip a client fetching everything would ask for
 * after usn `after` (the next live rows in usn order, cut as above),
 * built in memory; sel gets its names.  ST_NOTFOUND when no live row
 * follows, ST_TOOBIG when it is over the in-memory limit; otherwise as
 * media_srv_download (a file found missing is forgotten the same way). */
enum status media_srv_download_after(struct media_srv *m, int32_t after, struct media_download *dl,
                                     struct media_dl_sel *sel, struct errinfo *e);
/* 1 when a request for names[0..n) selects exactly the files of sel (the
 * same names in the same order, its walk stopping where dl's did). */
int media_dl_sel_matches(const struct media_dl_sel *sel, const struct media_download *dl,
                         const char *const *names, size_t n);
/* From the body {"files":[...]}. */
enum status media_srv_download_json(struct media_srv *m, const char *json, size_t len,
                                    struct media_download *dl, struct errinfo *e);

/* ---- mediaSanity (§5.6) ---- */
/* *ok = local == total_nonempty_files; out (may be NULL) +=
 * {"data":"OK"|"mediaSanity","err":""}. */
enum status media_srv_sanity(struct media_srv *m, uint32_t local, int *ok, struct buf *out,
                             struct errinfo *e);
/* From the body {"local":u32}. */
enum status media_srv_sanity_json(struct media_srv *m, const char *json, size_t len,
                                  struct buf *out, struct errinfo *e);

/* ---- administration (anki-sync-admin) ---- */
enum media_issue {
	MI_ROW_WITHOUT_FILE, /* live row, no file */
	MI_FILE_WITHOUT_ROW, /* file, no live row */
	MI_SIZE_MISMATCH,    /* file size != row size */
	MI_HASH_MISMATCH,    /* SHA-1 != row csum (MEDIA_CHECK_HASH only) */
	MI_NOT_A_FILE,       /* directory, symlink, ... in the media folder */
	MI_TEMP_FILE,        /* one of our temporaries (none after open) */
	MI_BAD_ROW,          /* live row with a name or csum the protocol cannot carry */
	MI_TOTALS,           /* meta totals differ from the rows (name = "") */
	MI_COUNT
};
const char *media_srv_issue_name(enum media_issue k);

#define MEDIA_CHECK_HASH 1u /* also re-hash every file (reads everything) */

struct media_check {
	int64_t rows, live_rows, files;
	uint64_t issues[MI_COUNT];
	uint64_t total_issues;
	struct media_meta meta;   /* as stored */
	struct media_meta actual; /* recomputed from the rows */
};
typedef void (*media_issue_fn)(void *arg, enum media_issue kind, const char *name);
/* Compare the DB with the folder; fn (may be NULL) is called per issue.
 * Read-only. */
enum status media_srv_check(struct media_srv *m, unsigned flags, struct media_check *out,
                            media_issue_fn fn, void *arg, struct errinfo *e);

struct media_reset_result {
	int32_t old_usn, new_usn;
	int64_t rows_cleared;
	char moved_to[MAX_NAME_BYTES + 1]; /* dir name under userdir, "" if the folder was empty */
};
/* reset-media: forget the server's media state so every client re-uploads
 * (the cure for clients stuck at "checked: N"): delete every row, zero the
 * totals and raise last_usn by one (never lower it, §8.5 item 43: a client
 * whose lastUsn differs fetches changes, finds none, fails mediaSanity,
 * resets itself and uploads everything).  The files are kept: the folder
 * is moved aside to <userdir>/media.reset-YYYYMMDD-HHMMSS[-N] and an empty
 * media/ takes its place, so no file is left without a row. */
enum status media_srv_reset(struct media_srv *m, struct media_reset_result *res, struct errinfo *e);

#endif
