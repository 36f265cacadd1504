/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * nladdr.h - rtnetlink address and link messages, address prefixes, and the
 * state that decides when "a usable address in range is up on interface X".
 *
 * Three parts, all pure (no sockets, no clock), so the unit tests can drive
 * them with messages recorded from a real kernel (tests/fixtures/netlink/):
 *
 *   nladdr_parse      one netlink message from a byte buffer, bounds-checked
 *                     against both the buffer and the message's own length;
 *   nladdr_prefix_*   "100.64.0.0/10"-style prefixes and matching;
 *   nladdr_watch_*    the state of one watched interface, fed message by
 *                     message; it says when a wanted address is usable and
 *                     when the caller must ask the kernel for a fresh view.
 *
 * The socket side (requests, receive loop, timeout) lives in the
 * tailscale-wait program (src/tailscale-wait/nlwatch.c).  Behaviour is the
 * issue "tailscale-wait" and docs/tailscale-wait.md; nix.md section 5.6
 * (N20) says how systemd runs it.
 */
#ifndef ANKIHOST_NLADDR_H
#define ANKIHOST_NLADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Tailscale's address ranges (CGNAT space and its ULA). */
#define NLADDR_TAILSCALE_V4 "100.64.0.0/10"
#define NLADDR_TAILSCALE_V6 "fd7a:115c:a1e0::/48"

/* IFNAMSIZ: an interface name is at most 15 bytes plus the NUL. */
#define NLADDR_IFNAME_MAX 16
/* Enough for any IPv6 text form (INET6_ADDRSTRLEN) and "/128". */
#define NLADDR_TEXT_MAX 52

enum nladdr_kind {
	NLADDR_OTHER = 0, /* a message this module does not use; skip it */
	NLADDR_NEWADDR,
	NLADDR_DELADDR,
	NLADDR_NEWLINK,
	NLADDR_DELLINK,
	NLADDR_DONE,  /* end of a dump; error holds the dump's status */
	NLADDR_ERROR, /* answer to a request; error 0 is an acknowledgement */
};

/* One interface address (struct ifaddrmsg plus its attributes). */
struct nladdr_addr {
	int ifindex;
	int family; /* AF_INET or AF_INET6 */
	unsigned prefixlen;
	unsigned scope;
	uint32_t flags;         /* IFA_F_*: IFA_FLAGS if sent, else ifa_flags */
	unsigned char addr[16]; /* the local address; 4 bytes used for IPv4 */
};

/* One interface (struct ifinfomsg plus its name). */
struct nladdr_link {
	int ifindex;
	int family;                   /* AF_UNSPEC for real link changes; AF_BRIDGE etc. for
	                                 per-port messages that are not about the device */
	unsigned flags;               /* IFF_* */
	char name[NLADDR_IFNAME_MAX]; /* "" when the message has no name */
};

struct nladdr_msg {
	enum nladdr_kind kind;
	uint16_t type;    /* nlmsg_type as received */
	uint16_t nlflags; /* nlmsg_flags */
	uint32_t seq;
	uint32_t portid;  /* nlmsg_pid */
	int error;        /* DONE/ERROR: a positive errno, or 0 */
	bool interrupted; /* NLM_F_DUMP_INTR: the dump raced a change */
	union {
		struct nladdr_addr addr; /* NEWADDR, DELADDR */
		struct nladdr_link link; /* NEWLINK, DELLINK */
	};
};

/* Parse the first netlink message of buf[0..len).  On ST_OK fills *m and sets
 * *used to the bytes the message occupies including alignment padding (never
 * more than len).  Address messages of families other than IPv4/IPv6 come
 * back as NLADDR_OTHER.  A truncated header, a length that disagrees with the
 * buffer, a payload shorter than its fixed header, a malformed attribute, an
 * address of the wrong size or an unterminated or over-long name give
 * ST_CORRUPT (nothing is consumed).  len == 0 is ST_INVALID. */
enum status nladdr_parse(const void *buf, size_t len, struct nladdr_msg *m, size_t *used,
                         struct errinfo *e);

/* Whether a service can bind this address now: not failed duplicate address
 * detection, and not tentative unless optimistic (RFC 4429 addresses may be
 * used while DAD runs; the kernel lets them be bound). */
bool nladdr_usable(const struct nladdr_addr *a);

/* The address as text ("100.64.0.1", "fd7a:115c:a1e0::1"); out needs
 * NLADDR_TEXT_MAX bytes.  Returns out. */
const char *nladdr_addr_text(const struct nladdr_addr *a, char *out, size_t n);

/* ---- prefixes ---- */

struct nladdr_prefix {
	int family;             /* AF_INET or AF_INET6 */
	unsigned len;           /* 0..32 or 0..128 */
	unsigned char addr[16]; /* host bits are zero */
};

/* Parse "ADDR/LEN" or a bare "ADDR" (a host prefix: /32 or /128).  LEN is
 * 1-3 decimal digits.  Host bits set ("100.64.0.1/10") are refused so that a
 * typo is not silently widened.  Errors are ST_INVALID with the reason. */
enum status nladdr_prefix_parse(const char *text, struct nladdr_prefix *p, struct errinfo *e);

/* Whether addr (of family) lies inside p.  Different families never match
 * (an IPv4-mapped IPv6 address is not an IPv4 address). */
bool nladdr_prefix_contains(const struct nladdr_prefix *p, int family, const unsigned char *addr);

/* "100.64.0.0/10"; for a host prefix just the address.  Returns out. */
const char *nladdr_prefix_text(const struct nladdr_prefix *p, char *out, size_t n);

/* ---- the watch state ---- */

/* Bounds of the state, with reasons: a few prefixes are all anyone writes on
 * a command line; Tailscale puts one IPv4 and one IPv6 address on its
 * interface, so 32 in-range addresses on one interface is already absurd.
 * Candidates past the limit are dropped and counted, never stored. */
#define NLADDR_WATCH_MAX_PREFIXES 16
#define NLADDR_WATCH_MAX_ADDRS 32

/* What the caller must do after a message, as bits. */
enum {
	NLADDR_ACT_DUMP_ADDRS = 1, /* interface adopted: fetch its addresses */
	NLADDR_ACT_GET_LINK = 2,   /* interface gone: look the name up again */
	NLADDR_ACT_RENAMED = 4,    /* informational: the watched link changed name */
};

struct nladdr_watch {
	/* what is wanted (set by nladdr_watch_init / add_prefix) */
	char ifname[NLADDR_IFNAME_MAX];
	int family; /* AF_UNSPEC (either), AF_INET or AF_INET6 */
	size_t nprefix;
	struct nladdr_prefix prefix[NLADDR_WATCH_MAX_PREFIXES];
	/* what the kernel told us */
	int ifindex; /* 0 until a link named ifname is seen */
	bool up;     /* IFF_UP of ifindex */
	char curname[NLADDR_IFNAME_MAX];
	size_t naddr; /* in-range addresses of wanted family on ifindex */
	struct nladdr_addr addr[NLADDR_WATCH_MAX_ADDRS];
	unsigned long dropped; /* candidates not stored for lack of room */
};

/* Start watching ifname (1..15 bytes, no '/', ':' or white space, not "." or
 * ".."; ST_INVALID otherwise) for family AF_UNSPEC/AF_INET/AF_INET6, with no
 * prefixes yet. */
enum status nladdr_watch_init(struct nladdr_watch *w, const char *ifname, int family,
                              struct errinfo *e);

/* Add a wanted prefix.  ST_INVALID if it contradicts the family filter,
 * ST_TOOBIG past NLADDR_WATCH_MAX_PREFIXES. */
enum status nladdr_watch_add_prefix(struct nladdr_watch *w, const struct nladdr_prefix *p,
                                    struct errinfo *e);

/* Forget everything learnt from the kernel (after lost notifications);
 * the caller then looks the link up and dumps addresses again. */
void nladdr_watch_reset(struct nladdr_watch *w);

/* Apply one parsed message; returns NLADDR_ACT_* bits.  The interface is
 * found by name (while ifindex is 0) and then followed by index, so a rename
 * does not lose it; when it is deleted the watch goes back to the name.
 * Link messages of families other than AF_UNSPEC (bridge port messages) are
 * ignored, since a DELLINK there does not mean the device went away. */
unsigned nladdr_watch_feed(struct nladdr_watch *w, const struct nladdr_msg *m);

/* Whether a wanted address is usable on the watched interface, which must
 * exist and be administratively up (IPv4 addresses survive "link down" but
 * carry no traffic).  On true, *out (if non-NULL) gets the first such address
 * in the order the kernel reported them. */
bool nladdr_watch_found(const struct nladdr_watch *w, struct nladdr_addr *out);

/* What is wanted, for messages: "an IPv4 address in 100.64.0.0/10 or an IPv6
 * address in fd7a:115c:a1e0::/48", "address 100.64.0.3".  Returns out. */
const char *nladdr_watch_wanted(const struct nladdr_watch *w, char *out, size_t n);

/* The interface as last seen, for messages: "does not exist", "is down",
 * "is up with no address in range", "is up; fd7a:115c:a1e0::1 is tentative
 * (duplicate address detection)".  Returns out. */
const char *nladdr_watch_state(const struct nladdr_watch *w, char *out, size_t n);

#endif
