/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * test_nladdr.c - unit tests of src/lib/nladdr.c on rtnetlink messages
 * recorded from a real kernel (the .bin files in tests/fixtures/netlink/, made by
 * tests/fixtures/netlink/record.py; README.md there lists what each holds).
 *
 * These cover the parsing and the decision logic of tailscale-wait even where
 * the test machine cannot create network namespaces; the integration tests
 * (tests/integration/test_tailscale_wait.py) cover the socket side.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "nladdr.h"

#define MAX_MSGS 16

struct rec {
	unsigned char *data;
	size_t len;
	size_t n;
	struct nladdr_msg msg[MAX_MSGS];
	size_t off[MAX_MSGS]; /* where each message starts */
	size_t size[MAX_MSGS];
};

/* Load a recorded file and parse every message in it; all must parse. */
static struct rec *load(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "netlink/%s.bin", name);
	struct rec *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->data = (unsigned char *)tu_read_file(tu_fixture(path), &r->len);
	if (!r->data)
		fail_msg("fixture %s missing", path);
	size_t off = 0;
	while (off < r->len) {
		assert_true(r->n < MAX_MSGS);
		size_t used = 0;
		struct errinfo e = {0};
		enum status st =
		    nladdr_parse(r->data + off, r->len - off, &r->msg[r->n], &used, &e);
		if (st)
			fail_msg("%s at %zu: %s", name, off, e.msg);
		assert_true(used > 0 && used <= r->len - off);
		r->off[r->n] = off;
		r->size[r->n] = used;
		r->n++;
		off += used;
	}
	return r;
}

static void unload(struct rec *r)
{
	free(r->data);
	free(r);
}

static const char *text(const struct nladdr_addr *a)
{
	static char t[NLADDR_TEXT_MAX];
	return nladdr_addr_text(a, t, sizeof t);
}

static struct nladdr_prefix prefix(const char *s)
{
	struct nladdr_prefix p;
	struct errinfo e = {0};
	if (nladdr_prefix_parse(s, &p, &e))
		fail_msg("prefix %s: %s", s, e.msg);
	return p;
}

/* A watch as tailscale-wait sets it up: name, family, prefixes. */
static void watch(struct nladdr_watch *w, const char *ifname, int family, const char *p1,
                  const char *p2)
{
	assert_int_equal(nladdr_watch_init(w, ifname, family, NULL), ST_OK);
	struct nladdr_prefix p = prefix(p1);
	assert_int_equal(nladdr_watch_add_prefix(w, &p, NULL), ST_OK);
	if (p2) {
		p = prefix(p2);
		assert_int_equal(nladdr_watch_add_prefix(w, &p, NULL), ST_OK);
	}
}

static void tailscale_watch(struct nladdr_watch *w, int family)
{
	if (family == AF_INET)
		watch(w, "tailscale0", family, NLADDR_TAILSCALE_V4, NULL);
	else if (family == AF_INET6)
		watch(w, "tailscale0", family, NLADDR_TAILSCALE_V6, NULL);
	else
		watch(w, "tailscale0", family, NLADDR_TAILSCALE_V4, NLADDR_TAILSCALE_V6);
}

/* Feed every message of a recorded file; returns the OR of the actions. */
static unsigned feed(struct nladdr_watch *w, const char *name)
{
	struct rec *r = load(name);
	unsigned act = 0;
	for (size_t i = 0; i < r->n; i++)
		act |= nladdr_watch_feed(w, &r->msg[i]);
	unload(r);
	return act;
}

static const char *found_text(const struct nladdr_watch *w)
{
	struct nladdr_addr a;
	if (!nladdr_watch_found(w, &a))
		return "(none)";
	return text(&a);
}

static const char *state(const struct nladdr_watch *w)
{
	static char s[1024];
	return nladdr_watch_state(w, s, sizeof s);
}

/* ---- parsing recorded messages ---- */

static void test_parse_getlink_reply(void **unused)
{
	(void)unused;
	struct rec *r = load("req_getlink_tailscale0");
	assert_int_equal(r->n, 1);
	const struct nladdr_msg *m = &r->msg[0];
	assert_int_equal(m->kind, NLADDR_NEWLINK);
	assert_int_equal(m->type, RTM_NEWLINK);
	assert_int_equal(m->seq, 1);
	assert_int_equal(m->link.family, AF_UNSPEC);
	assert_int_equal(m->link.ifindex, 3);
	assert_string_equal(m->link.name, "tailscale0");
	assert_true(m->link.flags & IFF_UP);
	assert_false(m->nlflags & NLM_F_MULTI);
	assert_int_equal(r->size[0], r->len);
	unload(r);
}

static void test_parse_enodev(void **unused)
{
	(void)unused;
	struct rec *r = load("req_getlink_enodev");
	assert_int_equal(r->n, 1);
	assert_int_equal(r->msg[0].kind, NLADDR_ERROR);
	assert_int_equal(r->msg[0].error, ENODEV);
	assert_int_equal(r->msg[0].seq, 2);
	unload(r);
}

static void test_parse_addr_dump(void **unused)
{
	(void)unused;
	struct rec *r = load("req_dumpaddr");
	/* lo 127.0.0.1, 10.0.0.1/24, 100.101.102.103/32, lo ::1,
	 * fd7a:115c:a1e0::abcd/128 nodad, then DONE */
	assert_int_equal(r->n, 6);
	static const char *want[] = {"127.0.0.1", "10.0.0.1", "100.101.102.103", "::1",
	                             "fd7a:115c:a1e0::abcd"};
	static const int idx[] = {1, 3, 3, 1, 3};
	static const unsigned plen[] = {8, 24, 32, 128, 128};
	for (size_t i = 0; i < 5; i++) {
		const struct nladdr_msg *m = &r->msg[i];
		assert_int_equal(m->kind, NLADDR_NEWADDR);
		assert_true(m->nlflags & NLM_F_MULTI);
		assert_int_equal(m->seq, 3);
		assert_string_equal(text(&m->addr), want[i]);
		assert_int_equal(m->addr.ifindex, idx[i]);
		assert_int_equal(m->addr.prefixlen, plen[i]);
		assert_int_equal(m->addr.family, i < 3 ? AF_INET : AF_INET6);
		assert_true(m->addr.flags & IFA_F_PERMANENT);
		assert_true(nladdr_usable(&m->addr));
	}
	assert_true(r->msg[4].addr.flags & IFA_F_NODAD);
	assert_int_equal(r->msg[5].kind, NLADDR_DONE);
	assert_int_equal(r->msg[5].error, 0);
	assert_false(r->msg[5].interrupted);
	unload(r);
}

static void test_parse_events(void **unused)
{
	(void)unused;
	struct rec *r = load("tun_10_delete");
	/* link goes down, its last address goes, then the link */
	assert_int_equal(r->n, 3);
	assert_int_equal(r->msg[0].kind, NLADDR_NEWLINK);
	assert_string_equal(r->msg[0].link.name, "ts-renamed");
	assert_false(r->msg[0].link.flags & IFF_UP);
	assert_int_equal(r->msg[1].kind, NLADDR_DELADDR);
	assert_string_equal(text(&r->msg[1].addr), "10.9.8.7");
	assert_int_equal(r->msg[2].kind, NLADDR_DELLINK);
	assert_int_equal(r->msg[2].link.ifindex, 2);
	unload(r);

	r = load("tun_05_del_v4");
	assert_int_equal(r->n, 1);
	assert_int_equal(r->msg[0].kind, NLADDR_DELADDR);
	assert_string_equal(text(&r->msg[0].addr), "100.100.1.2");
	unload(r);
}

static void test_parse_dad_flags(void **unused)
{
	(void)unused;
	struct rec *r = load("veth_03_tentative");
	assert_int_equal(r->n, 1);
	assert_string_equal(text(&r->msg[0].addr), "fd7a:115c:a1e0::5");
	assert_true(r->msg[0].addr.flags & IFA_F_TENTATIVE);
	assert_false(nladdr_usable(&r->msg[0].addr));
	unload(r);

	r = load("veth_05_dad_failed");
	assert_int_equal(r->n, 3);
	assert_true(nladdr_usable(&r->msg[0].addr));  /* peer0's copy, nodad */
	assert_false(nladdr_usable(&r->msg[1].addr)); /* ours, tentative */
	assert_true(r->msg[2].addr.flags & IFA_F_DADFAILED);
	assert_false(nladdr_usable(&r->msg[2].addr));
	unload(r);

	r = load("veth_06_dump_optimistic");
	assert_string_equal(text(&r->msg[0].addr), "fd7a:115c:a1e0::a");
	assert_true(r->msg[0].addr.flags & IFA_F_TENTATIVE);
	assert_true(r->msg[0].addr.flags & IFA_F_OPTIMISTIC);
	assert_true(nladdr_usable(&r->msg[0].addr)); /* bind() accepts optimistic */
	unload(r);
}

/* Every recorded file, cut anywhere inside a message, must be refused with
 * nothing consumed: never read past the cut (ASan watches). */
static void test_parse_truncated_everywhere(void **unused)
{
	(void)unused;
	static const char *files[] = {
	    "req_getlink_tailscale0", "req_getlink_enodev", "req_dumpaddr",
	    "tun_01_create",          "tun_07_down",        "tun_10_delete",
	    "veth_04_dad_done",       "veth_05_dad_failed", "veth_06_dump_optimistic"};
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		struct rec *r = load(files[f]);
		for (size_t i = 0; i < r->n; i++) {
			uint32_t l32;
			memcpy(&l32, r->data + r->off[i], sizeof l32);
			size_t msglen = l32;
			for (size_t cut = 1; cut < msglen; cut++) {
				/* A heap copy of exactly cut bytes, so any over-read
				 * is an ASan report. */
				unsigned char *p = malloc(cut);
				assert_non_null(p);
				memcpy(p, r->data + r->off[i], cut);
				struct nladdr_msg m;
				size_t used = 99;
				assert_int_equal(nladdr_parse(p, cut, &m, &used, NULL), ST_CORRUPT);
				assert_int_equal(used, 0);
				free(p);
			}
		}
		unload(r);
	}
}

/* A copy of message i of a file, in its own heap block. */
static unsigned char *copy_msg(const char *name, size_t i, size_t *len)
{
	struct rec *r = load(name);
	assert_true(i < r->n);
	*len = r->size[i];
	unsigned char *p = malloc(*len);
	assert_non_null(p);
	memcpy(p, r->data + r->off[i], *len);
	unload(r);
	return p;
}

static void put16(unsigned char *p, uint16_t v)
{
	memcpy(p, &v, sizeof v);
}
static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, sizeof v);
}

static enum status parse1(const unsigned char *p, size_t len, struct nladdr_msg *m)
{
	size_t used;
	struct errinfo e = {0};
	enum status st = nladdr_parse(p, len, m, &used, &e);
	if (st == ST_OK)
		assert_true(used <= len);
	else
		assert_true(e.msg[0] != '\0'); /* every refusal says why */
	return st;
}

static void test_parse_corrupt(void **unused)
{
	(void)unused;
	size_t len;
	struct nladdr_msg m;
	/* tun_04: 16-byte header, 8-byte ifaddrmsg, then IFA_ADDRESS (8) ... */
	unsigned char *p = copy_msg("tun_04_addr_v4", 0, &len);
	assert_int_equal(parse1(p, len, &m), ST_OK);
	assert_int_equal(nladdr_parse(p, 0, &m, &(size_t){0}, NULL), ST_INVALID);
	size_t attr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifaddrmsg));
	uint16_t orig_alen;
	memcpy(&orig_alen, p + attr, 2);
	assert_int_equal(orig_alen, 8);
	for (unsigned bad = 0; bad < 4; bad++) { /* shorter than an attribute header */
		put16(p + attr, (uint16_t)bad);
		assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	}
	put16(p + attr, 9); /* a 5-byte IPv4 address */
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	put16(p + attr, 0xfff0); /* past the message */
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	put16(p + attr, orig_alen);
	put32(p, 15); /* nlmsg_len below the header */
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	put32(p, (uint32_t)len + 4); /* nlmsg_len past the buffer */
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	put32(p, NLMSG_HDRLEN + 4); /* payload shorter than ifaddrmsg */
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	put32(p, (uint32_t)len);
	p[NLMSG_HDRLEN + 1] = 33; /* IPv4 prefix length 33 */
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	p[NLMSG_HDRLEN + 1] = 32;
	put32(p + NLMSG_HDRLEN + 4, 0); /* interface index 0 */
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	put32(p + NLMSG_HDRLEN + 4, 2);
	p[NLMSG_HDRLEN] = AF_PACKET; /* an address family we do not judge */
	assert_int_equal(parse1(p, len, &m), ST_OK);
	assert_int_equal(m.kind, NLADDR_OTHER);
	free(p);

	/* An address message with no address at all: keep only ifaddrmsg. */
	p = copy_msg("tun_04_addr_v4", 0, &len);
	put32(p, NLMSG_HDRLEN + sizeof(struct ifaddrmsg));
	assert_int_equal(parse1(p, NLMSG_HDRLEN + sizeof(struct ifaddrmsg), &m), ST_CORRUPT);
	free(p);

	/* Error codes: positive or beyond errno range are not the kernel's. */
	p = copy_msg("req_getlink_enodev", 0, &len);
	put32(p + NLMSG_HDRLEN, 5);
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	put32(p + NLMSG_HDRLEN, (uint32_t)INT32_MIN);
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	put32(p + NLMSG_HDRLEN, 0);
	assert_int_equal(parse1(p, len, &m), ST_OK);
	assert_int_equal(m.error, 0); /* an acknowledgement */
	free(p);

	/* An interface name without its NUL. */
	p = copy_msg("req_getlink_tailscale0", 0, &len);
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg));
	bool seen = false;
	while (off + 4 <= len) {
		uint16_t alen, atype;
		memcpy(&alen, p + off, 2);
		memcpy(&atype, p + off + 2, 2);
		if (atype == IFLA_IFNAME) {
			memset(p + off + 4, 'x', alen - 4u);
			seen = true;
			break;
		}
		off += NLMSG_ALIGN(alen);
	}
	assert_true(seen);
	assert_int_equal(parse1(p, len, &m), ST_CORRUPT);
	free(p);

	/* Messages of other types are skipped, not refused. */
	p = copy_msg("tun_04_addr_v4", 0, &len);
	put16(p + 4, RTM_NEWROUTE);
	assert_int_equal(parse1(p, len, &m), ST_OK);
	assert_int_equal(m.kind, NLADDR_OTHER);
	free(p);
}

/* Received bytes need not be aligned: parse at an odd offset (UBSan checks). */
static void test_parse_unaligned(void **unused)
{
	(void)unused;
	struct rec *r = load("req_dumpaddr");
	unsigned char *p = malloc(r->len + 1);
	assert_non_null(p);
	memcpy(p + 1, r->data, r->len);
	struct nladdr_msg m;
	size_t used;
	assert_int_equal(nladdr_parse(p + 1, r->len, &m, &used, NULL), ST_OK);
	assert_string_equal(text(&m.addr), "127.0.0.1");
	free(p);
	unload(r);
}

/* ---- prefixes ---- */

static void test_prefix_parse(void **unused)
{
	(void)unused;
	struct nladdr_prefix p;
	char t[NLADDR_TEXT_MAX];
	p = prefix("100.64.0.0/10");
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.len, 10);
	assert_string_equal(nladdr_prefix_text(&p, t, sizeof t), "100.64.0.0/10");
	p = prefix("fd7a:115c:a1e0::/48");
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 48);
	p = prefix("100.64.0.3");
	assert_int_equal(p.len, 32);
	assert_string_equal(nladdr_prefix_text(&p, t, sizeof t), "100.64.0.3");
	p = prefix("FD7A:115C:A1E0::1");
	assert_int_equal(p.len, 128);
	assert_string_equal(nladdr_prefix_text(&p, t, sizeof t), "fd7a:115c:a1e0::1");
	p = prefix("0.0.0.0/0");
	assert_int_equal(p.len, 0);
	p = prefix("::/0");
	assert_int_equal(p.family, AF_INET6);

	static const char *bad[] = {
	    "",
	    "/10",
	    "100.64.0.0/",
	    "100.64.0.0/33",
	    "fd7a::/129",
	    "100.64.0.0/-1",
	    "100.64.0.0/+1",
	    "100.64.0.0/1 0",
	    "100.64.0.0/0010",
	    "100.64.0.0/1x",
	    "100.64/10",
	    "100.64.0.256",
	    "tailscale",
	    "1.2.3.4.5",
	    "fd7a:::1",
	    "100.64.0.1/10",
	    "fd7a:115c:a1e0::1/48",
	    " 100.64.0.0/10",
	    "1111:2222:3333:4444:5555:6666:7777:8888:9999:0000:1111:2222:3333/64"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct errinfo e = {0};
		if (nladdr_prefix_parse(bad[i], &p, &e) != ST_INVALID)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(e.msg[0] != '\0');
	}
	struct errinfo e = {0};
	assert_int_equal(nladdr_prefix_parse("100.64.0.1/10", &p, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "did you mean 100.64.0.0/10"));
	assert_int_equal(nladdr_prefix_parse(NULL, &p, NULL), ST_INVALID);
}

static bool in(const char *pfx, const char *addr)
{
	struct nladdr_prefix p = prefix(pfx);
	unsigned char a[16] = {0};
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(fam, addr, a), 1);
	return nladdr_prefix_contains(&p, fam, a);
}

static void test_prefix_contains(void **unused)
{
	(void)unused;
	assert_true(in(NLADDR_TAILSCALE_V4, "100.64.0.0"));
	assert_true(in(NLADDR_TAILSCALE_V4, "100.101.102.103"));
	assert_true(in(NLADDR_TAILSCALE_V4, "100.127.255.255"));
	assert_false(in(NLADDR_TAILSCALE_V4, "100.63.255.255"));
	assert_false(in(NLADDR_TAILSCALE_V4, "100.128.0.0"));
	assert_false(in(NLADDR_TAILSCALE_V4, "10.0.0.1"));
	assert_true(in(NLADDR_TAILSCALE_V6, "fd7a:115c:a1e0::"));
	assert_true(in(NLADDR_TAILSCALE_V6, "fd7a:115c:a1e0:ffff:ffff:ffff:ffff:ffff"));
	assert_false(in(NLADDR_TAILSCALE_V6, "fd7a:115c:a1e1::"));
	assert_false(in(NLADDR_TAILSCALE_V6, "fd7a:115c:a1df:ffff::1"));
	/* families never cross, even for mapped addresses */
	assert_false(in(NLADDR_TAILSCALE_V4, "::ffff:100.64.0.1"));
	assert_false(in(NLADDR_TAILSCALE_V6, "100.64.0.1"));
	assert_true(in("100.64.0.3", "100.64.0.3"));
	assert_false(in("100.64.0.3", "100.64.0.2"));
	assert_true(in("0.0.0.0/0", "255.255.255.255"));
	assert_true(in("10.0.0.0/31", "10.0.0.1"));
	assert_false(in("10.0.0.0/31", "10.0.0.2"));
}

/* ---- the watch ---- */

static void test_watch_init(void **unused)
{
	(void)unused;
	struct nladdr_watch w;
	static const char *bad[] = {"",    ".",     "..",     "a/b",
	                            "a:b", "eth 0", "eth\t0", "0123456789abcdef"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct errinfo e = {0};
		if (nladdr_watch_init(&w, bad[i], AF_UNSPEC, &e) != ST_INVALID)
			fail_msg("accepted interface name '%s'", bad[i]);
	}
	assert_int_equal(nladdr_watch_init(&w, NULL, AF_UNSPEC, NULL), ST_INVALID);
	assert_int_equal(nladdr_watch_init(&w, "tailscale0", AF_PACKET, NULL), ST_INVALID);
	assert_int_equal(nladdr_watch_init(&w, "0123456789abcde", AF_INET, NULL), ST_OK);
	struct nladdr_prefix p6 = prefix(NLADDR_TAILSCALE_V6), p4 = prefix(NLADDR_TAILSCALE_V4);
	struct errinfo e = {0};
	assert_int_equal(nladdr_watch_add_prefix(&w, &p6, &e), ST_INVALID);
	assert_non_null(strstr(e.msg, "not an IPv4"));
	for (int i = 0; i < NLADDR_WATCH_MAX_PREFIXES; i++)
		assert_int_equal(nladdr_watch_add_prefix(&w, &p4, NULL), ST_OK);
	assert_int_equal(nladdr_watch_add_prefix(&w, &p4, NULL), ST_TOOBIG);
}

static void test_watch_texts(void **unused)
{
	(void)unused;
	struct nladdr_watch w;
	char t[256];
	tailscale_watch(&w, AF_UNSPEC);
	assert_string_equal(nladdr_watch_wanted(&w, t, sizeof t),
	                    "an IPv4 address in 100.64.0.0/10 or an IPv6 address in "
	                    "fd7a:115c:a1e0::/48");
	assert_string_equal(state(&w), "interface tailscale0 does not exist");
	watch(&w, "ts1", AF_UNSPEC, "100.64.0.3", NULL);
	assert_string_equal(nladdr_watch_wanted(&w, t, sizeof t), "address 100.64.0.3");
	/* small buffers truncate, never overflow */
	char tiny[8];
	assert_string_equal(nladdr_watch_wanted(&w, tiny, sizeof tiny), "address");
	assert_int_equal(strlen(nladdr_watch_state(&w, tiny, sizeof tiny)), 7);
}

/* The TUN life cycle as tailscaled drives it, and then some. */
static void test_watch_tun_lifecycle(void **unused)
{
	(void)unused;
	struct nladdr_watch w;
	tailscale_watch(&w, AF_UNSPEC);

	assert_int_equal(feed(&w, "tun_01_create"), NLADDR_ACT_DUMP_ADDRS);
	assert_int_equal(w.ifindex, 2);
	assert_false(w.up);
	assert_string_equal(found_text(&w), "(none)");
	assert_string_equal(state(&w),
	                    "interface tailscale0 (index 2) is down with no address in range");

	assert_int_equal(feed(&w, "tun_02_up"), 0);
	assert_true(w.up);
	assert_int_equal(feed(&w, "tun_03_addr_wrong_range"), 0);
	assert_int_equal(w.naddr, 0);
	assert_string_equal(found_text(&w), "(none)");

	feed(&w, "tun_04_addr_v4");
	assert_string_equal(found_text(&w), "100.100.1.2");
	feed(&w, "tun_04_addr_v4"); /* a repeated announcement is one address */
	assert_int_equal(w.naddr, 1);

	feed(&w, "tun_05_del_v4");
	assert_int_equal(w.naddr, 0);
	assert_string_equal(found_text(&w), "(none)");

	feed(&w, "tun_06_addr_v6");
	assert_string_equal(found_text(&w), "fd7a:115c:a1e0::1:2");

	feed(&w, "tun_07_down"); /* down, and the kernel drops IPv6 addresses */
	assert_false(w.up);
	assert_int_equal(w.naddr, 0);
	assert_string_equal(found_text(&w), "(none)");

	assert_int_equal(feed(&w, "tun_08_rename"), NLADDR_ACT_RENAMED);
	assert_int_equal(w.ifindex, 2);
	assert_string_equal(w.curname, "ts-renamed");
	assert_string_equal(state(&w),
	                    "interface tailscale0 (index 2, now named ts-renamed) is down with no "
	                    "address in range");

	feed(&w, "tun_04_addr_v4"); /* index 2 still counts under its new name */
	assert_int_equal(w.naddr, 1);
	assert_string_equal(found_text(&w), "(none)"); /* but it is down */
	assert_non_null(strstr(state(&w), "is down; in range: 100.100.1.2"));
	feed(&w, "tun_09_up_renamed");
	assert_string_equal(found_text(&w), "100.100.1.2");

	assert_int_equal(feed(&w, "tun_10_delete"), NLADDR_ACT_GET_LINK);
	assert_int_equal(w.ifindex, 0);
	assert_int_equal(w.naddr, 0);
	assert_string_equal(found_text(&w), "(none)");
	/* a new tailscale0 is adopted again by name */
	assert_int_equal(feed(&w, "tun_01_create"), NLADDR_ACT_DUMP_ADDRS);
	assert_int_equal(w.ifindex, 2);
}

/* Addresses of an interface the watch has not adopted are not counted. */
static void test_watch_ignores_other_interfaces(void **unused)
{
	(void)unused;
	struct nladdr_watch w;
	tailscale_watch(&w, AF_UNSPEC);
	feed(&w, "tun_04_addr_v4"); /* before the link is known */
	assert_int_equal(w.naddr, 0);
	watch(&w, "eth0", AF_UNSPEC, NLADDR_TAILSCALE_V4, NULL);
	assert_int_equal(feed(&w, "tun_01_create"), 0);
	feed(&w, "tun_02_up");
	feed(&w, "tun_04_addr_v4");
	assert_int_equal(w.ifindex, 0);
	assert_string_equal(found_text(&w), "(none)");
}

static void test_watch_family_and_address(void **unused)
{
	(void)unused;
	struct nladdr_watch w;
	tailscale_watch(&w, AF_INET6);
	feed(&w, "tun_01_create");
	feed(&w, "tun_02_up");
	feed(&w, "tun_04_addr_v4");
	assert_string_equal(found_text(&w), "(none)");
	feed(&w, "tun_06_addr_v6");
	assert_string_equal(found_text(&w), "fd7a:115c:a1e0::1:2");

	tailscale_watch(&w, AF_INET);
	feed(&w, "tun_01_create");
	feed(&w, "tun_02_up");
	feed(&w, "tun_06_addr_v6");
	assert_string_equal(found_text(&w), "(none)");
	feed(&w, "tun_04_addr_v4");
	assert_string_equal(found_text(&w), "100.100.1.2");

	watch(&w, "tailscale0", AF_UNSPEC, "100.100.1.3", NULL);
	feed(&w, "tun_01_create");
	feed(&w, "tun_02_up");
	feed(&w, "tun_04_addr_v4");
	assert_string_equal(found_text(&w), "(none)");
	watch(&w, "tailscale0", AF_UNSPEC, "100.100.1.2", NULL);
	feed(&w, "tun_01_create");
	feed(&w, "tun_02_up");
	feed(&w, "tun_04_addr_v4");
	assert_string_equal(found_text(&w), "100.100.1.2");
	/* a user prefix outside Tailscale's ranges works the same way */
	watch(&w, "tailscale0", AF_UNSPEC, "10.9.8.0/24", NULL);
	feed(&w, "tun_01_create");
	feed(&w, "tun_02_up");
	feed(&w, "tun_03_addr_wrong_range");
	assert_string_equal(found_text(&w), "10.9.8.7");
}

/* Start-up: the lookup answer, then the dump, as tailscale-wait asks. */
static void test_watch_from_dump(void **unused)
{
	(void)unused;
	struct nladdr_watch w;
	tailscale_watch(&w, AF_UNSPEC);
	assert_int_equal(feed(&w, "req_getlink_tailscale0"), NLADDR_ACT_DUMP_ADDRS);
	assert_int_equal(w.ifindex, 3);
	assert_true(w.up);
	assert_string_equal(found_text(&w), "(none)");
	feed(&w, "req_dumpaddr");
	assert_int_equal(w.naddr, 2);                           /* 100.101.102.103 and fd7a::abcd */
	assert_string_equal(found_text(&w), "100.101.102.103"); /* kernel order */

	tailscale_watch(&w, AF_INET6);
	feed(&w, "req_getlink_tailscale0");
	feed(&w, "req_dumpaddr");
	assert_string_equal(found_text(&w), "fd7a:115c:a1e0::abcd");

	nladdr_watch_reset(&w);
	assert_int_equal(w.ifindex, 0);
	assert_string_equal(found_text(&w), "(none)");
}

/* IPv6 duplicate address detection on a veth pair. */
static void test_watch_dad(void **unused)
{
	(void)unused;
	struct nladdr_watch w;
	tailscale_watch(&w, AF_UNSPEC);
	feed(&w, "veth_01_create"); /* peer0 (index 2) and tailscale0 (index 3) */
	assert_int_equal(w.ifindex, 3);
	feed(&w, "veth_02_up_no_carrier");
	assert_true(w.up);
	feed(&w, "veth_03_tentative");
	assert_int_equal(w.naddr, 1);
	assert_string_equal(found_text(&w), "(none)");
	assert_non_null(strstr(state(&w), "fd7a:115c:a1e0::5 (tentative"));
	feed(&w, "veth_04_dad_done"); /* carrier, DAD ends; link-locals out of range */
	assert_int_equal(w.naddr, 1);
	assert_string_equal(found_text(&w), "fd7a:115c:a1e0::5");

	watch(&w, "tailscale0", AF_UNSPEC, "fd7a:115c:a1e0::7", NULL);
	feed(&w, "veth_01_create");
	feed(&w, "veth_02_up_no_carrier");
	feed(&w, "veth_05_dad_failed"); /* peer0's copy is usable but not ours */
	assert_int_equal(w.naddr, 1);
	assert_string_equal(found_text(&w), "(none)");
	assert_non_null(strstr(state(&w), "(duplicate address detection failed)"));

	watch(&w, "tailscale0", AF_UNSPEC, "fd7a:115c:a1e0::a", NULL);
	feed(&w, "veth_01_create");
	feed(&w, "veth_02_up_no_carrier");
	feed(&w, "veth_06_dump_optimistic");
	assert_string_equal(found_text(&w), "fd7a:115c:a1e0::a");
}

/* A bridge port's DELLINK (family AF_BRIDGE) does not delete the device. */
static void test_watch_ignores_bridge_messages(void **unused)
{
	(void)unused;
	struct nladdr_watch w;
	tailscale_watch(&w, AF_UNSPEC);
	feed(&w, "tun_01_create");
	struct rec *r = load("tun_10_delete");
	struct nladdr_msg m = r->msg[2];
	unload(r);
	assert_int_equal(m.kind, NLADDR_DELLINK);
	m.link.family = AF_BRIDGE;
	assert_int_equal(nladdr_watch_feed(&w, &m), 0);
	assert_int_equal(w.ifindex, 2);
	m.link.family = AF_UNSPEC;
	assert_int_equal(nladdr_watch_feed(&w, &m), NLADDR_ACT_GET_LINK);
	assert_int_equal(w.ifindex, 0);
}

/* More in-range addresses than the table holds: counted, never stored. */
static void test_watch_table_bound(void **unused)
{
	(void)unused;
	struct nladdr_watch w;
	tailscale_watch(&w, AF_UNSPEC);
	feed(&w, "tun_01_create");
	struct rec *r = load("tun_04_addr_v4");
	struct nladdr_msg m = r->msg[0];
	unload(r);
	for (unsigned i = 0; i < NLADDR_WATCH_MAX_ADDRS + 8; i++) {
		m.addr.addr[3] = (unsigned char)i;
		nladdr_watch_feed(&w, &m);
	}
	assert_int_equal(w.naddr, NLADDR_WATCH_MAX_ADDRS);
	assert_int_equal(w.dropped, 8);
	assert_non_null(strstr(state(&w), "(8 more not tracked)"));
	assert_string_equal(found_text(&w), "(none)"); /* still down */
	m.kind = NLADDR_DELADDR;
	m.addr.addr[3] = 0;
	nladdr_watch_feed(&w, &m);
	assert_int_equal(w.naddr, NLADDR_WATCH_MAX_ADDRS - 1);
	assert_int_equal(w.addr[0].addr[3], 1); /* order kept */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_getlink_reply),
	    cmocka_unit_test(test_parse_enodev),
	    cmocka_unit_test(test_parse_addr_dump),
	    cmocka_unit_test(test_parse_events),
	    cmocka_unit_test(test_parse_dad_flags),
	    cmocka_unit_test(test_parse_truncated_everywhere),
	    cmocka_unit_test(test_parse_corrupt),
	    cmocka_unit_test(test_parse_unaligned),
	    cmocka_unit_test(test_prefix_parse),
	    cmocka_unit_test(test_prefix_contains),
	    cmocka_unit_test(test_watch_init),
	    cmocka_unit_test(test_watch_texts),
	    cmocka_unit_test(test_watch_tun_lifecycle),
	    cmocka_unit_test(test_watch_ignores_other_interfaces),
	    cmocka_unit_test(test_watch_family_and_address),
	    cmocka_unit_test(test_watch_from_dump),
	    cmocka_unit_test(test_watch_dad),
	    cmocka_unit_test(test_watch_ignores_bridge_messages),
	    cmocka_unit_test(test_watch_table_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
