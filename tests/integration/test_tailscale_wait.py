# SPDX-License-Identifier: AGPL-3.0-or-later
"""Integration tests of tailscale-wait against the real kernel.

Each test makes its own network namespace (unique name: pid + counter) with
an interface named tailscale0 (a TUN device, as tailscaled makes, or a veth
pair where IPv6 duplicate address detection needs a carrier), runs the
program inside it with `ip netns exec`, and deletes the namespace afterwards
whatever happens.  Every wait is bounded.

Without the privilege to create namespaces the namespace tests are skipped
with that reason; the netlink parsing and the decision logic are still
covered by tests/unit/test_nladdr.c on recorded kernel messages.
"""
import itertools
import os
import re
import subprocess
import threading
import time
import warnings

import pytest

from conftest import bin_path

_counter = itertools.count()
_warned = []
V4_MSG = "an IPv4 address in 100.64.0.0/10 or an IPv6 address in fd7a:115c:a1e0::/48"


def run_ip(*args):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)} failed: {r.stderr.strip()}")


class Waiter:
    """A running tailscale-wait; stderr is collected line by line."""

    def __init__(self, netns, args, log_level="debug"):
        env = dict(os.environ, LOG_LEVEL=log_level)
        env.pop("JOURNAL_STREAM", None)
        cmd = ["ip", "netns", "exec", netns, bin_path("tailscale-wait"), *args]
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.t_first = self.t_ready = None
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.t_exit = None

    def _read(self):
        for line in self.p.stderr:
            with self.cond:
                if not self.lines:
                    self.t_first = time.monotonic()  # the program is in main()
                self.lines.append(line.rstrip("\n"))
                if "listening;" in line:
                    self.t_ready = time.monotonic()
                self.cond.notify_all()

    def wait_line(self, needle, timeout=10):
        """Block until a stderr line contains needle (the program logs
        "listening" once its first view of the kernel state is complete)."""
        end = time.monotonic() + timeout
        with self.cond:
            while not any(needle in ln for ln in self.lines):
                left = end - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    break
                self.cond.wait(min(left, 0.1))
            if not any(needle in ln for ln in self.lines):
                raise AssertionError(f"no line with {needle!r}; got {self.lines}")

    def running(self):
        return self.p.poll() is None

    @property
    def stderr(self):
        with self.cond:
            return "\n".join(self.lines)

    def finish(self, timeout=10):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"tailscale-wait still running after {timeout}s: {self.lines}")
        self.t_exit = time.monotonic()
        self.reader.join(5)
        self.stdout = self.p.stdout.read()
        self.p.stdout.close()
        self.p.stderr.close()
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(10)
        self.reader.join(5)
        for f in (self.p.stdout, self.p.stderr):
            if not f.closed:
                f.close()


class Netns:
    def __init__(self, name):
        self.name = name
        self.waiters = []

    def ip(self, *args):
        run_ip("-n", self.name, *args)

    def tun(self, up=True, name="tailscale0"):
        self.ip("tuntap", "add", "dev", name, "mode", "tun")
        if up:
            self.ip("link", "set", name, "up")

    def addr(self, cidr, dev="tailscale0", *extra):
        self.ip("addr", "add", cidr, "dev", dev, *extra)

    def start(self, *args, log_level="debug", ready=True):
        w = Waiter(self.name, list(args), log_level)
        self.waiters.append(w)
        if ready:
            w.wait_line("listening;")
        return w


@pytest.fixture
def netns():
    name = f"tsw-{os.getpid()}-{next(_counter)}"
    try:
        r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True,
                           timeout=10)
    except FileNotFoundError:
        pytest.skip("the ip command (iproute2) is not installed; netlink parsing is "
                    "covered by the unit tests on recorded messages")
    if r.returncode != 0:
        why = (f"cannot create network namespaces here ({r.stderr.strip()}: needs root or "
               "CAP_SYS_ADMIN); netlink parsing is covered by the unit tests on recorded "
               "messages (tests/unit/test_nladdr.c)")
        if not _warned:  # shown in pytest's summary even without -rs
            _warned.append(True)
            warnings.warn(f"tailscale-wait namespace tests skipped: {why}")
        pytest.skip(why)
    ns = Netns(name)
    try:
        yield ns
    finally:
        for w in ns.waiters:
            w.kill()
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def info_lines(w):
    return [ln for ln in w.lines if " info: " in ln]


def test_address_already_present(netns):
    netns.tun()
    netns.addr("100.64.0.1/32")
    w = netns.start("--print", "--timeout", "10", log_level="info", ready=False)
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.0.1\n"
    assert w.t_exit - w.t0 < 3
    # one line when the wait starts, one when it ends, with the elapsed time
    lines = info_lines(w)
    assert len(w.lines) == 2, w.lines
    assert f"waiting up to 10 s for {V4_MSG} on tailscale0" in lines[0]
    assert re.search(r"found 100\.64\.0\.1 on tailscale0 after \d+\.\d{3} s$", lines[1])


def test_address_added_one_second_after_start(netns):
    netns.tun()
    w = netns.start("--print", "--timeout", "20")
    time.sleep(max(0.0, 1.0 - (time.monotonic() - w.t0)))
    assert w.running(), w.lines
    t_add = time.monotonic()
    netns.addr("100.100.1.2/32")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.100.1.2\n"
    # seen within milliseconds, not at the next tick of some loop
    assert w.t_exit - t_add < 0.5, w.t_exit - t_add
    # the logged elapsed time covers at least the wait after "listening"
    m = re.search(r"found 100\.100\.1\.2 on tailscale0 after (\d+\.\d+) s", w.stderr)
    assert m, w.stderr
    assert t_add - w.t_ready - 0.01 <= float(m.group(1)) <= w.t_exit - w.t0, w.stderr


def test_interface_created_after_start(netns):
    w = netns.start("--print", "--timeout", "20")
    assert "interface tailscale0 does not exist" in w.stderr
    time.sleep(0.3)
    assert w.running()
    netns.tun()
    time.sleep(0.3)
    assert w.running(), "returned with no address"
    netns.addr("100.64.7.7/32")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.7.7\n"


def test_wrong_range_ignored_until_right_one(netns):
    netns.tun()
    for a in ("10.0.0.1/32", "100.63.255.255/32", "100.128.0.1/32", "192.168.1.1/24"):
        netns.addr(a)
    for a in ("fd7a:115c:a1e1::1/128", "fd7a:115c:a1df::1/128", "fe80::1/64"):
        netns.addr(a, "tailscale0", "nodad")
    w = netns.start("--print", "--timeout", "20")
    assert "with no address in range" in w.stderr
    time.sleep(0.5)
    assert w.running(), w.lines
    netns.addr("100.127.255.254/32")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.127.255.254\n"


def test_ipv6_only(netns):
    netns.tun()
    netns.addr("100.64.0.1/32")
    w = netns.start("--family", "6", "--print", "--timeout", "20")
    time.sleep(0.5)
    assert w.running(), "took an IPv4 address under --family 6"
    netns.addr("fd7a:115c:a1e0:ab12:4843:cd96:6258:b240/128", "tailscale0", "nodad")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "fd7a:115c:a1e0:ab12:4843:cd96:6258:b240\n"


def test_ipv4_only(netns):
    netns.tun()
    netns.addr("fd7a:115c:a1e0::1/128", "tailscale0", "nodad")
    w = netns.start("--family", "4", "--print", "--timeout", "20")
    time.sleep(0.5)
    assert w.running(), "took an IPv6 address under --family 4"
    netns.addr("100.64.0.2/32")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.0.2\n"


def test_tentative_ipv6_ignored_until_dad_done(netns):
    # A veth whose peer is down has no carrier, so DAD cannot finish and the
    # address stays tentative: the kernel would refuse bind() on it.
    netns.ip("link", "add", "tailscale0", "type", "veth", "peer", "name", "peer0")
    netns.ip("link", "set", "tailscale0", "up")
    netns.addr("fd7a:115c:a1e0::5/128")
    show = subprocess.run(["ip", "-n", netns.name, "-6", "addr", "show", "dev", "tailscale0"],
                          capture_output=True, text=True, timeout=10).stdout
    assert "tentative" in show
    w = netns.start("--print", "--timeout", "20")
    assert "fd7a:115c:a1e0::5 (tentative" in w.stderr
    time.sleep(0.7)
    assert w.running(), "returned a tentative address"
    netns.ip("link", "set", "peer0", "up")  # carrier: DAD runs, ~1 s
    assert w.finish(timeout=15) == 0, w.stderr
    assert w.stdout == "fd7a:115c:a1e0::5\n"


def test_specific_address(netns):
    netns.tun()
    netns.addr("100.64.0.1/32")
    netns.addr("100.64.0.2/32")
    w = netns.start("--address", "100.64.0.3", "--print", "--timeout", "20")
    assert "for address 100.64.0.3 on tailscale0" in w.stderr
    time.sleep(0.5)
    assert w.running()
    netns.addr("100.64.0.3/32")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.0.3\n"


def test_custom_prefix_and_interface(netns):
    netns.tun(name="wg7")
    netns.addr("10.20.30.40/24", "wg7")
    w = netns.start("--interface", "wg7", "--prefix", "10.20.0.0/16", "--prefix",
                    "192.0.2.0/24", "--print", "--timeout", "10", ready=False)
    assert w.finish() == 0, w.stderr
    assert w.stdout == "10.20.30.40\n"


def test_timeout_returns_1_within_ten_percent(netns):
    # The program counts from its own start, so the time is taken from its
    # first log line (written in main) to its exit: process start-up (ip netns
    # exec, ASan) on a busy machine is not the program's to control.
    limit = 3.0
    w = netns.start("--timeout", str(limit), log_level="info", ready=False)
    rc = w.finish(timeout=limit + 5)
    assert rc == 1, w.stderr
    elapsed = w.t_exit - w.t_first
    assert limit * 0.98 <= elapsed <= limit * 1.1, elapsed
    assert w.t_exit - w.t0 <= limit + 2
    line = [ln for ln in w.lines if "timed out" in ln]
    assert line, w.lines
    own = float(re.search(r"timed out after (\d+\.\d+) s", line[0]).group(1))
    assert limit <= own <= limit * 1.02, own
    assert f"waiting for {V4_MSG} on tailscale0" in line[0]
    assert "interface tailscale0 does not exist" in line[0]
    assert len(w.lines) == 2, w.lines


def test_timeout_message_describes_interface(netns):
    netns.tun(up=False)
    netns.addr("100.64.0.1/32")
    w = netns.start("--timeout", "0.3", ready=False)
    assert w.finish() == 1
    assert re.search(r"timed out after 0\.[3-9]\d* s waiting for .* on tailscale0: "
                     r"interface tailscale0 \(index \d+\) is down; in range: 100\.64\.0\.1",
                     w.stderr), w.stderr


def test_timeout_zero_checks_once(netns):
    netns.tun()
    w = netns.start("--timeout", "0", ready=False)
    assert w.finish() == 1
    netns.addr("100.64.0.1/32")
    w = netns.start("--timeout", "0", "--print", ready=False)
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.0.1\n"


def test_removed_and_readded(netns):
    # The address is there but the link is down; it is removed, the link
    # comes up, and only the re-added address may end the wait.
    netns.tun(up=False)
    netns.addr("100.64.0.5/32")
    w = netns.start("--print", "--timeout", "20")
    assert "is down; in range: 100.64.0.5" in w.stderr
    netns.ip("addr", "del", "100.64.0.5/32", "dev", "tailscale0")
    netns.ip("link", "set", "tailscale0", "up")
    time.sleep(0.5)
    assert w.running(), "the removal was missed"
    netns.addr("100.64.0.5/32")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.0.5\n"


def test_down_then_up(netns):
    netns.tun()
    netns.addr("100.64.0.6/32")
    netns.ip("link", "set", "tailscale0", "down")
    w = netns.start("--print", "--timeout", "20")
    time.sleep(0.3)
    assert w.running(), "took an address on a link that is down"
    netns.ip("link", "set", "tailscale0", "up")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.0.6\n"


def test_renamed_interface_is_followed_by_index(netns):
    netns.tun(up=False)
    netns.addr("100.64.0.7/32")
    w = netns.start("--print", "--timeout", "20")
    netns.ip("link", "set", "tailscale0", "name", "ts-old")
    netns.tun(up=True)  # a new tailscale0, no address
    netns.addr("10.1.1.1/32")
    time.sleep(0.3)
    assert w.running()
    netns.ip("link", "set", "ts-old", "up")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.0.7\n"
    assert "now named ts-old" in w.stderr


def test_interface_renamed_into_the_name(netns):
    netns.tun(name="tmp0")
    netns.addr("100.64.0.8/32", "tmp0")
    w = netns.start("--print", "--timeout", "20")
    time.sleep(0.3)
    assert w.running(), "took an address of another interface"
    netns.ip("link", "set", "tmp0", "down")
    netns.ip("link", "set", "tmp0", "name", "tailscale0")
    netns.ip("link", "set", "tailscale0", "up")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.0.8\n"


def test_broken_stdout_pipe_is_2(netns):
    netns.tun()
    netns.addr("100.64.0.1/32")
    env = dict(os.environ, LOG_LEVEL="info")
    rd, wr = os.pipe()
    os.close(rd)  # nobody will read: writing gives EPIPE
    try:
        r = subprocess.run(["ip", "netns", "exec", netns.name, bin_path("tailscale-wait"),
                            "--print", "--timeout", "5"], env=env, stdout=wr,
                           stderr=subprocess.PIPE, text=True, timeout=20)
    finally:
        os.close(wr)
    assert r.returncode == 2, r.stderr
    assert "cannot write the address on standard output: Broken pipe" in r.stderr


def test_deleted_and_recreated(netns):
    netns.tun()
    netns.addr("10.0.0.1/32")
    w = netns.start("--print", "--timeout", "20")
    netns.ip("link", "del", "tailscale0")
    time.sleep(0.3)
    assert w.running()
    assert "was deleted" in w.stderr
    netns.tun()
    netns.addr("100.64.0.9/32")
    assert w.finish() == 0, w.stderr
    assert w.stdout == "100.64.0.9\n"


def test_lost_notifications_are_recovered(netns, tmp_path):
    # Stop the waiter, flood its receive queue until the kernel drops
    # notifications (ENOBUFS), add the wanted address last (its notification
    # is lost with the rest), then let it run: it must notice the loss, ask
    # the kernel again, and find the address in that answer.
    import signal
    netns.tun()
    w = netns.start("--address", "100.64.0.3", "--print", "--timeout", "30")
    batch = tmp_path / "flood"
    batch.write_text("".join(f"addr add 10.{i // 250}.{i % 250}.1/32 dev tailscale0\n"
                             for i in range(3000)))
    w.p.send_signal(signal.SIGSTOP)
    try:
        run_ip("-n", netns.name, "-batch", str(batch))
        netns.addr("100.64.0.3/32")
    finally:
        w.p.send_signal(signal.SIGCONT)
    assert w.finish(timeout=20) == 0, w.stderr
    assert w.stdout == "100.64.0.3\n"
    assert "lost rtnetlink notifications" in w.stderr


def test_write_file(netns, tmp_path):
    netns.tun()
    netns.addr("fd7a:115c:a1e0::42/128", "tailscale0", "nodad")
    target = tmp_path / "address"
    target.write_text("stale\n")
    w = netns.start("--write", str(target), "--timeout", "10", ready=False)
    assert w.finish() == 0, w.stderr
    assert w.stdout == ""
    assert target.read_text() == "fd7a:115c:a1e0::42\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["address"]


def test_write_failure_is_2(netns, tmp_path):
    netns.tun()
    netns.addr("100.64.0.1/32")
    w = netns.start("--write", str(tmp_path / "no" / "such" / "dir"), "--timeout", "10",
                    ready=False)
    assert w.finish() == 2
    assert "cannot write the address to" in w.stderr


# Runs argv with socket(AF_NETLINK, ...) refused by a seccomp filter, the way
# systemd's RestrictAddressFamilies= refuses it (EAFNOSUPPORT).
DENY_NETLINK = r"""
import ctypes, os, struct, sys
ALLOW, ERRNO = 0x7fff0000, 0x00050000
prog = [  # (code, jt, jf, k): classic BPF over struct seccomp_data
    (0x20, 0, 0, 4), (0x15, 0, 5, 0xc000003e),  # arch == x86_64?
    (0x20, 0, 0, 0), (0x15, 0, 3, 41),          # nr == socket?
    (0x20, 0, 0, 16), (0x15, 0, 1, 16),         # args[0] == AF_NETLINK?
    (0x06, 0, 0, ERRNO | 97), (0x06, 0, 0, ALLOW)]
raw = b"".join(struct.pack("=HBBI", *i) for i in prog)
buf = ctypes.create_string_buffer(raw, len(raw))
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fp = Prog(len(prog), ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fp), 0, 0):
    sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
"""


def test_netlink_failure_is_2():
    if os.uname().machine != "x86_64":
        pytest.skip("the seccomp filter of this test is written for x86_64")
    env = dict(os.environ, LOG_LEVEL="info")
    r = subprocess.run(["/usr/bin/python3", "-c", DENY_NETLINK, bin_path("tailscale-wait"),
                        "--timeout", "5"], env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, r.stderr
    assert "netlink: cannot open an rtnetlink socket (is AF_NETLINK allowed" in r.stderr
    assert "Address family not supported" in r.stderr
    assert "timed out" not in r.stderr


BAD_ARGS = [
    (["--bogus"], "unknown option '--bogus'"),
    (["-x"], "unknown option '-x'"),
    (["--timeout"], "needs a value"),
    (["--timeout", "abc"], "--timeout must be a number"),
    (["--timeout", "-1"], "--timeout must be a number"),
    (["--timeout", "nan"], "--timeout must be a number"),
    (["--timeout", "1e7"], "--timeout must be a number"),
    (["--family", "5"], "--family must be 4, 6 or any"),
    (["--prefix", "100.64.0.1/10"], "did you mean 100.64.0.0/10"),
    (["--prefix", "100.64.0.0/33"], "prefix length"),
    (["--prefix", "tailscale"], "is not an IPv4 address"),
    (["--address", "100.64.0.0/10"], "use --prefix"),
    (["--address", "1.2.3.4", "--prefix", "1.2.3.0/24"], "exclude each other"),
    (["--address", "1.2.3.4", "--address", "1.2.3.5"], "given twice"),
    (["--family", "6", "--address", "100.64.0.1"], "not an IPv6 address"),
    (["--interface", "much-too-long-name0"], "not an interface name"),
    (["--interface", "a/b"], "not an interface name"),
    (["--write", ""], "needs a file name"),
    (["extra"], "unexpected argument 'extra'"),
]


@pytest.mark.parametrize("args,why", BAD_ARGS, ids=[" ".join(a) or "empty" for a, _ in BAD_ARGS])
def test_bad_arguments_are_2(args, why):
    r = subprocess.run([bin_path("tailscale-wait"), *args], capture_output=True, text=True,
                       timeout=10, env=dict(os.environ, LOG_LEVEL="info"))
    assert r.returncode == 2, r.stderr
    assert why in r.stderr
    assert r.stdout == ""


def test_bad_log_level_is_2():
    r = subprocess.run([bin_path("tailscale-wait")], capture_output=True, text=True, timeout=10,
                       env=dict(os.environ, LOG_LEVEL="loud"))
    assert r.returncode == 2
    assert "LOG_LEVEL" in r.stderr


def test_help():
    r = subprocess.run([bin_path("tailscale-wait"), "--help"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES"):
        assert f"\n{section}\n" in "\n" + r.stdout
    assert "--address ADDR | --prefix CIDR..." in r.stdout
