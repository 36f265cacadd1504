/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * main.c - anki-connectd: the AnkiConnect API (ankiconnect.md) served from
 * a collection file, without Anki.
 *
 *   anki-connectd --collection PATH [--config FILE]
 *
 * Start-up: settings, the collection (created when missing; a collection
 * held by another process is an error, not a wait), the API log, the
 * listening socket.  Then the main thread only waits for a signal
 * (signalfd, no timer: an idle daemon uses no CPU); SIGTERM/SIGINT stop
 * accepting, let requests finish (10 s at most), close the collection
 * cleanly and exit 0.
 */
#include <curl/curl.h>
#include <sqlite3.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ac.h"
#include "httpd.h"
#include "log.h"

extern char **environ;

#define SHUTDOWN_GRACE_SECS 10

static void usage(FILE *f)
{
	fprintf(f, "usage: anki-connectd --collection PATH [--config FILE]\n"
	           "       anki-connectd --help\n"
	           "Serves the AnkiConnect API (version 6) from the Anki collection at PATH\n"
	           "(created when missing; media in the .media folder beside it).\n"
	           "The API key is read from a file (apiKeyFile), never from the command line.\n");
	ac_settings_usage(f);
	fprintf(f,
	        "Logging: LOG_LEVEL=error|warn|info|debug (default info); one line per request.\n");
}

static int check_table(void)
{
	for (size_t i = 1; i < ac_nactions; i++)
		if (strcmp(ac_actions[i - 1].name, ac_actions[i].name) >= 0) {
			log_error("action table out of order at %s", ac_actions[i].name);
			return -1;
		}
	return 0;
}

static int run(const char *col_path, const char *cfg_file)
{
	if (check_table())
		return 1;
	struct ac_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		fatalx("out of memory");
	struct errinfo e;
	/* SQLite's allocation statistics take a global mutex on every malloc,
	 * which parallel readers would fight over; nothing here reads them */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* before any thread starts: libcurl's global set-up is not thread-safe */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("libcurl initialisation failed");
	if (ac_settings_load(&srv->set, cfg_file, environ, &e)) {
		log_error("%s", e.msg);
		free(srv);
		return 2;
	}
	pthread_mutex_init(&srv->apilog_lock, NULL);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sigdelset(&mask, SIGPIPE);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		fatal("signalfd");

	if (ac_server_open(srv, col_path, &e)) {
		log_error("cannot open the collection: %s", e.msg);
		ac_settings_free(&srv->set);
		free(srv);
		return 1;
	}
	if (srv->set.api_log_path) {
		srv->apilog = fopen(srv->set.api_log_path, "we");
		if (!srv->apilog)
			log_warn("apiLogPath %s: cannot open; API logging is off",
			         srv->set.api_log_path);
	}
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	httpd_addr(srv->set.bind_addr, srv->set.port, &ss, &sl);
	struct httpd_route routes[8];
	size_t nroutes = ac_transport_routes(srv, routes, 8);
	struct httpd_config hc = {
	    .addr = (struct sockaddr *)&ss,
	    .addrlen = sl,
	    .routes = routes,
	    .nroutes = nroutes,
	    .done = ac_transport_done,
	    .done_arg = srv,
	    .conn_limit = srv->set.max_conns,
	    .conn_timeout = 120,
	};
	if (httpd_start(&hc, &srv->httpd, &e)) {
		log_error(
		    "Failed to listen on port %u (%s): %s. Make sure it is available and is not "
		    "in use.",
		    srv->set.port, srv->set.bind_addr, e.msg);
		ac_server_close(srv);
		ac_settings_free(&srv->set);
		free(srv);
		return 1;
	}
	log_info("listening on %s:%u; collection %s, media %s; %s; %zu trusted origins",
	         srv->set.bind_addr, httpd_port(srv->httpd), srv->col_path, srv->media_dir,
	         srv->set.api_key ? "API key required" : "no API key", srv->set.ncors);

	for (;;) {
		struct pollfd pf = {sfd, POLLIN, 0};
		int n = poll(&pf, 1, -1);
		if (n < 0 && errno != EINTR)
			fatal("poll");
		if (n <= 0)
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
			continue;
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: nothing to reload (restart to apply new settings)");
			continue;
		}
		log_info("signal %d: stopping", (int)si.ssi_signo);
		break;
	}
	httpd_quiesce(srv->httpd);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (httpd_inflight(srv->httpd) > 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec >= SHUTDOWN_GRACE_SECS) {
			log_warnx("%u requests still running: cutting them off",
			          httpd_inflight(srv->httpd));
			break;
		}
		struct pollfd pf = {sfd, POLLIN, 0};
		if (poll(&pf, 1, 50) > 0) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si &&
			    si.ssi_signo != SIGHUP)
				break;
		}
	}
	httpd_stop(srv->httpd);
	ac_server_close(srv);
	if (srv->apilog)
		fclose(srv->apilog);
	pthread_mutex_destroy(&srv->apilog_lock);
	ac_settings_free(&srv->set);
	close(sfd);
	curl_global_cleanup();
	log_info("stopped after %llu requests; collection closed",
	         (unsigned long long)atomic_load(&srv->requests));
	free(srv);
	return 0;
}

int main(int argc, char **argv)
{
	if (log_init("anki-connectd") != 0)
		fprintf(stderr, "anki-connectd: LOG_LEVEL must be error, warn, info or debug\n");
	const char *col = NULL, *cfg = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--collection") == 0 && i + 1 < argc) {
			col = argv[++i];
		} else if (strncmp(argv[i], "--collection=", 13) == 0) {
			col = argv[i] + 13;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			cfg = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			cfg = argv[i] + 9;
		} else {
			fprintf(stderr, "anki-connectd: unknown argument %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!col) {
		fprintf(stderr, "anki-connectd: --collection PATH is required\n");
		usage(stderr);
		return 2;
	}
	return run(col, cfg);
}
