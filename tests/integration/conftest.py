"""Shared helpers for the integration tests.

The tests start the real programs (the sanitizer builds in $ANKIHOST_BIN,
set by tests/run-all.sh) on free loopback ports with temporary data
directories.  Fixture files come from ../shared/fixtures ($ANKIHOST_SHARED)
or from tests/fixtures for files committed to the project.
"""
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bin_path(name):
    d = os.environ.get("ANKIHOST_BIN") or str(ROOT / "build" / "san" / "bin")
    p = Path(d) / name
    if not p.exists():
        pytest.fail(f"{p} is not built (run make san)")
    return str(p)


def unicase_ext():
    """The unicase collation as a sqlite3 shell extension (build/unicase.so)."""
    d = Path(os.environ.get("ANKIHOST_BIN") or str(ROOT / "build" / "san" / "bin"))
    p = d.parents[1] / "unicase.so"
    if not p.exists():
        pytest.fail(f"{p} is not built (make san builds it)")
    return str(p.with_suffix(""))


def fixture_path(name):
    for d in (ROOT / "tests" / "fixtures",
              Path(os.environ.get("ANKIHOST_SHARED", ROOT.parent / "shared")) / "fixtures"):
        p = d / name
        if p.exists():
            return p
    pytest.skip(f"fixture {name} not available")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class Proc:
    """A program under test: started with an environment, stopped politely."""

    def __init__(self, args, env=None, cwd=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.args = args
        self.p = subprocess.Popen(args, env=full_env, cwd=cwd,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def stop(self, sig=15, timeout=15):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        out, err = self.p.communicate()
        self.stdout = out.decode(errors="replace")
        self.stderr = err.decode(errors="replace")
        return self.p.returncode


@pytest.fixture
def media_server(tmp_path, procs):
    """anki-sync-server for one user "user:pass", SYNC_BASE=tmp_path/base:
    (process, base URL, base)."""
    from syncclient import start_server
    base = tmp_path / "base"
    base.mkdir()
    p, url = start_server(procs, base, users=("user:pass",))
    return p, url, base


@pytest.fixture
def procs():
    """Collects started programs and stops any still running after the test."""
    started = []
    yield started
    for pr in started:
        if pr.p.poll() is None:
            pr.stop(sig=9)
