#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# nspawn-check.sh - runs ankihost's systemd units under a real systemd
# (Debian 12's, as PID 1 of a systemd-nspawn container), the closest this
# build machine gets to the NixOS VM tests (docs/nix.md):
#   * module: the units homeserver.ankiSync renders (tests/nix/
#     nspawn-units.nix: password-file user, hashed-password-file user, custom
#     baseDirectory, Tailscale, backups) with their scripts and the real
#     programs at the store paths the units name; a TUN tailscale0 that gets
#     its address only on request; two boots;
#   * debian: the contrib/systemd units with programs in /usr/local/bin and
#     users made with anki-sync-admin.
# Checks (run.sh, inside): Tailscale wait and listen-only-there, logins and
# full sync with the project's test client, no password in environment or
# unit, users file, backup success/verify/failure exit code, timer, online
# `systemd-analyze security --threshold=20`, zero failed units after a
# reboot.
#
# Not part of `make check`: it needs root, systemd-nspawn (Debian package
# systemd-container) and a Debian rootfs, made once with network access:
#   debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,python3,python3-zstandard,python3-cffi-backend,libsqlite3-0,libzstd1,libjansson4,libmicrohttpd12,libcurl4,libzip4,libssl3,libutf8proc2,libpcre2-8-0 bookworm build/nspawn-root http://deb.debian.org/debian
# Programs come from $ANKIHOST_BIN (default build/bin, from `make`).
# Prints one line per check and "N passed, M failed".
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
ROOT=$(realpath -m "${NSPAWN_ROOT:-$B/nspawn-root}")
BIN=$(realpath -m "${ANKIHOST_BIN:-$B/bin}")
W=$(realpath -m "$B/nspawn-check")
H=tests/nix/nspawn
PROGS="anki-sync-server anki-sync-admin tailscale-wait anki-backup"
PY=/usr/bin/python3

die() {
	echo "nspawn-check: $*" >&2
	exit 2
}
[ "$(id -u)" = 0 ] || die "must run as root"
command -v systemd-nspawn >/dev/null || die "systemd-nspawn missing (apt-get install systemd-container)"
[ -x "$ROOT/usr/bin/python3" ] && [ -e "$ROOT/lib/systemd/systemd" ] || die "no Debian rootfs at $ROOT (see the debootstrap line at the top of $0)"
for p in $PROGS; do [ -x "$BIN/$p" ] || die "$BIN/$p missing (make, or set ANKIHOST_BIN)"; done
FIXTURE=
for d in tests/fixtures "${ANKIHOST_SHARED:-../shared}/fixtures"; do
	[ -f "$d/v18-two-decks-revlog.anki2" ] && FIXTURE=$d/v18-two-decks-revlog.anki2 && break
done
[ -n "$FIXTURE" ] || die "fixture v18-two-decks-revlog.anki2 not found (tests/fixtures or ../shared/fixtures)"
rm -rf "$W"
mkdir -p "$W"

eval_json() { nix-instantiate --eval --strict --json -E "$1" 2>"$W/eval.err" || die "evaluation failed: $(cat "$W/eval.err")"; }
users=$(eval_json '(import ./tests/nix/vm/common.nix { pkgs = { anki = { }; writeShellScriptBin = _: _: null; }; lib = { }; }).users')
field() { "$PY" -c 'import json,sys; u=json.load(sys.stdin); print(u[sys.argv[1]][sys.argv[2]])' "$1" "$2" <<<"$users"; }
ALICE=$(field alice password)
BOB=$(field bob password)
BOBHASH=$(field bob hash)

reset_root() {
	local S=$ROOT/etc/systemd/system
	rm -rf "$ROOT"/results "$ROOT"/nix "$ROOT"/etc/ankihost "$ROOT"/etc/ankihost-test "$ROOT"/etc/ankihost-check \
		"$ROOT"/var/lib/private/anki* "$ROOT"/var/lib/anki* "$ROOT"/var/lib/fake-tailscale "$ROOT"/var/lib/ankihost-check \
		"$S"/anki* "$S"/tailscaled.service "$S"/ankihost-check.service "$S"/*.wants/anki* "$S"/*.wants/tailscaled.service \
		"$S"/*.wants/ankihost-check.service "$ROOT"/var/log/journal/* "$ROOT"/usr/local/lib/ankihost-check
	mkdir -p "$ROOT"/usr/local/bin "$ROOT"/usr/local/lib/ankihost-check "$ROOT"/etc/ankihost-check \
		"$ROOT"/var/lib/ankihost-check "$S"/multi-user.target.wants "$S"/timers.target.wants
	for p in $PROGS; do install -m 0755 "$BIN/$p" "$ROOT/usr/local/bin/$p"; done
	install -m 0644 tests/integration/syncclient.py "$H/client.py" "$ROOT"/usr/local/lib/ankihost-check/
	install -m 0755 "$H/run.sh" "$ROOT"/usr/local/lib/ankihost-check/run.sh
	install -m 0644 "$FIXTURE" "$ROOT"/usr/local/lib/ankihost-check/fixture.anki2
	printf '%s\n' "$BOB" >"$ROOT"/etc/ankihost-check/bob-password
	cat >"$S"/ankihost-check.service <<-'EOF'
		[Unit]
		Description=ankihost checks (nspawn-check.sh)
		[Service]
		Type=simple
		ExecStart=/usr/local/lib/ankihost-check/run.sh
	EOF
	ln -s ../ankihost-check.service "$S"/multi-user.target.wants/ankihost-check.service
	printf '%s\n' "$1" >"$ROOT"/etc/ankihost-check/mode
}

setup_module() {
	local S=$ROOT/etc/systemd/system
	eval_json 'import ./tests/nix/nspawn-units.nix { }' >"$W/units.json"
	"$PY" - "$W/units.json" "$ROOT" "$BIN" <<-'EOF' || die "installing the rendered units failed"
		import json, os, shutil, sys
		d, root, bindir = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
		for name, text in d["units"].items():
		    with open(os.path.join(root, "etc/systemd/system", name), "w") as f:
		        f.write(text)
		for path, text in d["scripts"].items():
		    os.makedirs(os.path.dirname(root + path), exist_ok=True)
		    with open(root + path, "w") as f:
		        f.write("#!/bin/bash\n" + text)
		    os.chmod(root + path, 0o755)
		for path, progs in d["packages"].items():
		    os.makedirs(root + path + "/bin", exist_ok=True)
		    for p in progs:
		        shutil.copy(os.path.join(bindir, p), root + path + "/bin/" + p)
	EOF
	cat >"$ROOT"/usr/local/lib/ankihost-check/fake-tailscaled <<-'EOF'
		#!/bin/bash
		# Stands in for tailscaled: a TUN tailscale0 that gets its address
		# once /var/lib/fake-tailscale/online exists.
		ip tuntap add dev tailscale0 mode tun
		ip link set tailscale0 up
		while [ ! -e /var/lib/fake-tailscale/online ]; do sleep 0.2; done
		ip addr add 100.64.0.1/32 dev tailscale0
		exec sleep infinity
	EOF
	chmod 0755 "$ROOT"/usr/local/lib/ankihost-check/fake-tailscaled
	printf '[Unit]\nDescription=stand-in tailscaled\n[Service]\nExecStart=/usr/local/lib/ankihost-check/fake-tailscaled\n' >"$S"/tailscaled.service
	ln -s ../anki-sync-server.service "$S"/multi-user.target.wants/anki-sync-server.service
	ln -s ../anki-sync-backup.timer "$S"/timers.target.wants/anki-sync-backup.timer
	install -d -m 0700 "$ROOT"/etc/ankihost-test
	printf '%s\n' "$ALICE" >"$ROOT"/etc/ankihost-test/alice
	printf '%s\n' "$BOBHASH" >"$ROOT"/etc/ankihost-test/bob.phc
	chmod 0400 "$ROOT"/etc/ankihost-test/*
}

setup_debian() {
	local S=$ROOT/etc/systemd/system
	install -m 0644 contrib/systemd/anki-sync-server.service contrib/systemd/anki-sync-backup.service \
		contrib/systemd/anki-sync-backup.timer "$S"/
	install -d -m 0755 "$ROOT"/etc/ankihost
	sed 's/^SYNC_HOST=.*/SYNC_HOST=127.0.0.1/' contrib/systemd/anki-sync-server.env >"$ROOT"/etc/ankihost/anki-sync-server.env
	printf '%s\n' "$BOB" | SYNC_USERS_FILE="$ROOT"/etc/ankihost/sync-users "$BIN"/anki-sync-admin user add bob >"$W/admin.log" 2>&1 ||
		die "anki-sync-admin user add failed: $(cat "$W/admin.log")"
	printf '%s\n' "$BOB" >"$ROOT"/etc/ankihost-check/bob-password-file
	ln -s ../anki-sync-server.service "$S"/multi-user.target.wants/anki-sync-server.service
	ln -s ../anki-sync-backup.timer "$S"/timers.target.wants/anki-sync-backup.timer
}

boot() { # boot NAME: boots until poweroff (a reboot, exit 133, boots again)
	local n rc
	for n in 1 2 3; do
		SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout 300 systemd-nspawn -D "$ROOT" --register=no --keep-unit -b \
			--private-network --console=pipe </dev/null >"$W/console-$1-$n.log" 2>&1
		rc=$?
		[ $rc -eq 133 ] || break
	done
	return 0
}

passed=0
failed=0
collect() {
	local log=$ROOT/results/log
	if [ -f "$log" ]; then
		cat "$log"
		passed=$((passed + $(grep -c '^ok ' "$log")))
		failed=$((failed + $(grep -c '^FAIL ' "$log")))
	fi
	if [ ! -e "$ROOT/results/done" ]; then
		echo "FAIL $1: the checks did not finish (journal: journalctl --directory=$ROOT/var/log/journal; console: $W)"
		failed=$((failed + 1))
	fi
	cp -r "$ROOT/var/log/journal" "$W/journal-$1" 2>/dev/null
}

reset_root module
setup_module
boot module
collect module

reset_root debian
setup_debian
boot debian
collect debian

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
