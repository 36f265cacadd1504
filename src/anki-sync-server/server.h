/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * server.h - anki-sync-server's table of contents: configuration, the
 * per-user runtime state, the sync-method table, and the functions each
 * file of the program exports (sync-protocol.md §1-§4, §6).
 *
 * Concurrency model:
 *   - one thread per HTTP connection (httpd.h);
 *   - the user table (struct users) is swapped whole on reload, under
 *     srv->users_lock (read-locked only long enough to copy what a request
 *     needs: never during a password hash);
 *   - each user has a struct ustate with its own mutex that serialises
 *     everything touching that user's collection or sync session; users
 *     never wait on each other.  The mutex is taken with a bound
 *     (USTATE_LOCK_WAIT_MS); past it the request gets 409, the protocol's
 *     "another sync is in progress" answer;
 *   - while the server has a user's collection open it also holds an
 *     flock on <user dir>/.ankihost.lock, so anki-sync-admin never edits a
 *     collection the server is using.
 */
#ifndef ANKIHOST_SYNC_SERVER_H
#define ANKIHOST_SYNC_SERVER_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "httpd.h"
#include "bounds.h"
#include "status.h"
#include "syncproto.h"
#include "media_srv.h"
#include "users.h"

/* A request waits at most this long for its user's lock; the official
 * client's stall timeout is 30-60 s, so the answer (409) arrives first. */
#define USTATE_LOCK_WAIT_MS 20000
/* A collection no session holds is closed once idle this long (checked at
 * each reaper tick): requests in a row (a device's meta, then its sync;
 * status checks) reuse the open connection instead of reopening the file,
 * its WAL and shared-memory index each time. */
#define USTATE_COL_IDLE_MS 2000
/* The flock against anki-sync-admin: admin operations are short. */
#define USTATE_FLOCK_WAIT_MS 10000
/* JSON bodies of hostKey/meta and EmptyInput methods are a few bytes;
 * 1 MiB is generous and keeps a hostile body out of memory. */
#define SMALL_JSON_MAX (1u << 20)
#define LOCK_FILE_NAME ".ankihost.lock"
/* An uploadChanges body (the decoded zip) is kept in memory up to this
 * size - the official client sends 2.5 MiB plus at most one file per
 * batch - and all such bodies together up to MEDIA_SPOOL_MEM_TOTAL; a
 * body past either limit moves to a file beside the collection, as full
 * uploads do.  So memory for upload bodies never exceeds
 * MEDIA_SPOOL_MEM_TOTAL (+ one body's growth step) whatever the number of
 * connections. */
#define MEDIA_SPOOL_MEM_MAX (8u * 1024 * 1024)
#define MEDIA_SPOOL_MEM_TOTAL (64u * 1024 * 1024)
/* Freed body buffers kept for the next uploads (counted in the total
 * above), so a batch does not pay for fresh pages (page faults) each
 * time; given back when the server is idle (ustate_reap). */
#define MEDIA_SPOOL_POOL 4
/* downloadFiles zips built in memory (up to twice media_srv.h
 * MEDIA_DL_MEM_MAX each while built, then the reply until it is sent, and
 * the replies built ahead): all together at most this much; past it a
 * reply is built in a file as before, and none is built ahead. */
#define MEDIA_DL_MEM_TOTAL (64u * 1024 * 1024)
#define MEDIA_DL_MEM_SLACK (64u * 1024) /* zip headers and _meta */

/* ---- configuration (main.c) ---- */
struct server_config {
	char base[MAX_PATH_BYTES];
	char host[64];
	unsigned port;
	long long megs;
	uint64_t payload_limit;      /* MAX_SYNC_PAYLOAD_MEGS MiB: legacy raw body */
	uint64_t uncompressed_limit; /* 3x: any decompressed body, upload size */
	enum syncproto_ip_source ip_source;
	int passwords_hashed;
	char users_file[MAX_PATH_BYTES]; /* "" = none */
	char cred_dir[MAX_PATH_BYTES];   /* $CREDENTIALS_DIRECTORY or "" */
	unsigned session_timeout;        /* seconds */
	unsigned shutdown_grace;         /* seconds */
	unsigned max_connections;
	int metrics; /* serve /metrics */
};

/* ---- the sync methods (routes.c) ---- */
enum smethod {
	SM_HOSTKEY,
	SM_META,
	SM_START,
	SM_APPLY_GRAVES,
	SM_APPLY_CHANGES,
	SM_CHUNK,
	SM_APPLY_CHUNK,
	SM_SANITY_CHECK,
	SM_FINISH,
	SM_ABORT,
	SM_UPLOAD,
	SM_DOWNLOAD,
	SM_MEDIA_BEGIN,
	SM_MEDIA_CHANGES,
	SM_MEDIA_UPLOAD,
	SM_MEDIA_DOWNLOAD,
	SM_MEDIA_SANITY,
	SM_COUNT
};

/* ---- metrics (metrics.c) ---- */
struct umetrics {
	atomic_uint_fast64_t requests[SM_COUNT];
	atomic_uint_fast64_t failures[SM_COUNT];
	atomic_uint_fast64_t usec[SM_COUNT]; /* summed durations */
	atomic_uint_fast64_t bytes_in;
	atomic_uint_fast64_t bytes_out;
	atomic_uint_fast64_t full_uploads;
	atomic_uint_fast64_t full_downloads;
	atomic_uint_fast64_t normal_syncs;
};

/* ---- per-user runtime state (ustate.c) ---- */
struct sync_session;
struct media_srv;

struct ustate {
	struct ustate *next;
	char name[USERS_NAME_MAX + 1];
	char dir[MAX_PATH_BYTES];
	char colpath[MAX_PATH_BYTES];
	pthread_mutex_t lock;
	int lockfd; /* <dir>/.ankihost.lock, -1 until first use */
	int flocked;
	atomic_int dir_ready; /* dir, media/ exist; leftovers cleaned */
	sqlite3 *col;         /* open collection or NULL (held with the flock) */
	int media_swept;      /* media temporaries swept once since start */
	/* The user's media handle (media_srv.h), kept between /msync/
	 * requests so that each does not open media.db again (schema, WAL
	 * index); NULL when closed.  Used only with the lock and the flock
	 * held, checked with media_srv_current first (the flock is dropped
	 * between requests, so anki-sync-admin may have acted); closed when
	 * idle USTATE_COL_IDLE_MS, when a request fails with a 500-class
	 * status, when the user leaves the users table, and at shutdown. */
	struct media_srv *media;
	/* The downloadFiles reply a client fetching all media most likely
	 * asks for next, built while it was busy with the previous one
	 * (media_prefetch); NULL when none.  Same locking as media; freed
	 * with it (ustate_media_close) and by the next downloadFiles. */
	struct dl_prefetch *prefetch;
	struct sync_session *session;
	int64_t last_used_ms; /* CLOCK_MONOTONIC, at the end of the last request */
	struct umetrics m;
};

/* A normal-sync session (phase 2 fills in state).  abort() rolls back and
 * frees state; it runs with the user's lock held and the collection open. */
struct sync_session {
	char skey[SYNC_SKEY_MAX + 1];
	time_t started;
	int64_t last_used_ms; /* CLOCK_MONOTONIC (ustate_mono_ms): immune to clock steps */
	void *state;
	void (*abort)(struct ustate *u, struct sync_session *s);
};

struct server {
	struct server_config cfg;
	pthread_rwlock_t users_lock;
	struct users users;           /* environment + users file, merged */
	pthread_mutex_t ustates_lock; /* guards the list only */
	struct ustate *ustates;
	struct umetrics anon; /* requests without a known user */
	atomic_uint_fast64_t login_failures;
	atomic_uint_fast64_t prefetch_built; /* media_prefetch replies made */
	atomic_uint_fast64_t prefetch_used;  /* ... that answered a request */
	atomic_int active_sessions;
	atomic_int stopping; /* shutdown: long checks give up */
	/* uploadChanges bodies in memory: bytes allocated for them (in use or
	 * pooled), and the pool of free buffers (under spool_lock) */
	atomic_uint_fast64_t spool_mem;
	pthread_mutex_t spool_lock;
	struct buf spool_pool[MEDIA_SPOOL_POOL];
	int spool_pooled;
	atomic_uint_fast64_t dl_mem; /* bytes of downloadFiles zips in memory */
	struct httpd *httpd;
};

/* users.c-level operations of the server (main.c) */
enum status server_reload_users(struct server *srv, struct errinfo *e);

/* ustate.c */
/* The state of user name, created on first use.  Never freed before
 * server shutdown, so the pointer stays valid. */
struct ustate *ustate_get(struct server *srv, const char *name);
/* Lock the user (bounded wait): ST_BUSY when it timed out.  Also creates
 * the user's directory the first time. */
enum status ustate_lock(struct server *srv, struct ustate *u, struct errinfo *e);
void ustate_unlock(struct ustate *u);
/* With the user locked: open the collection (creating it when missing and
 * create != 0), taking the admin flock.  ST_NOTFOUND when missing and
 * !create. */
enum status ustate_col_open(struct server *srv, struct ustate *u, int create, struct errinfo *e);
/* Close the collection (rolling back anything uncommitted) and drop the
 * flock. */
void ustate_col_close(struct ustate *u);
/* Take/drop only the admin flock (for file-level work without SQLite). */
enum status ustate_flock(struct ustate *u, struct errinfo *e);
void ustate_funlock(struct ustate *u);
/* With the user locked: close the kept media handle, if any. */
void ustate_media_close(struct ustate *u);
/* Close the kept media handles of users no longer in the users table
 * (after a reload); a user busy right now is left to the reaper. */
void ustate_media_forget_absent(struct server *srv);
/* Abort the user's normal sync session if there is one (rollback). */
void ustate_session_abort(struct server *srv, struct ustate *u, const char *why);
/* Reaper tick: expire sessions idle longer than the timeout (measured on
 * the monotonic clock from the end of their last request) and close the
 * collections no session holds, and the media handles, once idle
 * USTATE_COL_IDLE_MS. */
void ustate_reap(struct server *srv);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t ustate_mono_ms(void);
/* Shutdown: abort sessions, close collections, free every state. */
void ustate_free_all(struct server *srv);

/* colcreate.c: make a new empty server collection at path (atomically;
 * path must not exist). */
enum status sync_col_create(const char *path, struct errinfo *e);
/* colcreate.c: a schema-11 copy of the (quiesced) collection at path for
 * a legacy download, as an open descriptor of an unlinked file (*fd at
 * offset 0, *size bytes).  The stored file is not changed. */
enum status sync_col_legacy_copy(const char *path, int *fd, uint64_t *size, struct errinfo *e);

/* ---- priorities (prio.c) ---- */

/* Lower the calling connection thread's CPU and I/O priority for bulk
 * work (full upload/download, media transfers, password hashing), so other
 * users' requests are not slowed by it.  Idempotent; failures are only
 * logged (the work still runs, at normal priority). */
void prio_background(void);

/* ---- requests (routes.c, handlers.c) ---- */
enum payload_kind { PAYLOAD_JSON, PAYLOAD_FILE };

struct sreq; /* one sync request (routes.c) */

typedef void (*smethod_fn)(struct sreq *q);

struct smethod_def {
	const char *name;
	enum smethod id;
	enum payload_kind payload;
	int auth;          /* needs a host key */
	uint64_t json_max; /* JSON payload cap; 0 = the uncompressed limit */
	smethod_fn handle; /* NULL: not implemented yet (400) */
};

/* What handlers see of a request. */
struct server *sreq_server(struct sreq *q);
struct ustate *sreq_user(struct sreq *q);
int sreq_version(struct sreq *q); /* 8..11; 10 for multipart */
const char *sreq_skey(struct sreq *q);
const char *sreq_hkey(struct sreq *q);
const struct buf *sreq_json(struct sreq *q); /* PAYLOAD_JSON: body, NUL-terminated */
/* PAYLOAD_FILE: the decoded body in a temporary file beside the user's
 * collection; the handler may take it (rename) with sreq_take_file. */
const char *sreq_file(struct sreq *q, uint64_t *size, int *truncated);
/* uploadChanges: the decoded body when it was kept in memory (then
 * sreq_file gives NULL), else NULL. */
const struct buf *sreq_mem_body(struct sreq *q);
void sreq_take_file(struct sreq *q);
void sreq_set_login(struct sreq *q, const char *name); /* for the access log */

/* Replies: success bodies are framed per version (zstd + size header for
 * v11, plain for legacy); errors are the decimal code as text. */
void sreq_reply_ok(struct sreq *q, const void *data, size_t len);
void sreq_reply_json(struct sreq *q, const char *json);
void sreq_reply_error(struct sreq *q, int status, const char *why);
/* Stream size bytes of fd (taken: closed when done). */
void sreq_reply_fd(struct sreq *q, int fd, uint64_t size);
/* The same with the given zstd level for v11 replies (any level decodes
 * the same; sreq_reply_fd uses ZSTDIO_LEVEL); dl_mem bytes are taken off
 * srv->dl_mem once the stream is done. */
void sreq_reply_fd_level(struct sreq *q, int fd, uint64_t size, int level, uint64_t dl_mem);
/* The same for data[0..size) in memory (malloc'd; the reply takes it and
 * sends the compressed frame without another copy). */
void sreq_reply_mem_level(struct sreq *q, unsigned char *data, size_t size, int level,
                          uint64_t dl_mem);

/* handlers.c: shared request helpers (each answers the error itself and
 * returns NULL/0 when the request cannot go on) */
struct json_t;
struct json_t *sreq_body_object(struct sreq *q); /* 400 "invalid json" */
int sreq_empty_input_ok(struct sreq *q);         /* EmptyInput (§1.4.3) */
int sreq_lock_user(struct sreq *q);              /* 409 when busy */
void sreq_reply_status(struct sreq *q, const struct errinfo *e);

/* handlers.c */
void handle_host_key(struct sreq *q);
void handle_meta(struct sreq *q);
void handle_upload(struct sreq *q);
void handle_download(struct sreq *q);
void handle_abort(struct sreq *q);

/* sync_handlers.c: the normal sync (start ... finish), on col_sync.h */
void handle_start(struct sreq *q);
void handle_apply_graves(struct sreq *q);
void handle_apply_changes(struct sreq *q);
void handle_chunk(struct sreq *q);
void handle_apply_chunk(struct sreq *q);
void handle_sanity_check(struct sreq *q);
void handle_finish(struct sreq *q);

/* media_handlers.c: /msync/ over the library's media_srv.h */
void handle_media_begin(struct sreq *q);
void handle_media_changes(struct sreq *q);
void handle_media_upload(struct sreq *q);
void handle_media_download(struct sreq *q);
/* A reply built ahead (media_handlers.c). */
struct dl_prefetch {
	struct server *srv;
	struct media_srv *m;      /* the handle it was built on */
	int32_t media_usn;        /* the media usn then */
	int version;              /* the sync version its body is framed for */
	struct media_download dl; /* the selection's facts (dl.data moved to body) */
	struct media_dl_sel sel;
	unsigned char *body; /* the reply body: zstd frame (v11) or the zip */
	size_t body_len;
	uint64_t charged; /* bytes charged to srv->dl_mem */
};
void media_prefetch_free(struct dl_prefetch *pf);
/* After a downloadFiles reply of a client walking the media in usn order
 * went out: build the next reply (media_srv_download_after(after)) while
 * the client is busy with it, if the user is free and memory allows. */
void media_prefetch(struct server *srv, struct ustate *u, int32_t after, int version);
/* Ask routes_done to call media_prefetch once q's reply is out. */
void sreq_arm_prefetch(struct sreq *q, int32_t after);
/* A body already in memory and framed for q's version; orig_len is its
 * size before framing (the anki-original-size of v11).  free_fn(ctx)
 * runs once it is sent or dropped. */
void sreq_reply_body(struct sreq *q, const void *body, size_t len, size_t orig_len,
                     void (*free_fn)(void *ctx), void *ctx);
void handle_media_sanity(struct sreq *q);

/* routes.c: the routes of the HTTP server */
extern const struct smethod_def smethods[];
extern const size_t smethods_count;
size_t routes_build(struct server *srv, struct httpd_route *out, size_t cap);
/* Free the pooled upload-body buffers (idle server; shutdown). */
void routes_spool_trim(struct server *srv);
void routes_done(struct httpd_req *r, void *ctx, const struct httpd_done_info *info, void *arg);

/* metrics.c */
void metrics_record(struct umetrics *m, enum smethod meth, int status, uint64_t in, uint64_t out,
                    uint64_t usec);
enum status metrics_render(struct server *srv, struct buf *out, struct errinfo *e);
const char *metrics_method_name(enum smethod meth);

int64_t now_ms(void);

#endif
