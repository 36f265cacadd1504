/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * metrics.c - counters per user and method, rendered in the Prometheus
 * text format (version 0.0.4) for GET /metrics.
 *
 * Counters are atomics updated once per finished request, so recording
 * never blocks a request.  A failure is a status >= 400 or a response
 * that did not reach the client completely; an upload answered with the
 * corrupt or size text is a 200 and counts as a request, not a failure
 * (the protocol reports those in the body).
 */
#include <stdio.h>
#include <string.h>

#include "server.h"

static const char *const method_names[SM_COUNT] = {
    [SM_HOSTKEY] = "hostKey",
    [SM_META] = "meta",
    [SM_START] = "start",
    [SM_APPLY_GRAVES] = "applyGraves",
    [SM_APPLY_CHANGES] = "applyChanges",
    [SM_CHUNK] = "chunk",
    [SM_APPLY_CHUNK] = "applyChunk",
    [SM_SANITY_CHECK] = "sanityCheck2",
    [SM_FINISH] = "finish",
    [SM_ABORT] = "abort",
    [SM_UPLOAD] = "upload",
    [SM_DOWNLOAD] = "download",
    [SM_MEDIA_BEGIN] = "msync/begin",
    [SM_MEDIA_CHANGES] = "msync/mediaChanges",
    [SM_MEDIA_UPLOAD] = "msync/uploadChanges",
    [SM_MEDIA_DOWNLOAD] = "msync/downloadFiles",
    [SM_MEDIA_SANITY] = "msync/mediaSanity",
};

const char *metrics_method_name(enum smethod meth)
{
	return (unsigned)meth < SM_COUNT ? method_names[meth] : "other";
}

void metrics_record(struct umetrics *m, enum smethod meth, int status, uint64_t in, uint64_t out,
                    uint64_t usec)
{
	if ((unsigned)meth >= SM_COUNT)
		return;
	atomic_fetch_add(&m->requests[meth], 1);
	if (status >= 400 || status == 0)
		atomic_fetch_add(&m->failures[meth], 1);
	atomic_fetch_add(&m->usec[meth], usec);
	atomic_fetch_add(&m->bytes_in, in);
	atomic_fetch_add(&m->bytes_out, out);
}

/* A label value with \, " and newline escaped. */
static void label(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	for (; *s && o + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

static enum status render_user(struct buf *b, const char *name, struct umetrics *m,
                               struct errinfo *e)
{
	char u[2 * USERS_NAME_MAX + 8];
	label(u, sizeof u, name);
	enum status st = ST_OK;
	for (int i = 0; i < SM_COUNT && st == ST_OK; i++) {
		uint64_t n = atomic_load(&m->requests[i]);
		if (!n)
			continue;
		const char *mn = method_names[i];
		st = buf_printf(
		    b, e,
		    "ankisync_requests_total{user=\"%s\",method=\"%s\"} %llu\n"
		    "ankisync_request_failures_total{user=\"%s\",method=\"%s\"} %llu\n"
		    "ankisync_request_duration_seconds_sum{user=\"%s\",method=\"%s\"} %.6f\n"
		    "ankisync_request_duration_seconds_count{user=\"%s\",method=\"%s\"} %llu\n",
		    u, mn, (unsigned long long)n, u, mn,
		    (unsigned long long)atomic_load(&m->failures[i]), u, mn,
		    (double)atomic_load(&m->usec[i]) / 1e6, u, mn, (unsigned long long)n);
	}
	if (st == ST_OK)
		st = buf_printf(b, e,
		                "ankisync_received_bytes_total{user=\"%s\"} %llu\n"
		                "ankisync_sent_bytes_total{user=\"%s\"} %llu\n"
		                "ankisync_syncs_total{user=\"%s\",kind=\"full_upload\"} %llu\n"
		                "ankisync_syncs_total{user=\"%s\",kind=\"full_download\"} %llu\n"
		                "ankisync_syncs_total{user=\"%s\",kind=\"normal\"} %llu\n",
		                u, (unsigned long long)atomic_load(&m->bytes_in), u,
		                (unsigned long long)atomic_load(&m->bytes_out), u,
		                (unsigned long long)atomic_load(&m->full_uploads), u,
		                (unsigned long long)atomic_load(&m->full_downloads), u,
		                (unsigned long long)atomic_load(&m->normal_syncs));
	return st;
}

enum status metrics_render(struct server *srv, struct buf *out, struct errinfo *e)
{
	pthread_rwlock_rdlock(&srv->users_lock);
	size_t nusers = srv->users.n;
	pthread_rwlock_unlock(&srv->users_lock);
	enum status st = buf_printf(
	    out, e,
	    "# HELP ankisync_requests_total Sync requests finished, by user and method.\n"
	    "# TYPE ankisync_requests_total counter\n"
	    "# HELP ankisync_request_failures_total Requests answered with an HTTP error or cut "
	    "off.\n"
	    "# TYPE ankisync_request_failures_total counter\n"
	    "# HELP ankisync_request_duration_seconds Time from request headers to the last byte "
	    "sent.\n"
	    "# TYPE ankisync_request_duration_seconds summary\n"
	    "# HELP ankisync_received_bytes_total Request body bytes (as sent, compressed).\n"
	    "# TYPE ankisync_received_bytes_total counter\n"
	    "# HELP ankisync_sent_bytes_total Response body bytes (as sent, compressed).\n"
	    "# TYPE ankisync_sent_bytes_total counter\n"
	    "# HELP ankisync_syncs_total Completed syncs by kind.\n"
	    "# TYPE ankisync_syncs_total counter\n"
	    "# HELP ankisync_active_sessions Normal-sync sessions open now.\n"
	    "# TYPE ankisync_active_sessions gauge\n"
	    "ankisync_active_sessions %d\n"
	    "# HELP ankisync_login_failures_total hostKey requests refused (403).\n"
	    "# TYPE ankisync_login_failures_total counter\n"
	    "ankisync_login_failures_total %llu\n"
	    "# HELP ankisync_media_prefetch_built_total downloadFiles replies built ahead for a "
	    "client fetching all media.\n"
	    "# TYPE ankisync_media_prefetch_built_total counter\n"
	    "ankisync_media_prefetch_built_total %llu\n"
	    "# HELP ankisync_media_prefetch_used_total Replies built ahead that answered the next "
	    "request.\n"
	    "# TYPE ankisync_media_prefetch_used_total counter\n"
	    "ankisync_media_prefetch_used_total %llu\n"
	    "# HELP ankisync_users Users configured.\n"
	    "# TYPE ankisync_users gauge\n"
	    "ankisync_users %zu\n",
	    atomic_load(&srv->active_sessions),
	    (unsigned long long)atomic_load(&srv->login_failures),
	    (unsigned long long)atomic_load(&srv->prefetch_built),
	    (unsigned long long)atomic_load(&srv->prefetch_used), nusers);
	if (st)
		return st;
	st = render_user(out, "", &srv->anon, e);
	pthread_mutex_lock(&srv->ustates_lock);
	struct ustate *list = srv->ustates;
	pthread_mutex_unlock(&srv->ustates_lock);
	/* The list only grows at its head; walking a snapshot is safe. */
	for (struct ustate *u = list; u && st == ST_OK; u = u->next)
		st = render_user(out, u->name, &u->m, e);
	return st;
}
