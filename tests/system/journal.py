# SPDX-License-Identifier: AGPL-3.0-or-later
"""journal.py - reads a container's journal from the host for
tests/check-system.sh and looks for what a sandbox that breaks a program
leaves behind.

    journal.py scan     JOURNAL_DIR EXPECTED_FAILURES LABEL
    journal.py mustfail JOURNAL_DIR UNIT SCENARIO_LOG PATTERN LABEL

scan: every entry about an ankihost unit (anki-*.service/.timer, by UNIT=
for systemd's own messages and _SYSTEMD_UNIT= for the programs'), except
the deliberately broken anki-mustfail-* units and the invocations listed in
EXPECTED_FAILURES ("unit invocation-id" lines, written by runner.sh for runs
that must fail), must show no seccomp kill, no EPERM/EACCES/EROFS, no failed
unit and no unit that failed to start.  Any unit of the whole system that
failed is reported too.  Prints one "ok"/"FAIL" line.

mustfail: the same scan for one broken UNIT must find something matching
PATTERN (a regular expression: the mistake's own symptom, so the test
fails for the reason it is built for), and its scenario lines
(SCENARIO_LOG) must contain a FAIL: the harness reports the broken unit as
failing.  Prints one "ok"/"FAIL" line.
"""
import json
import re
import subprocess
import sys

# systemd's messages about a unit (from PID 1, field UNIT=)
SYSTEMD_BAD = re.compile(
    r"Failed with result|code=killed|code=dumped|status=31/SYS|Failed to start|"
    r"Failed at step|Start request repeated too quickly|"
    r"(Main|Control) process exited, code=exited, status=[1-9]")
# what a program says when the sandbox refuses it something
PROGRAM_BAD = re.compile(
    r"Operation not permitted|Permission denied|Read-only file system|Bad system call|"
    r"\bEPERM\b|\bEACCES\b|\bEROFS\b|seccomp", re.IGNORECASE)
OURS = re.compile(r"^anki-.*\.(service|timer)$")


_cache = {}


def entries(jdir):
    if jdir not in _cache:
        out = subprocess.run(["journalctl", "--directory", jdir, "-o", "json", "--no-pager",
                              "--all"], capture_output=True, text=True, timeout=120)
        got = []
        for line in out.stdout.splitlines():
            try:
                got.append(json.loads(line))
            except ValueError:
                continue
        _cache[jdir] = got
    return _cache[jdir]


def text(e):
    m = e.get("MESSAGE", "")
    if isinstance(m, list):  # journald hands non-UTF-8 messages out as bytes
        m = bytes(m).decode("utf-8", "replace")
    return m


def problems(jdir, want_unit, skip_invocations):
    """Lines about units accepted by want_unit(name) that show a problem."""
    found = []
    for e in entries(jdir):
        inv = e.get("INVOCATION_ID") or e.get("_SYSTEMD_INVOCATION_ID")
        if inv and inv in skip_invocations:
            continue
        msg = text(e)
        unit = e.get("UNIT") if e.get("_PID") == "1" else None
        if unit and want_unit(unit) and SYSTEMD_BAD.search(msg):
            found.append(f"{unit}: {msg}")
            continue
        punit = e.get("_SYSTEMD_UNIT", "")
        if punit and want_unit(punit) and e.get("_PID") != "1" and PROGRAM_BAD.search(msg):
            found.append(f"{punit}: {msg}")
    return found


def failed_anywhere(jdir, skip_invocations):
    """Any unit of the system that ended failed (other than expected runs)."""
    out = []
    for e in entries(jdir):
        unit = e.get("UNIT")
        if (e.get("_PID") == "1" and unit and "Failed with result" in text(e)
                and not unit.startswith("anki-mustfail-")
                and (e.get("INVOCATION_ID") not in skip_invocations)):
            out.append(f"{unit}: {text(e)}")
    return out


def cmd_scan(jdir, expected_file, label):
    skip = set()
    try:
        with open(expected_file) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    skip.add(parts[1])
    except FileNotFoundError:
        pass
    n = len(entries(jdir))
    ours = problems(jdir, lambda u: bool(OURS.match(u)) and not u.startswith("anki-mustfail-"),
                    skip)
    other = [p for p in failed_anywhere(jdir, skip) if not OURS.match(p.split(":")[0])]
    bad = ours + other
    name = (f"{label}: journal ({n} entries, {len(skip)} deliberate failures left out): "
            "no seccomp kill, EPERM/EACCES/EROFS or failed unit")
    if bad:
        print(f"FAIL {name}")
        for p in bad[:8]:
            print(f"     {p[:300]}")
    else:
        print(f"ok   {name}")
    return 1 if bad else 0


def cmd_mustfail(jdir, unit, scenario_log, pattern, label):
    found = [p for p in problems(jdir, lambda u: u == unit, set()) if re.search(pattern, p)]
    try:
        with open(scenario_log) as f:
            scen = [ln.rstrip() for ln in f if ln.startswith("FAIL ")]
    except FileNotFoundError:
        scen = []
    name = f"must-fail: {label} is reported as failing"
    if found and scen:
        print(f"ok   {name} (scenario: {len(scen)} failed checks, e.g. "
              f"\"{scen[0][5:][:100]}\"; journal: \"{found[0][:140]}\")")
        return 0
    print(f"FAIL {name}: the harness missed it (failed scenario checks: {len(scen)}, "
          f"journal lines matching {pattern!r}: {len(found)})")
    return 1


def main(argv):
    if len(argv) == 4 and argv[0] == "scan":
        return cmd_scan(*argv[1:])
    if len(argv) == 6 and argv[0] == "mustfail":
        return cmd_mustfail(*argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
