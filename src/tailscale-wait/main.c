/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * main.c - tailscale-wait: block until a Tailscale address is usable on an
 * interface, then exit so the service's ExecStart can bind it.  Runs as
 * ExecStartPre (nix.md section 5.6, N19/N20); the manual is
 * docs/tailscale-wait.md, and USAGE below is the same text.
 *
 * Shape: parse options into a struct nladdr_watch (src/lib/nladdr.h); open an
 * rtnetlink socket (nlwatch.c); then one event loop that sleeps in poll()
 * until the kernel says something or the deadline passes.  Nothing polls on a
 * timer and nothing runs the tailscale CLI.
 *
 * Exit status: 0 found, 1 timed out, 2 bad usage or a netlink, output or
 * write failure.  Two log lines at info level: one when the wait starts, one
 * when it ends (with the elapsed time).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "log.h"
#include "nladdr.h"
#include "nlwatch.h"
#include "status.h"

enum { EXIT_FOUND = 0, EXIT_TIMEOUT = 1, EXIT_USAGE = 2 };

#define DEFAULT_INTERFACE "tailscale0"
#define DEFAULT_TIMEOUT_S 90.0
/* About eleven days: longer than any start-up anyone would wait for, and far
 * inside what poll() and int64 nanoseconds can express. */
#define MAX_TIMEOUT_S 1e6
/* If the kernel has not answered our first questions this long after the
 * deadline, something is broken (not merely slow): report it as such. */
#define SYNC_GRACE_NS (5 * 1000000000LL)

static const char USAGE[] =
    "NAME\n"
    "    tailscale-wait - wait until a Tailscale address is up on an interface\n"
    "\n"
    "SYNOPSIS\n"
    "    tailscale-wait [--interface NAME] [--address ADDR | --prefix CIDR...]\n"
    "                   [--family 4|6|any] [--timeout SECONDS] [--print]\n"
    "                   [--write FILE]\n"
    "\n"
    "DESCRIPTION\n"
    "    Blocks until the interface NAME is up and carries a usable address\n"
    "    inside Tailscale's ranges (100.64.0.0/10, fd7a:115c:a1e0::/48), or\n"
    "    the one given with --address or --prefix, then exits 0.  Meant as\n"
    "    ExecStartPre= of a service that listens only on its Tailscale\n"
    "    address, which appears some time after boot.\n"
    "\n"
    "    It subscribes to rtnetlink link and address events, then asks the\n"
    "    kernel for the current state, so an address that exists already is\n"
    "    found at once and one that appears later within milliseconds.  It\n"
    "    does not poll and does not run the tailscale command.\n"
    "\n"
    "    The interface is looked up by name; once found it is followed by\n"
    "    its index, so a rename does not lose it.  It may not exist yet, may\n"
    "    be deleted and created again, may go down and up, and addresses may\n"
    "    come and go: only the state at the moment of exit counts.  The\n"
    "    interface must be administratively up.  IPv6 addresses that are\n"
    "    tentative (duplicate address detection still running) or failed it\n"
    "    are ignored until usable, since a service cannot bind them yet;\n"
    "    optimistic ones are usable.\n"
    "\n"
    "OPTIONS\n"
    "    -i, --interface NAME\n"
    "        Interface to watch.  Default: tailscale0.\n"
    "    -a, --address ADDR\n"
    "        Wait for exactly this IPv4 or IPv6 address.\n"
    "    -p, --prefix CIDR\n"
    "        Wait for any address inside CIDR (e.g. 100.64.0.0/10).  May be\n"
    "        given several times.  Not together with --address.\n"
    "    -f, --family 4|6|any\n"
    "        Accept only IPv4 or only IPv6 addresses.  Default: any.\n"
    "    -t, --timeout SECONDS\n"
    "        Give up after SECONDS (decimals allowed, at most 1000000).\n"
    "        0 checks once without waiting.  Default: 90.\n"
    "    --print\n"
    "        Write the address found, and a newline, on standard output.\n"
    "    -w, --write FILE\n"
    "        Write the address found, and a newline, to FILE atomically\n"
    "        (temporary file, fsync, rename; mode 0644), e.g. under\n"
    "        RuntimeDirectory= so that ExecStart= can read it.\n"
    "    -h, --help\n"
    "        Show this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0   the address is up (and was printed or written if asked);\n"
    "    1   timed out; the message names the interface, what was waited\n"
    "        for and what the interface looked like;\n"
    "    2   bad usage, or a netlink, output or write failure (the message\n"
    "        says why).\n"
    "\n"
    "ENVIRONMENT\n"
    "    LOG_LEVEL   error, warn, info (default) or debug.  At info one\n"
    "                line goes to standard error when the wait starts and\n"
    "                one when it ends, with the elapsed time.\n"
    "\n"
    "EXAMPLES\n"
    "    [Service]\n"
    "    RuntimeDirectory=anki-sync-server\n"
    "    ExecStartPre=tailscale-wait --family 4 --timeout 120 \\\n"
    "        --write %t/anki-sync-server/address\n"
    "    TimeoutStartSec=150\n"
    "    RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX\n"
    "\n"
    "    tailscale-wait --address 100.101.102.103 --timeout 5 --print\n";

struct options {
	const char *ifname;
	const char *address;
	const char *prefixes[NLADDR_WATCH_MAX_PREFIXES];
	size_t nprefix;
	int family;
	double timeout_s;
	int print;
	const char *write_path;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_error("%s (try 'tailscale-wait --help')", msg);
	return EXIT_USAGE;
}

static int parse_timeout(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < 0 || v > MAX_TIMEOUT_S || s[0] == '-' ||
	    s[0] == '+' || s[0] == ' ')
		return -1;
	*out = v;
	return 0;
}

/* Returns -1 to go on, or the exit status (help, usage error). */
static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_PRINT = 256 };
	static const struct option longopts[] = {
	    {"interface", required_argument, NULL, 'i'},
	    {"address", required_argument, NULL, 'a'},
	    {"prefix", required_argument, NULL, 'p'},
	    {"family", required_argument, NULL, 'f'},
	    {"timeout", required_argument, NULL, 't'},
	    {"print", no_argument, NULL, OPT_PRINT},
	    {"write", required_argument, NULL, 'w'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*o = (struct options){
	    .ifname = DEFAULT_INTERFACE, .family = AF_UNSPEC, .timeout_s = DEFAULT_TIMEOUT_S};
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":i:a:p:f:t:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->ifname = optarg;
			break;
		case 'a':
			if (o->address)
				return usage_error("--address given twice");
			if (strchr(optarg, '/'))
				return usage_error(
				    "--address takes one address; use --prefix for '%s'", optarg);
			o->address = optarg;
			break;
		case 'p':
			if (o->nprefix >= NLADDR_WATCH_MAX_PREFIXES)
				return usage_error("at most %d --prefix options",
				                   NLADDR_WATCH_MAX_PREFIXES);
			o->prefixes[o->nprefix++] = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "4") == 0)
				o->family = AF_INET;
			else if (strcmp(optarg, "6") == 0)
				o->family = AF_INET6;
			else if (strcmp(optarg, "any") == 0)
				o->family = AF_UNSPEC;
			else
				return usage_error("--family must be 4, 6 or any, not '%s'",
				                   optarg);
			break;
		case 't':
			if (parse_timeout(optarg, &o->timeout_s) != 0)
				return usage_error(
				    "--timeout must be a number of seconds from 0 to %.0f, "
				    "not '%s'",
				    MAX_TIMEOUT_S, optarg);
			break;
		case OPT_PRINT:
			o->print = 1;
			break;
		case 'w':
			if (!*optarg)
				return usage_error("--write needs a file name");
			o->write_path = optarg;
			break;
		case 'h':
			fputs(USAGE, stdout);
			return fflush(stdout) == 0 ? EXIT_FOUND : EXIT_USAGE;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (o->address && o->nprefix)
		return usage_error("--address and --prefix exclude each other");
	return -1;
}

/* Turn the options into what the watch wants; an exit status on error. */
static int setup_watch(const struct options *o, struct nladdr_watch *w)
{
	struct errinfo e = {0};
	if (nladdr_watch_init(w, o->ifname, o->family, &e))
		return usage_error("--interface: %s", e.msg);
	const char *defaults[] = {NLADDR_TAILSCALE_V4, NLADDR_TAILSCALE_V6};
	const char *const *list = o->prefixes;
	size_t n = o->nprefix;
	if (o->address) {
		list = &o->address;
		n = 1;
	} else if (n == 0) {
		list = defaults;
		n = 2;
	}
	for (size_t i = 0; i < n; i++) {
		struct nladdr_prefix p;
		if (nladdr_prefix_parse(list[i], &p, &e))
			return usage_error("%s: %s", o->address ? "--address" : "--prefix", e.msg);
		/* The built-in ranges are narrowed by --family, never refused. */
		if (list == defaults && o->family != AF_UNSPEC && p.family != o->family)
			continue;
		if (nladdr_watch_add_prefix(w, &p, &e))
			return usage_error("%s with --family %d: %s",
			                   o->address ? "--address" : "--prefix",
			                   o->family == AF_INET ? 4 : 6, e.msg);
	}
	return -1;
}

/* Print and/or write the address; an exit status. */
static int deliver(const struct options *o, const char *text)
{
	if (o->print) {
		if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
			log_warn("cannot write the address on standard output");
			return EXIT_USAGE;
		}
	}
	if (o->write_path) {
		char line[NLADDR_TEXT_MAX + 1];
		int n = snprintf(line, sizeof line, "%s\n", text);
		struct errinfo e = {0};
		if (afile_write_all(o->write_path, line, (size_t)n, 0644, &e)) {
			log_error("cannot write the address to %s: %s", o->write_path, e.msg);
			return EXIT_USAGE;
		}
	}
	return EXIT_FOUND;
}

int main(int argc, char **argv)
{
	int64_t start = now_ns();
	/* With fd 0-2 closed the netlink socket would become "stderr" and log
	 * lines would go to the kernel; park them on /dev/null instead. */
	int fd;
	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
		fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
	/* A closed pipe on stdout must be exit 2 with a message, not death by
	 * SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (log_init("tailscale-wait") != 0)
		return usage_error("LOG_LEVEL must be error, warn, info or debug");
	struct options o;
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	struct nladdr_watch w;
	rc = setup_watch(&o, &w);
	if (rc >= 0)
		return rc;

	char wanted[512];
	nladdr_watch_wanted(&w, wanted, sizeof wanted);
	log_info("waiting up to %g s for %s on %s", o.timeout_s, wanted, w.ifname);

	struct nlwatch nw;
	struct errinfo e = {0};
	if (nlwatch_open(&nw, w.family, &e)) {
		log_error("netlink: %s", e.msg);
		return EXIT_USAGE;
	}
	int64_t deadline = start + (int64_t)llround(o.timeout_s * 1e9);
	bool told_synced = false;
	struct nladdr_addr found;
	rc = EXIT_TIMEOUT;
	for (;;) {
		if (nlwatch_pump(&nw, &w, &e)) {
			log_error("netlink: %s", e.msg);
			rc = EXIT_USAGE;
			break;
		}
		bool synced = nlwatch_synced(&nw);
		if (nladdr_watch_found(&w, &found)) {
			rc = EXIT_FOUND;
			break;
		}
		if (synced && !told_synced) {
			char st[1024];
			log_debug("listening; %s", nladdr_watch_state(&w, st, sizeof st));
			told_synced = true;
		}
		int64_t now = now_ns();
		/* The first answers always count, even past a tiny --timeout: the
		 * verdict "not there" needs them. */
		int64_t limit = told_synced ? deadline : deadline + SYNC_GRACE_NS;
		if (now >= limit) {
			if (!told_synced) {
				log_error(
				    "netlink: no answer from the kernel about %s after %.3f s",
				    w.ifname, (double)(now - start) / 1e9);
				rc = EXIT_USAGE;
			}
			break;
		}
		int64_t wait_ns = limit - now;
		int ms = (int)((wait_ns + 999999) / 1000000);
		struct pollfd pfd = {.fd = nw.fd, .events = POLLIN};
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR) {
			log_warn("netlink: poll failed");
			rc = EXIT_USAGE;
			break;
		}
	}
	nlwatch_close(&nw);
	double elapsed = (double)(now_ns() - start) / 1e9;

	if (rc == EXIT_TIMEOUT) {
		char st[1024];
		log_error("timed out after %.3f s waiting for %s on %s: %s", elapsed, wanted,
		          w.ifname, nladdr_watch_state(&w, st, sizeof st));
		return EXIT_TIMEOUT;
	}
	if (rc != EXIT_FOUND)
		return rc;
	char text[NLADDR_TEXT_MAX];
	nladdr_addr_text(&found, text, sizeof text);
	rc = deliver(&o, text);
	if (rc == EXIT_FOUND)
		log_info("found %s on %s after %.3f s", text, w.ifname, elapsed);
	return rc;
}
