/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * nlwatch.c - the rtnetlink socket of tailscale-wait (see nlwatch.h).
 *
 * Invariants:
 *  - the socket is subscribed before the first request is sent;
 *  - at most one request is outstanding (pending != IDLE), identified by
 *    (our port id, seq); answers to older requests are dropped unread, since
 *    they may predate a reset;
 *  - a request is sent only when the receive queue has just been found empty,
 *    so its answer cannot be dropped for lack of room without a fresh ENOBUFS
 *    (the kernel reports an overrun once, until the queue drains);
 *  - after lost notifications (ENOBUFS, a truncated datagram) the watch state
 *    is reset and rebuilt from a fresh lookup, never patched.
 */
#include "nlwatch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* Room for queued notifications while we are busy: a burst of link changes
 * is ~1.5 KiB each.  The kernel may grant less (rmem_max); that only makes
 * ENOBUFS, and so a rebuild, likelier. */
#define NLWATCH_RCVBUF (1024 * 1024)

/* Receive calls per nlwatch_pump: plenty for a dump of a busy host (32 KiB
 * per datagram), small enough to come back to the event loop at once. */
#define NLWATCH_BATCH 256

enum status nlwatch_open(struct nlwatch *nw, int family, struct errinfo *e)
{
	memset(nw, 0, sizeof *nw);
	nw->fd = -1;
	nw->buf = malloc(NLWATCH_BUF_BYTES);
	if (!nw->buf)
		return errinfo_set(e, ST_NOMEM, "no memory for the netlink buffer");
	nw->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (nw->fd < 0) {
		if (errno == EAFNOSUPPORT || errno == EPERM || errno == EACCES)
			errinfo_errno(e, ST_IO,
			              "cannot open an rtnetlink socket (is AF_NETLINK allowed by "
			              "RestrictAddressFamilies= or a seccomp filter?)");
		else
			errinfo_errno(e, ST_IO, "cannot open an rtnetlink socket");
		nlwatch_close(nw);
		return ST_IO;
	}
	int size = NLWATCH_RCVBUF;
	/* Best effort: the default is enough for the few messages we expect. */
	(void)setsockopt(nw->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);

	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	if (family != AF_INET6)
		sa.nl_groups |= RTMGRP_IPV4_IFADDR;
	if (family != AF_INET)
		sa.nl_groups |= RTMGRP_IPV6_IFADDR;
	if (bind(nw->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		errinfo_errno(e, ST_IO, "cannot subscribe to rtnetlink link and address events");
		nlwatch_close(nw);
		return ST_IO;
	}
	socklen_t sl = sizeof sa;
	if (getsockname(nw->fd, (struct sockaddr *)&sa, &sl) != 0) {
		errinfo_errno(e, ST_IO, "getsockname on the rtnetlink socket");
		nlwatch_close(nw);
		return ST_IO;
	}
	nw->portid = sa.nl_pid;
	nw->need_link = true;
	return ST_OK;
}

void nlwatch_close(struct nlwatch *nw)
{
	if (nw->fd >= 0)
		close(nw->fd);
	nw->fd = -1;
	free(nw->buf);
	nw->buf = NULL;
}

bool nlwatch_synced(const struct nlwatch *nw)
{
	return nw->pending == NLWATCH_IDLE && !nw->need_link && !nw->need_addrs;
}

/* Append one attribute to a request under construction. */
static void put_attr(unsigned char *req, size_t *len, unsigned short type, const void *data,
                     size_t dlen)
{
	struct rtattr ra = {.rta_len = (unsigned short)RTA_LENGTH(dlen), .rta_type = type};
	memcpy(req + *len, &ra, sizeof ra);
	memcpy(req + *len + RTA_LENGTH(0), data, dlen);
	memset(req + *len + RTA_LENGTH(dlen), 0, RTA_SPACE(dlen) - RTA_LENGTH(dlen));
	*len += RTA_SPACE(dlen);
}

static enum status send_request(struct nlwatch *nw, const struct nladdr_watch *w,
                                enum nlwatch_req what, struct errinfo *e)
{
	/* header + ifinfomsg + name + ext mask, all small and aligned */
	unsigned char req[NLMSG_SPACE(sizeof(struct ifinfomsg)) + RTA_SPACE(NLADDR_IFNAME_MAX) +
	                  RTA_SPACE(sizeof(uint32_t))];
	memset(req, 0, sizeof req);
	size_t len;
	struct nlmsghdr h = {.nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = ++nw->seq};
	if (what == NLWATCH_GETLINK) {
		struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
		h.nlmsg_type = RTM_GETLINK;
		memcpy(req + NLMSG_HDRLEN, &ifi, sizeof ifi);
		len = NLMSG_SPACE(sizeof ifi);
		put_attr(req, &len, IFLA_IFNAME, w->ifname, strlen(w->ifname) + 1);
		/* Statistics are most of a link message and we never read them. */
		uint32_t mask = RTEXT_FILTER_SKIP_STATS;
		put_attr(req, &len, IFLA_EXT_MASK, &mask, sizeof mask);
	} else {
		struct ifaddrmsg ifa = {.ifa_family = (unsigned char)w->family};
		h.nlmsg_type = RTM_GETADDR;
		h.nlmsg_flags |= NLM_F_DUMP;
		memcpy(req + NLMSG_HDRLEN, &ifa, sizeof ifa);
		len = NLMSG_SPACE(sizeof ifa);
	}
	h.nlmsg_len = (uint32_t)len;
	memcpy(req, &h, sizeof h);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t r;
	do
		r = sendto(nw->fd, req, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
	while (r < 0 && errno == EINTR);
	if (r < 0 || (size_t)r != len)
		return errinfo_errno(e, ST_IO, "cannot send an rtnetlink %s request",
		                     what == NLWATCH_GETLINK ? "link" : "address");
	nw->pending = what;
	return ST_OK;
}

/* Notifications were lost: forget the state and look everything up again.
 * A running dump cannot be cancelled (a new one would get EBUSY), so let it
 * finish and treat its contents as stale; a plain lookup's answer may itself
 * have been dropped, so stop waiting for it. */
static void resync(struct nlwatch *nw, struct nladdr_watch *w, const char *why)
{
	log_debug("lost rtnetlink notifications (%s); rebuilding the interface state", why);
	nw->resyncs++;
	nladdr_watch_reset(w);
	nw->need_link = true;
	nw->need_addrs = false;
	if (nw->pending == NLWATCH_GETLINK)
		nw->pending = NLWATCH_IDLE;
	else if (nw->pending == NLWATCH_DUMPADDR)
		nw->stale_dump = true;
}

static void apply(struct nlwatch *nw, struct nladdr_watch *w, const struct nladdr_msg *m)
{
	unsigned act = nladdr_watch_feed(w, m);
	if (act & NLADDR_ACT_DUMP_ADDRS) {
		log_debug("interface %s has index %d (%s)", w->ifname, w->ifindex,
		          w->up ? "up" : "down");
		nw->need_addrs = true;
	}
	if (act & NLADDR_ACT_GET_LINK) {
		log_debug("interface %s was deleted", w->ifname);
		nw->need_link = true;
		nw->need_addrs = false;
	}
	if (act & NLADDR_ACT_RENAMED)
		log_debug("interface %s (index %d) is now named %s; following it by index",
		          w->ifname, w->ifindex, w->curname);
}

/* One message that answers our outstanding request. */
static enum status answer(struct nlwatch *nw, struct nladdr_watch *w, const struct nladdr_msg *m,
                          struct errinfo *e)
{
	switch (m->kind) {
	case NLADDR_ERROR:
		if (nw->pending == NLWATCH_GETLINK && m->error == ENODEV) {
			nw->pending = NLWATCH_IDLE; /* not there yet: RTM_NEWLINK will say */
			return ST_OK;
		}
		if (m->error == 0) {
			nw->pending = NLWATCH_IDLE;
			return ST_OK;
		}
		errno = m->error;
		return errinfo_errno(e, ST_IO, "the kernel refused the rtnetlink %s request",
		                     nw->pending == NLWATCH_GETLINK ? "link" : "address");
	case NLADDR_DONE:
		if (m->error) {
			errno = m->error;
			return errinfo_errno(e, ST_IO, "rtnetlink address dump failed");
		}
		nw->pending = NLWATCH_IDLE;
		if (nw->stale_dump) {
			nw->stale_dump = false;
			return ST_OK;
		}
		if (m->interrupted)
			log_debug("address dump raced a change; notifications cover it");
		return ST_OK;
	default:
		if (!nw->stale_dump)
			apply(nw, w, m);
		if (nw->pending == NLWATCH_GETLINK && !(m->nlflags & NLM_F_MULTI))
			nw->pending = NLWATCH_IDLE;
		return ST_OK;
	}
}

static enum status next_request(struct nlwatch *nw, struct nladdr_watch *w, struct errinfo *e)
{
	if (nw->pending != NLWATCH_IDLE)
		return ST_OK;
	if (nw->need_link) {
		nw->need_link = false;
		return send_request(nw, w, NLWATCH_GETLINK, e);
	}
	if (nw->need_addrs) {
		nw->need_addrs = false;
		if (w->ifindex != 0)
			return send_request(nw, w, NLWATCH_DUMPADDR, e);
	}
	return ST_OK;
}

enum status nlwatch_pump(struct nlwatch *nw, struct nladdr_watch *w, struct errinfo *e)
{
	/* A bounded batch, so that a flood of unrelated events cannot keep the
	 * caller from checking its deadline and the state. */
	for (int budget = NLWATCH_BATCH; budget > 0; budget--) {
		enum status st;
		struct sockaddr_nl from;
		struct iovec iov = {.iov_base = nw->buf, .iov_len = NLWATCH_BUF_BYTES};
		struct msghdr mh = {.msg_name = &from,
		                    .msg_namelen = sizeof from,
		                    .msg_iov = &iov,
		                    .msg_iovlen = 1};
		ssize_t n = recvmsg(nw->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* Ask only with an empty queue: the kernel drops a
				 * reply that finds the queue full, and says so with
				 * ENOBUFS only once per congestion, which may already
				 * have been spent on the notifications. */
				if (nw->pending != NLWATCH_IDLE ||
				    (!nw->need_link && !nw->need_addrs))
					return ST_OK;
				st = next_request(nw, w, e);
				if (st)
					return st;
				continue;
			}
			if (errno == ENOBUFS) {
				resync(nw, w, "receive queue overflow");
				continue;
			}
			return errinfo_errno(e, ST_IO, "cannot receive from the rtnetlink socket");
		}
		if (mh.msg_flags & MSG_TRUNC) {
			resync(nw, w, "datagram larger than the buffer");
			continue;
		}
		if (mh.msg_namelen != sizeof from || from.nl_pid != 0)
			continue; /* only the kernel speaks for the kernel */
		size_t off = 0, len = (size_t)n;
		while (off < len) {
			struct nladdr_msg m;
			size_t used;
			st = nladdr_parse(nw->buf + off, len - off, &m, &used, e);
			if (st)
				return errinfo_prefix(e, "rtnetlink message at offset %zu: ", off);
			off += used;
			if (m.portid == nw->portid) {
				if (m.seq != nw->seq || nw->pending == NLWATCH_IDLE)
					continue; /* answer to a request we gave up on */
				st = answer(nw, w, &m, e);
				if (st)
					return st;
			} else {
				apply(nw, w, &m);
			}
		}
	}
	return ST_OK;
}
