/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * nladdr.c - rtnetlink address/link message parsing, prefixes, and the watch
 * state behind tailscale-wait (see nladdr.h and docs/tailscale-wait.md).
 *
 * Invariants:
 *  - every read from a message is bounded twice: by the buffer and by the
 *    length the message claims for itself; fields are copied out with memcpy
 *    because recorded or received bytes need not be aligned;
 *  - the watch table holds only in-range addresses of the wanted family on the
 *    watched interface (ifindex != 0), each (family, address, prefix length)
 *    at most once, in the order the kernel first reported them;
 *  - a watch with ifindex == 0 has an empty table and up == false.
 *
 * (<limits.h> here would be src/lib/limits.h, hence INT32_MAX from stdint.h.)
 */
#include "nladdr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The kernel's errno values are below 4096 (MAX_ERRNO); anything else in an
 * error field means the message is not what it claims. */
#define NLADDR_MAX_ERRNO 4095

static size_t addr_size(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* ---- parsing ---- */

/* One attribute at p (rem bytes left in the message).  On ST_OK: *type
 * without the NESTED/BYTEORDER bits, the payload and its size, and *adv, the
 * bytes to skip to the next attribute (clamped to rem). */
static enum status attr_next(const unsigned char *p, size_t rem, unsigned *type,
                             const unsigned char **data, size_t *dlen, size_t *adv,
                             struct errinfo *e)
{
	struct rtattr ra;
	if (rem < sizeof ra)
		return errinfo_set(e, ST_CORRUPT, "netlink attribute header cut short (%zu bytes)",
		                   rem);
	memcpy(&ra, p, sizeof ra);
	if (ra.rta_len < sizeof ra || ra.rta_len > rem)
		return errinfo_set(e, ST_CORRUPT, "netlink attribute length %u outside 4..%zu",
		                   (unsigned)ra.rta_len, rem);
	*type = ra.rta_type & NLA_TYPE_MASK;
	*data = p + sizeof ra;
	*dlen = ra.rta_len - sizeof ra;
	size_t a = RTA_ALIGN((size_t)ra.rta_len);
	*adv = a < rem ? a : rem;
	return ST_OK;
}

static enum status parse_errno(const unsigned char *payload, size_t plen, int *out,
                               struct errinfo *e)
{
	int err;
	if (plen < sizeof err)
		return errinfo_set(e, ST_CORRUPT, "netlink error message without an error code");
	memcpy(&err, payload, sizeof err);
	if (err > 0 || err < -NLADDR_MAX_ERRNO)
		return errinfo_set(e, ST_CORRUPT, "netlink error code %d out of range", err);
	*out = -err;
	return ST_OK;
}

static enum status parse_addr(const unsigned char *payload, size_t plen, struct nladdr_msg *m,
                              struct errinfo *e)
{
	struct ifaddrmsg ifa;
	if (plen < sizeof ifa)
		return errinfo_set(e, ST_CORRUPT, "address message of %zu bytes, need %zu", plen,
		                   sizeof ifa);
	memcpy(&ifa, payload, sizeof ifa);
	size_t asz = addr_size(ifa.ifa_family);
	if (asz == 0) {
		m->kind = NLADDR_OTHER; /* MPLS, DECnet...: not ours to judge */
		return ST_OK;
	}
	if (ifa.ifa_index == 0 || ifa.ifa_index > (uint32_t)INT32_MAX)
		return errinfo_set(e, ST_CORRUPT, "address message for interface index %u",
		                   (unsigned)ifa.ifa_index);
	struct nladdr_addr *a = &m->addr;
	a->ifindex = (int)ifa.ifa_index;
	a->family = ifa.ifa_family;
	a->prefixlen = ifa.ifa_prefixlen;
	a->scope = ifa.ifa_scope;
	a->flags = ifa.ifa_flags;
	if (a->prefixlen > asz * 8)
		return errinfo_set(e, ST_CORRUPT, "prefix length %u too long", a->prefixlen);

	const unsigned char *local = NULL, *address = NULL;
	size_t off = NLMSG_ALIGN(sizeof ifa);
	size_t rem = plen > off ? plen - off : 0;
	const unsigned char *p = payload + (plen > off ? off : plen);
	while (rem > 0) {
		unsigned type = 0;
		const unsigned char *data = NULL;
		size_t dlen = 0, adv = 0;
		enum status st = attr_next(p, rem, &type, &data, &dlen, &adv, e);
		if (st)
			return st;
		switch (type) {
		case IFA_ADDRESS:
		case IFA_LOCAL:
			if (dlen != asz)
				return errinfo_set(e, ST_CORRUPT,
				                   "address attribute of %zu bytes for family %d",
				                   dlen, a->family);
			if (type == IFA_LOCAL)
				local = data;
			else
				address = data;
			break;
		case IFA_FLAGS:
			if (dlen != sizeof(uint32_t))
				return errinfo_set(e, ST_CORRUPT, "IFA_FLAGS of %zu bytes", dlen);
			memcpy(&a->flags, data, sizeof a->flags);
			break;
		default:
			break;
		}
		p += adv;
		rem -= adv;
	}
	/* IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
	 * point-to-point links and equals the local address otherwise (IPv6
	 * sends IFA_LOCAL only when there is a peer). */
	const unsigned char *src = local ? local : address;
	if (!src)
		return errinfo_set(e, ST_CORRUPT, "address message without an address");
	memset(a->addr, 0, sizeof a->addr);
	memcpy(a->addr, src, asz);
	return ST_OK;
}

static enum status parse_link(const unsigned char *payload, size_t plen, struct nladdr_msg *m,
                              struct errinfo *e)
{
	struct ifinfomsg ifi;
	if (plen < sizeof ifi)
		return errinfo_set(e, ST_CORRUPT, "link message of %zu bytes, need %zu", plen,
		                   sizeof ifi);
	memcpy(&ifi, payload, sizeof ifi);
	if (ifi.ifi_index <= 0)
		return errinfo_set(e, ST_CORRUPT, "link message for interface index %d",
		                   ifi.ifi_index);
	struct nladdr_link *l = &m->link;
	l->ifindex = ifi.ifi_index;
	l->family = ifi.ifi_family;
	l->flags = ifi.ifi_flags;
	l->name[0] = '\0';

	size_t off = NLMSG_ALIGN(sizeof ifi);
	size_t rem = plen > off ? plen - off : 0;
	const unsigned char *p = payload + (plen > off ? off : plen);
	while (rem > 0) {
		unsigned type = 0;
		const unsigned char *data = NULL;
		size_t dlen = 0, adv = 0;
		enum status st = attr_next(p, rem, &type, &data, &dlen, &adv, e);
		if (st)
			return st;
		if (type == IFLA_IFNAME) {
			const unsigned char *nul = memchr(data, '\0', dlen);
			if (!nul)
				return errinfo_set(e, ST_CORRUPT, "interface name not terminated");
			size_t n = (size_t)(nul - data);
			if (n >= sizeof l->name)
				return errinfo_set(e, ST_CORRUPT, "interface name of %zu bytes", n);
			memcpy(l->name, data, n + 1);
		}
		p += adv;
		rem -= adv;
	}
	return ST_OK;
}

enum status nladdr_parse(const void *buf, size_t len, struct nladdr_msg *m, size_t *used,
                         struct errinfo *e)
{
	const unsigned char *b = buf;
	struct nlmsghdr h;
	*used = 0;
	memset(m, 0, sizeof *m);
	if (len == 0)
		return errinfo_set(e, ST_INVALID, "no netlink message to parse");
	if (len < sizeof h)
		return errinfo_set(e, ST_CORRUPT, "netlink header cut short (%zu bytes)", len);
	memcpy(&h, b, sizeof h);
	if (h.nlmsg_len < sizeof h || h.nlmsg_len > len)
		return errinfo_set(e, ST_CORRUPT, "netlink message length %u outside %zu..%zu",
		                   (unsigned)h.nlmsg_len, sizeof h, len);
	m->type = h.nlmsg_type;
	m->nlflags = h.nlmsg_flags;
	m->seq = h.nlmsg_seq;
	m->portid = h.nlmsg_pid;
	m->interrupted = (h.nlmsg_flags & NLM_F_DUMP_INTR) != 0;
	const unsigned char *payload = b + NLMSG_HDRLEN;
	size_t plen = h.nlmsg_len - NLMSG_HDRLEN;
	enum status st = ST_OK;
	switch (h.nlmsg_type) {
	case NLMSG_ERROR:
		m->kind = NLADDR_ERROR;
		st = parse_errno(payload, plen, &m->error, e);
		break;
	case NLMSG_DONE:
		m->kind = NLADDR_DONE;
		/* Very old kernels sent DONE without a body. */
		if (plen > 0)
			st = parse_errno(payload, plen, &m->error, e);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		m->kind = h.nlmsg_type == RTM_NEWADDR ? NLADDR_NEWADDR : NLADDR_DELADDR;
		st = parse_addr(payload, plen, m, e);
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		m->kind = h.nlmsg_type == RTM_NEWLINK ? NLADDR_NEWLINK : NLADDR_DELLINK;
		st = parse_link(payload, plen, m, e);
		break;
	default:
		m->kind = NLADDR_OTHER;
		break;
	}
	if (st) {
		memset(m, 0, sizeof *m);
		return st;
	}
	size_t a = NLMSG_ALIGN((size_t)h.nlmsg_len);
	*used = a < len ? a : len;
	return ST_OK;
}

bool nladdr_usable(const struct nladdr_addr *a)
{
	if (a->flags & IFA_F_DADFAILED)
		return false;
	return !(a->flags & IFA_F_TENTATIVE) || (a->flags & IFA_F_OPTIMISTIC);
}

const char *nladdr_addr_text(const struct nladdr_addr *a, char *out, size_t n)
{
	if (n == 0)
		return out;
	if (!inet_ntop(a->family, a->addr, out, (socklen_t)(n > 256 ? 256 : n)))
		snprintf(out, n, "?");
	return out;
}

/* ---- prefixes ---- */

enum status nladdr_prefix_parse(const char *text, struct nladdr_prefix *p, struct errinfo *e)
{
	char host[64];
	memset(p, 0, sizeof *p);
	if (!text || !*text)
		return errinfo_set(e, ST_INVALID, "empty address or prefix");
	const char *slash = strchr(text, '/');
	size_t hl = slash ? (size_t)(slash - text) : strlen(text);
	if (hl == 0 || hl >= sizeof host)
		return errinfo_set(e, ST_INVALID, "'%.80s' is not an address or prefix", text);
	memcpy(host, text, hl);
	host[hl] = '\0';
	p->family = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, host, p->addr) != 1)
		return errinfo_set(e, ST_INVALID, "'%s' is not an IPv%d address", host,
		                   p->family == AF_INET ? 4 : 6);
	unsigned max = (unsigned)addr_size(p->family) * 8;
	p->len = max;
	if (slash) {
		const char *d = slash + 1;
		size_t dl = strlen(d);
		if (dl == 0 || dl > 3 || strspn(d, "0123456789") != dl)
			return errinfo_set(e, ST_INVALID, "'%.80s': prefix length must be 0..%u",
			                   text, max);
		unsigned v = 0;
		for (size_t i = 0; i < dl; i++)
			v = v * 10 + (unsigned)(d[i] - '0');
		if (v > max)
			return errinfo_set(e, ST_INVALID, "'%.80s': prefix length must be 0..%u",
			                   text, max);
		p->len = v;
	}
	for (unsigned bit = p->len; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80u >> (bit % 8))) {
			struct nladdr_prefix fixed = *p;
			for (unsigned b2 = p->len; b2 < max; b2++)
				fixed.addr[b2 / 8] &= (unsigned char)~(0x80u >> (b2 % 8));
			char t[NLADDR_TEXT_MAX];
			return errinfo_set(e, ST_INVALID,
			                   "'%.80s' has host bits set; did you mean %s?", text,
			                   nladdr_prefix_text(&fixed, t, sizeof t));
		}
	return ST_OK;
}

bool nladdr_prefix_contains(const struct nladdr_prefix *p, int family, const unsigned char *addr)
{
	if (family != p->family)
		return false;
	unsigned whole = p->len / 8, rest = p->len % 8;
	if (memcmp(p->addr, addr, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xffu << (8 - rest));
	return (p->addr[whole] & mask) == (addr[whole] & mask);
}

const char *nladdr_prefix_text(const struct nladdr_prefix *p, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN];
	if (!inet_ntop(p->family, p->addr, a, sizeof a))
		snprintf(a, sizeof a, "?");
	if (p->len == addr_size(p->family) * 8)
		snprintf(out, n, "%s", a);
	else
		snprintf(out, n, "%s/%u", a, p->len);
	return out;
}

/* ---- the watch state ---- */

static bool ifname_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= NLADDR_IFNAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
			return false;
	}
	return true;
}

enum status nladdr_watch_init(struct nladdr_watch *w, const char *ifname, int family,
                              struct errinfo *e)
{
	memset(w, 0, sizeof *w);
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return errinfo_set(e, ST_INVALID, "unknown address family %d", family);
	if (!ifname || !ifname_valid(ifname))
		return errinfo_set(
		    e, ST_INVALID,
		    "'%.40s' is not an interface name (1-15 bytes, no '/', ':' or spaces)",
		    ifname ? ifname : "");
	snprintf(w->ifname, sizeof w->ifname, "%s", ifname);
	w->family = family;
	return ST_OK;
}

enum status nladdr_watch_add_prefix(struct nladdr_watch *w, const struct nladdr_prefix *p,
                                    struct errinfo *e)
{
	if (w->family != AF_UNSPEC && p->family != w->family) {
		char t[NLADDR_TEXT_MAX];
		return errinfo_set(e, ST_INVALID, "%s is not an IPv%d address or prefix",
		                   nladdr_prefix_text(p, t, sizeof t),
		                   w->family == AF_INET ? 4 : 6);
	}
	if (w->nprefix >= NLADDR_WATCH_MAX_PREFIXES)
		return errinfo_set(e, ST_TOOBIG, "at most %d prefixes", NLADDR_WATCH_MAX_PREFIXES);
	w->prefix[w->nprefix++] = *p;
	return ST_OK;
}

void nladdr_watch_reset(struct nladdr_watch *w)
{
	w->ifindex = 0;
	w->up = false;
	w->curname[0] = '\0';
	w->naddr = 0;
}

static bool wanted(const struct nladdr_watch *w, const struct nladdr_addr *a)
{
	if (w->family != AF_UNSPEC && a->family != w->family)
		return false;
	for (size_t i = 0; i < w->nprefix; i++)
		if (nladdr_prefix_contains(&w->prefix[i], a->family, a->addr))
			return true;
	return false;
}

static size_t find_addr(const struct nladdr_watch *w, const struct nladdr_addr *a)
{
	for (size_t i = 0; i < w->naddr; i++) {
		const struct nladdr_addr *b = &w->addr[i];
		if (b->family == a->family && b->prefixlen == a->prefixlen &&
		    memcmp(b->addr, a->addr, sizeof b->addr) == 0)
			return i;
	}
	return w->naddr;
}

unsigned nladdr_watch_feed(struct nladdr_watch *w, const struct nladdr_msg *m)
{
	switch (m->kind) {
	case NLADDR_NEWLINK: {
		const struct nladdr_link *l = &m->link;
		if (l->family != AF_UNSPEC)
			return 0;
		if (w->ifindex == 0) {
			if (strcmp(l->name, w->ifname) != 0)
				return 0;
			w->ifindex = l->ifindex;
			w->up = (l->flags & IFF_UP) != 0;
			snprintf(w->curname, sizeof w->curname, "%s", l->name);
			w->naddr = 0;
			return NLADDR_ACT_DUMP_ADDRS;
		}
		if (l->ifindex != w->ifindex)
			return 0;
		w->up = (l->flags & IFF_UP) != 0;
		if (l->name[0] && strcmp(l->name, w->curname) != 0) {
			snprintf(w->curname, sizeof w->curname, "%s", l->name);
			return NLADDR_ACT_RENAMED;
		}
		return 0;
	}
	case NLADDR_DELLINK:
		if (m->link.family != AF_UNSPEC || w->ifindex == 0 || m->link.ifindex != w->ifindex)
			return 0;
		nladdr_watch_reset(w);
		return NLADDR_ACT_GET_LINK;
	case NLADDR_NEWADDR:
	case NLADDR_DELADDR: {
		const struct nladdr_addr *a = &m->addr;
		if (w->ifindex == 0 || a->ifindex != w->ifindex || !wanted(w, a))
			return 0;
		size_t i = find_addr(w, a);
		if (m->kind == NLADDR_NEWADDR) {
			if (i < w->naddr)
				w->addr[i] = *a; /* flags changed: DAD finished or failed */
			else if (w->naddr < NLADDR_WATCH_MAX_ADDRS)
				w->addr[w->naddr++] = *a;
			else
				w->dropped++;
		} else if (i < w->naddr) {
			memmove(&w->addr[i], &w->addr[i + 1],
			        (w->naddr - i - 1) * sizeof w->addr[0]);
			w->naddr--;
		}
		return 0;
	}
	default:
		return 0;
	}
}

bool nladdr_watch_found(const struct nladdr_watch *w, struct nladdr_addr *out)
{
	if (w->ifindex == 0 || !w->up)
		return false;
	for (size_t i = 0; i < w->naddr; i++)
		if (nladdr_usable(&w->addr[i])) {
			if (out)
				*out = w->addr[i];
			return true;
		}
	return false;
}

/* snprintf at *pos, keeping *pos within n so later appends stay bounded. */
static void appendf(char *out, size_t n, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void appendf(char *out, size_t n, size_t *pos, const char *fmt, ...)
{
	if (*pos >= n)
		return;
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(out + *pos, n - *pos, fmt, ap);
	va_end(ap);
	if (r > 0)
		*pos = *pos + (size_t)r < n ? *pos + (size_t)r : n - 1;
}

const char *nladdr_watch_wanted(const struct nladdr_watch *w, char *out, size_t n)
{
	size_t pos = 0;
	if (n == 0)
		return out;
	out[0] = '\0';
	for (size_t i = 0; i < w->nprefix; i++) {
		const struct nladdr_prefix *p = &w->prefix[i];
		char t[NLADDR_TEXT_MAX];
		nladdr_prefix_text(p, t, sizeof t);
		if (i > 0)
			appendf(out, n, &pos, " or ");
		if (p->len == addr_size(p->family) * 8)
			appendf(out, n, &pos, "address %s", t);
		else
			appendf(out, n, &pos, "an IPv%d address in %s",
			        p->family == AF_INET ? 4 : 6, t);
	}
	if (w->nprefix == 0)
		appendf(out, n, &pos, "no address (no prefix given)");
	return out;
}

const char *nladdr_watch_state(const struct nladdr_watch *w, char *out, size_t n)
{
	size_t pos = 0;
	if (n == 0)
		return out;
	out[0] = '\0';
	if (w->ifindex == 0) {
		appendf(out, n, &pos, "interface %s does not exist", w->ifname);
		return out;
	}
	appendf(out, n, &pos, "interface %s (index %d", w->ifname, w->ifindex);
	if (strcmp(w->curname, w->ifname) != 0)
		appendf(out, n, &pos, ", now named %s", w->curname);
	appendf(out, n, &pos, ") is %s", w->up ? "up" : "down");
	if (w->naddr == 0) {
		appendf(out, n, &pos, " with no address in range");
		return out;
	}
	appendf(out, n, &pos, "; in range:");
	for (size_t i = 0; i < w->naddr; i++) {
		const struct nladdr_addr *a = &w->addr[i];
		char t[NLADDR_TEXT_MAX];
		const char *why =
		    (a->flags & IFA_F_DADFAILED) ? " (duplicate address detection failed)"
		    : !nladdr_usable(a) ? " (tentative: duplicate address detection running)"
		                        : "";
		appendf(out, n, &pos, "%s %s%s", i ? "," : "", nladdr_addr_text(a, t, sizeof t),
		        why);
	}
	if (w->dropped)
		appendf(out, n, &pos, " (%lu more not tracked)", w->dropped);
	return out;
}
