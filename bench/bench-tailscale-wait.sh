#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# bench-tailscale-wait.sh - how fast tailscale-wait notices its address.
#
# In a throw-away network namespace with a TUN device named tailscale0, time
# from the start of `ip addr add 100.64.0.1/32 dev tailscale0` to the exit of
# a tailscale-wait that was already listening, over TSW_BENCH_RUNS runs
# (default 100), and report p50/p99 (target: p99 < 10 ms).  In the same run,
# the same measurement for the shell loop it replaces,
#   until ip addr show dev tailscale0 | grep -q 'inet 100\.64\.'; do sleep 1; done
# over TSW_BENCH_POLL_RUNS runs (default 10), with the address added at a
# random phase of the loop's one-second sleep.  Prints both and their ratio.
# Needs root (ip netns add); otherwise says so and exits 0.
set -u
cd "$(dirname "$0")/.." || exit 1
BIN=${TSW_BIN:-$PWD/${BUILD:-build}/bin/tailscale-wait}
if [ ! -x "$BIN" ]; then
	echo "bench-tailscale-wait: $BIN is not built (make all)" >&2
	exit 1
fi
exec /usr/bin/python3 - "$BIN" "${TSW_BENCH_RUNS:-100}" "${TSW_BENCH_POLL_RUNS:-10}" <<'PY'
import ctypes, math, os, random, socket, struct, subprocess, sys, time

BIN, RUNS, POLL_RUNS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
NS = f"tsw-bench-{os.getpid()}"
ADDR = "100.64.0.1/32"


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def pct(xs, p):  # nearest-rank percentile
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def netlink_add(ifindex):
    """Send the RTM_NEWADDR request `ip addr add` sends, and wait for the
    kernel's acknowledgement: the same event without fork/exec of ip."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    a = socket.inet_aton(ADDR.split("/")[0])
    attrs = struct.pack("=HH4s", 8, 2, a) + struct.pack("=HH4s", 8, 1, a)  # LOCAL, ADDRESS
    body = struct.pack("=BBBBI", socket.AF_INET, 32, 0, 0, ifindex) + attrs
    # RTM_NEWADDR; NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
    msg = struct.pack("=IHHII", 16 + len(body), 20, 0x1 | 0x4 | 0x200 | 0x400, 1, 0) + body
    t0 = time.perf_counter()
    sock.send(msg)
    ack = sock.recv(4096)
    t1 = time.perf_counter()
    sock.close()
    err = struct.unpack_from("=i", ack, 16)[0]
    if err:
        raise OSError(-err, "RTM_NEWADDR")
    return t0, t1


def one_waiter(direct):
    env = dict(os.environ, LOG_LEVEL="debug")
    p = subprocess.Popen([BIN, "--timeout", "10"], env=env, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:  # listening = its first view of the kernel is complete
        if "listening;" in line:
            break
    else:
        raise RuntimeError(f"tailscale-wait exited early ({p.wait()})")
    if direct:
        t0, t1 = netlink_add(socket.if_nametoindex("tailscale0"))
    else:
        t0 = time.perf_counter()
        ip("addr", "add", ADDR, "dev", "tailscale0")
        t1 = time.perf_counter()
    rc = p.wait(10)
    t2 = time.perf_counter()
    p.stderr.close()
    if rc != 0:
        raise RuntimeError(f"tailscale-wait exited {rc}")
    ip("addr", "del", ADDR, "dev", "tailscale0")
    return t2 - t0, t1 - t0


def one_loop():
    loop = "until ip addr show dev tailscale0 | grep -q 'inet 100\\.64\\.'; do sleep 1; done"
    p = subprocess.Popen(["sh", "-c", loop])
    time.sleep(0.2 + random.random())  # any phase of the 1 s sleep
    t0 = time.perf_counter()
    ip("addr", "add", ADDR, "dev", "tailscale0")
    rc = p.wait(10)
    t2 = time.perf_counter()
    if rc != 0:
        raise RuntimeError(f"shell loop exited {rc}")
    ip("addr", "del", ADDR, "dev", "tailscale0")
    return t2 - t0


r = subprocess.run(["ip", "netns", "add", NS], capture_output=True, text=True)
if r.returncode != 0:
    print(f"bench-tailscale-wait: skipped: cannot create a network namespace "
          f"({r.stderr.strip()}; needs root)")
    sys.exit(0)
try:
    # Enter the namespace (this process and so its children): `ip -n` would
    # add its own setns and mount work to every timing.
    fd = os.open(f"/run/netns/{NS}", os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)
    ip("tuntap", "add", "dev", "tailscale0", "mode", "tun")
    ip("link", "set", "tailscale0", "up")
    fast, direct = [], []
    for _ in range(RUNS):  # interleaved, so both see the same machine load
        fast.append(one_waiter(False))
        direct.append(one_waiter(True))
    slow = [one_loop() for _ in range(POLL_RUNS)]
finally:
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)

ms = lambda s: f"{s * 1000:8.2f} ms"  # noqa: E731


def line(label, xs):
    print(f"{label:<48} p50 {ms(pct(xs, 50))}  p99 {ms(pct(xs, 99))}  max {ms(max(xs))}")


total = [t for t, _ in fast]
p50, p99 = pct(total, 50), pct(total, 99)
d99 = pct([t for t, _ in direct], 99)
s50, s99 = pct(slow, 50), pct(slow, 99)
print(f"tailscale-wait, {RUNS} runs each:")
line("  `ip addr add` started -> exit", total)
line("    the ip command alone (fork, exec, request)", [i for _, i in fast])
line("  RTM_NEWADDR sent (as ip does) -> exit", [t for t, _ in direct])
line("    kernel acknowledgement alone", [i for _, i in direct])
print(f"shell loop with sleep 1, {POLL_RUNS} runs:")
line("  `ip addr add` started -> exit", slow)
print(f"ratio shell loop / tailscale-wait (ip addr add -> exit): p50 {s50 / p50:.0f}x  "
      f"p99 {s99 / p99:.0f}x")
print(f"target p99 < 10 ms: ip addr add -> exit {'met' if p99 < 0.010 else 'MISSED'} "
      f"({p99 * 1000:.2f} ms); RTM_NEWADDR -> exit {'met' if d99 < 0.010 else 'MISSED'} "
      f"({d99 * 1000:.2f} ms)")
PY
