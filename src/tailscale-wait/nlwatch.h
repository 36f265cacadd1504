/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * nlwatch.h - the rtnetlink socket of tailscale-wait: subscribe to link and
 * address notifications, then ask for the current state, and feed every
 * message to a struct nladdr_watch (src/lib/nladdr.h).
 *
 * Subscribing before asking is what makes the wait race-free: an address that
 * appears while the answer is being built is either in the answer or in a
 * notification queued after it.  Only one request is outstanding at a time
 * (the kernel refuses a second dump on a socket with EBUSY).
 */
#ifndef TAILSCALE_WAIT_NLWATCH_H
#define TAILSCALE_WAIT_NLWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "nladdr.h"
#include "status.h"

/* One receive buffer.  The kernel builds dump datagrams of at most 32 KiB;
 * notifications are one message each (a link message is ~1.5 KiB).  A bigger
 * datagram is reported as truncated and handled like lost notifications. */
#define NLWATCH_BUF_BYTES (64 * 1024)

enum nlwatch_req { NLWATCH_IDLE = 0, NLWATCH_GETLINK, NLWATCH_DUMPADDR };

struct nlwatch {
	int fd;
	uint32_t portid;          /* our netlink port, to recognise replies */
	uint32_t seq;             /* sequence number of the last request */
	enum nlwatch_req pending; /* request awaiting its answer */
	bool need_link;           /* look the interface up by name */
	bool need_addrs;          /* dump addresses (after adopting an index) */
	bool stale_dump;          /* a dump answer raced lost notifications */
	unsigned long resyncs;    /* times notifications were lost (ENOBUFS) */
	unsigned char *buf;       /* NLWATCH_BUF_BYTES, owned */
};

/* Open the socket, subscribe to link and (family-filtered) address groups and
 * queue the initial link lookup.  ST_IO with the reason on failure (e.g.
 * EAFNOSUPPORT under RestrictAddressFamilies= without AF_NETLINK). */
enum status nlwatch_open(struct nlwatch *nw, int family, struct errinfo *e);

/* Receive and apply what is queued on the socket without blocking (at most
 * a bounded batch of datagrams per call; poll() then reports the rest), and
 * send the next request whenever none is outstanding and the queue is empty.  Fails (exit 2 in the
 * program) on a socket error, a malformed message or a refused request;
 * lost notifications are not a failure: the state is rebuilt. */
enum status nlwatch_pump(struct nlwatch *nw, struct nladdr_watch *w, struct errinfo *e);

/* True once no request is outstanding or needed: w reflects the kernel. */
bool nlwatch_synced(const struct nlwatch *nw);

void nlwatch_close(struct nlwatch *nw);

#endif
