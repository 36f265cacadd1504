/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * main.c - anki-sync-server: a drop-in for Anki's official sync server
 * (sync-protocol.md §6): settings from the same environment variables,
 * users from SYNC_USER1..N, $CREDENTIALS_DIRECTORY and a users file,
 * signals, the main loop, and the two helper modes --hash-password and
 * --healthcheck.
 *
 * The main thread owns signals (signalfd) and the users-file watch
 * (inotify); HTTP requests run in their own threads (httpd.h).
 *   SIGHUP or a change of SYNC_USERS_FILE  → reload the user table;
 *   SIGTERM / SIGINT → stop accepting, let requests in flight finish for up
 *   to SYNC_SHUTDOWN_GRACE seconds, close collections, exit 0.  A second
 *   signal skips the wait.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "path.h"
#include "prompt.h"
#include "server.h"

extern char **environ;

static const struct config_def defs[] = {
    {"SYNC_BASE", CONFIG_STRING, NULL, 0, 0, "data root (default $HOME/.syncserver)"},
    {"SYNC_HOST", CONFIG_STRING, "0.0.0.0", 0, 0, "bind address, an IP literal"},
    {"SYNC_PORT", CONFIG_INT, "8080", 0, 65535, "bind port"},
    {"MAX_SYNC_PAYLOAD_MEGS", CONFIG_INT, "100", 1, 1048576, "payload limit in MiB"},
    {"SYNC_IP_HEADER", CONFIG_STRING, "ConnectInfo", 0, 0, "client IP source for the log"},
    {"PASSWORDS_HASHED", CONFIG_STRING, NULL, 0, 0, "set: passwords are PHC strings"},
    {"SYNC_USERS_FILE", CONFIG_STRING, NULL, 0, 0, "users file (name:PHC lines)"},
    {"SYNC_SESSION_TIMEOUT", CONFIG_INT, "1800", 1, 604800, "seconds before an idle sync expires"},
    {"SYNC_SHUTDOWN_GRACE", CONFIG_INT, "30", 0, 3600, "seconds requests get to finish at exit"},
    {"SYNC_MAX_CONNECTIONS", CONFIG_INT, "256", 4, 100000, "simultaneous connections"},
    {"SYNC_METRICS", CONFIG_BOOL, "true", 0, 0, "serve GET /metrics"},
};

/* SYNC_USER1, SYNC_USER2, ... (no leading zero) are the user variables. */
static int accept_user_var(const char *name)
{
	if (strncmp(name, "SYNC_USER", 9) != 0 || name[9] < '1' || name[9] > '9')
		return 0;
	for (const char *p = name + 10; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: anki-sync-server [--hash-password | --healthcheck | --help]\n"
	           "Settings come from the environment (see docs/sync-server.md):\n");
	for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
		fprintf(f, "  %-22s %s%s%s\n", defs[i].name, defs[i].help,
		        defs[i].defval ? ", default " : "", defs[i].defval ? defs[i].defval : "");
	fprintf(f, "  %-22s %s\n", "SYNC_USER1..N",
	        "user:password (or user:PHC with PASSWORDS_HASHED)");
}

static enum status load_config(struct config *cfg, struct server_config *sc, struct errinfo *e)
{
	enum status st = config_init(cfg, defs, sizeof defs / sizeof defs[0], e);
	if (st)
		return st;
	st = config_load_env(cfg, environ, "SYNC_", accept_user_var, e);
	if (st)
		return st;
	memset(sc, 0, sizeof *sc);
	const char *base = config_str(cfg, "SYNC_BASE");
	if (base && *base) {
		if (snprintf(sc->base, sizeof sc->base, "%s", base) >= (int)sizeof sc->base)
			return errinfo_set(e, ST_INVALID, "SYNC_BASE: path too long");
	} else {
		const char *home = getenv("HOME");
		if (!home || !*home)
			return errinfo_set(e, ST_INVALID,
			                   "Unable to determine home folder; please set SYNC_BASE");
		if (snprintf(sc->base, sizeof sc->base, "%s/.syncserver", home) >=
		    (int)sizeof sc->base)
			return errinfo_set(e, ST_INVALID, "HOME: path too long");
	}
	size_t bl = strlen(sc->base);
	while (bl > 1 && sc->base[bl - 1] == '/')
		sc->base[--bl] = '\0';
	snprintf(sc->host, sizeof sc->host, "%s", config_str(cfg, "SYNC_HOST"));
	sc->port = (unsigned)config_int(cfg, "SYNC_PORT");
	struct sockaddr_storage ss;
	socklen_t sl;
	if (httpd_addr(sc->host, sc->port, &ss, &sl))
		return errinfo_set(e, ST_INVALID, "SYNC_HOST: \"%s\" is not an IP address",
		                   sc->host);
	sc->megs = config_int(cfg, "MAX_SYNC_PAYLOAD_MEGS");
	sc->payload_limit = syncproto_payload_limit(sc->megs);
	sc->uncompressed_limit = syncproto_uncompressed_limit(sc->megs);
	if ((st = syncproto_ip_source_parse(config_str(cfg, "SYNC_IP_HEADER"), &sc->ip_source, e)))
		return st;
	sc->passwords_hashed = config_is_set(cfg, "PASSWORDS_HASHED");
	const char *uf = config_str(cfg, "SYNC_USERS_FILE");
	if (uf && *uf &&
	    snprintf(sc->users_file, sizeof sc->users_file, "%s", uf) >= (int)sizeof sc->users_file)
		return errinfo_set(e, ST_INVALID, "SYNC_USERS_FILE: path too long");
	const char *cd = getenv("CREDENTIALS_DIRECTORY");
	if (cd && *cd &&
	    snprintf(sc->cred_dir, sizeof sc->cred_dir, "%s", cd) >= (int)sizeof sc->cred_dir)
		return errinfo_set(e, ST_INVALID, "CREDENTIALS_DIRECTORY: path too long");
	sc->session_timeout = (unsigned)config_int(cfg, "SYNC_SESSION_TIMEOUT");
	sc->shutdown_grace = (unsigned)config_int(cfg, "SYNC_SHUTDOWN_GRACE");
	sc->metrics = config_bool(cfg, "SYNC_METRICS");
	sc->max_connections = (unsigned)config_int(cfg, "SYNC_MAX_CONNECTIONS");
	return ST_OK;
}

/* Build the user table: environment users, then the users file. */
static enum status load_users(const struct server_config *sc, struct users *out, int quiet_missing,
                              struct errinfo *e)
{
	users_init(out);
	enum status st = users_load_env(out, env_get, sc->passwords_hashed,
	                                sc->cred_dir[0] ? sc->cred_dir : NULL, e);
	if (st == ST_OK && sc->users_file[0]) {
		st = users_load_file(out, sc->users_file, e);
		if (st == ST_NOTFOUND) {
			if (!quiet_missing)
				log_info("users file %s does not exist yet", sc->users_file);
			st = ST_OK;
		}
	}
	if (st)
		users_free(out);
	return st;
}

enum status server_reload_users(struct server *srv, struct errinfo *e)
{
	struct users nu;
	enum status st = load_users(&srv->cfg, &nu, 1, e);
	if (st)
		return st;
	pthread_rwlock_wrlock(&srv->users_lock);
	struct users old = srv->users;
	srv->users = nu;
	pthread_rwlock_unlock(&srv->users_lock);
	log_info("reloaded users: %zu configured", nu.n);
	users_free(&old);
	ustate_media_forget_absent(srv);
	return ST_OK;
}

/* --hash-password: read a password (twice on a terminal) and print its
 * PHC string for PASSWORDS_HASHED or a users file. */
static int hash_password_mode(void)
{
	char pw[1024];
	enum prompt_result pr = prompt_new_password(pw, sizeof pw);
	if (pr != PROMPT_OK) {
		fprintf(stderr, "anki-sync-server: %s\n",
		        pr == PROMPT_NONE ? "no password given" : "the passwords differ");
		return 1;
	}
	char phc[AUTH_PHC_MAX];
	struct errinfo e;
	enum status st = auth_phc_hash(pw, strlen(pw), phc, sizeof phc, &e);
	OPENSSL_cleanse(pw, sizeof pw);
	if (st) {
		fprintf(stderr, "anki-sync-server: %s\n", e.msg);
		return 1;
	}
	printf("%s\n", phc);
	return 0;
}

/* --healthcheck: exit 0 when something accepts connections at
 * SYNC_HOST:SYNC_PORT (a wildcard host means this machine), else 1.
 * Silent, like the official binary. */
static int healthcheck_mode(void)
{
	/* Only the address matters here; other settings are the server's
	 * business (and may be absent from a container's health command). */
	struct config cfg;
	struct errinfo e;
	if (config_init(&cfg, defs, sizeof defs / sizeof defs[0], &e))
		return 1;
	if (config_load_env(&cfg, environ, NULL, NULL, &e)) {
		config_free(&cfg);
		return 1;
	}
	char host[64];
	snprintf(host, sizeof host, "%s", config_str(&cfg, "SYNC_HOST"));
	unsigned port = (unsigned)config_int(&cfg, "SYNC_PORT");
	config_free(&cfg);
	if (strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		snprintf(host, sizeof host, "::1");
	struct sockaddr_storage ss;
	socklen_t sl;
	if (httpd_addr(host, port, &ss, &sl))
		return 1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	int ok = connect(fd, (struct sockaddr *)&ss, sl) == 0;
	close(fd);
	return ok ? 0 : 1;
}

/* Watch the directory of the users file (editors and anki-sync-admin
 * replace it by rename, which a watch on the file itself would miss). */
static int watch_users_file(const char *path, const char **base)
{
	char dir[MAX_PATH_BYTES];
	if (path_dirname(dir, sizeof dir, path, NULL))
		return -1;
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	if (inotify_add_watch(fd, dir,
	                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
	                          IN_MOVED_FROM) < 0) {
		log_warn("cannot watch %s for changes (SIGHUP still reloads)", dir);
		close(fd);
		return -1;
	}
	return fd;
}

/* Drain inotify events; non-zero when one concerns the users file. */
static int users_file_changed(int fd, const char *base)
{
	int hit = 0;
	char evbuf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(fd, evbuf, sizeof evbuf);
		if (n <= 0)
			break;
		for (char *p = evbuf; p < evbuf + n;) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;
			if (ev->len && strcmp(ev->name, base) == 0)
				hit = 1;
			p += sizeof *ev + ev->len;
		}
	}
	return hit;
}

static void check_users_file_mode(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) == 0 && (sb.st_mode & 077))
		log_warnx("users file %s is readable by other users (mode %03o); chmod 600 it",
		          path, (unsigned)(sb.st_mode & 0777));
}

static void warn_user_gap(void)
{
	int last = 0;
	for (int i = 1; i < 1000; i++) {
		char v[32];
		snprintf(v, sizeof v, "SYNC_USER%d", i);
		if (getenv(v)) {
			if (last != i - 1)
				log_warnx("%s is ignored: SYNC_USER%d is not set (users are read "
				          "up to the "
				          "first missing number, as the official server does)",
				          v, last + 1);
			else
				last = i;
		}
	}
}

static int run(void)
{
	/* One thread per connection would give glibc up to 8 heaps per core,
	 * each keeping its own freed memory: with 20 users syncing that is a
	 * third of the peak RSS.  The work is SQLite and I/O, not malloc. */
	mallopt(M_ARENA_MAX, 2);
	/* Media replies and upload bodies are blocks of a few MiB, made and
	 * freed per request.  Left to glibc, each came from a fresh mmap (or
	 * a heap grown and trimmed again): ~30 page faults per downloadFiles,
	 * a quarter of the server's CPU in a first media sync on a virtual
	 * machine.  Blocks up to 8 MiB come from the heap and up to 32 MiB of
	 * freed heap is kept for the next request; memory stays bounded by
	 * the per-request limits, as before. */
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	/* With TZ unset, glibc stats /etc/localtime on every mktime(), and
	 * libzip calls mktime() twice per zip member read: 50 stat calls per
	 * uploadChanges.  TZ=":/etc/localtime" is the same zone, read once
	 * (a zone change then needs a restart, as for most daemons). */
	if (!getenv("TZ") && setenv("TZ", ":/etc/localtime", 0) != 0)
		log_warn("cannot set TZ");
	struct server *srv = calloc(1, sizeof *srv);
	if (!srv)
		fatalx("out of memory");
	struct config cfg;
	struct errinfo e;
	if (load_config(&cfg, &srv->cfg, &e))
		fatalx("%s", e.msg);
	config_free(&cfg);
	warn_user_gap();
	if (load_users(&srv->cfg, &srv->users, 0, &e))
		fatalx("%s", e.msg);
	if (srv->users.n == 0 && !srv->cfg.users_file[0])
		fatalx("No users defined; SYNC_USER1 env var should be set.");
	if (srv->cfg.users_file[0])
		check_users_file_mode(srv->cfg.users_file);
	if (path_mkdirs(srv->cfg.base, 0700, &e))
		fatalx("SYNC_BASE: %s", e.msg);
	pthread_rwlock_init(&srv->users_lock, NULL);
	pthread_mutex_init(&srv->ustates_lock, NULL);
	pthread_mutex_init(&srv->spool_lock, NULL);

	/* Signals go to the signalfd; threads started later inherit the mask. */
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

	struct sockaddr_storage ss;
	socklen_t sl;
	httpd_addr(srv->cfg.host, srv->cfg.port, &ss, &sl);
	struct httpd_route routes[8];
	size_t nroutes = routes_build(srv, routes, sizeof routes / sizeof routes[0]);
	struct httpd_config hc = {
	    .addr = (struct sockaddr *)&ss,
	    .addrlen = sl,
	    .routes = routes,
	    .nroutes = nroutes,
	    .done = routes_done,
	    .done_arg = srv,
	    .conn_limit = srv->cfg.max_connections,
	    .conn_timeout = 300,
	};
	if (httpd_start(&hc, &srv->httpd, &e))
		fatalx("couldn't bind to %s:%u: %s", srv->cfg.host, srv->cfg.port, e.msg);
	log_info("listening on %s:%u, data in %s, %zu users%s%s, payload limit %lld MiB",
	         srv->cfg.host, httpd_port(srv->httpd), srv->cfg.base, srv->users.n,
	         srv->cfg.users_file[0] ? " + users file " : "", srv->cfg.users_file,
	         srv->cfg.megs);

	const char *ubase = NULL;
	int ifd = srv->cfg.users_file[0] ? watch_users_file(srv->cfg.users_file, &ubase) : -1;
	int stop = 0;
	/* The reaper runs every tick: a quarter of the session timeout, at most
	 * 5 s, so a session expires within 1.25 x its timeout (+5 s). */
	int tick_ms = srv->cfg.session_timeout >= 20 ? 5000 : (int)srv->cfg.session_timeout * 250;
	while (!stop) {
		struct pollfd pf[2] = {{sfd, POLLIN, 0}, {ifd, POLLIN, 0}};
		int n = poll(pf, ifd >= 0 ? 2 : 1, tick_ms);
		if (n < 0 && errno != EINTR)
			fatal("poll");
		if (n > 0 && (pf[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGHUP) {
					if (server_reload_users(srv, &e))
						log_warnx(
						    "reload refused, keeping the old users: %s",
						    e.msg);
				} else {
					log_info("signal %d: stopping", (int)si.ssi_signo);
					stop = 1;
				}
			}
		}
		if (n > 0 && ifd >= 0 && (pf[1].revents & POLLIN) &&
		    users_file_changed(ifd, ubase)) {
			if (server_reload_users(srv, &e))
				log_warnx("reload refused, keeping the old users: %s", e.msg);
		}
		ustate_reap(srv);
	}

	/* Graceful stop: no new connections; requests in flight may finish. */
	httpd_quiesce(srv->httpd);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		unsigned left = httpd_inflight(srv->httpd);
		if (left == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec >= (time_t)srv->cfg.shutdown_grace) {
			log_warnx("%u requests still running after %us: cutting them off", left,
			          srv->cfg.shutdown_grace);
			break;
		}
		struct pollfd pf = {sfd, POLLIN, 0};
		if (poll(&pf, 1, 100) > 0) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si &&
			    si.ssi_signo != SIGHUP) {
				log_warnx("second signal: not waiting for %u requests", left);
				break;
			}
		}
	}
	atomic_store(&srv->stopping, 1);
	httpd_stop(srv->httpd);
	ustate_free_all(srv);
	if (ifd >= 0)
		close(ifd);
	close(sfd);
	pthread_rwlock_wrlock(&srv->users_lock);
	users_free(&srv->users);
	pthread_rwlock_unlock(&srv->users_lock);
	pthread_rwlock_destroy(&srv->users_lock);
	pthread_mutex_destroy(&srv->ustates_lock);
	routes_spool_trim(srv);
	pthread_mutex_destroy(&srv->spool_lock);
	free(srv);
	log_info("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	if (log_init(argv[0]) != 0)
		fprintf(stderr, "anki-sync-server: LOG_LEVEL must be error, warn, info or debug\n");
	if (argc > 1) {
		if (strcmp(argv[1], "--hash-password") == 0 && argc == 2)
			return hash_password_mode();
		if (strcmp(argv[1], "--healthcheck") == 0 && argc == 2)
			return healthcheck_mode();
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	return run();
}
