#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# check-system.sh - system tests under a real systemd (issue 12): ankihost's
# units booted in a Debian 12 container with systemd-nspawn, against the
# real programs.  Run by `make check` (tests/run-all.sh) and `make
# check-system`.  Two unit sets, one container boot sequence each:
#   * debian: contrib/systemd/ installed as the README says (users made with
#     the installed anki-sync-admin, a plain-password credential drop-in,
#     the env file, `systemctl enable`); later the Tailscale drop-in;
#   * module: the units homeserver.ankiSync renders (tests/system/
#     module-units.nix, offline Nix evaluation) with their store paths
#     rewritten to the installed programs (tests/system/nixunits.py).
# Inside, tests/system/runner.sh runs the scenarios (see its header) and
# tests/system/client.py drives the server with the project's own sync
# clients; afterwards this script reads the results and the journal from
# the host (tests/system/journal.py: no seccomp kill, EPERM/EACCES/EROFS or
# failed unit) and checks that two deliberately broken units were caught.
#
# How:
#   1. `make install DESTDIR=$BUILD/system/stage PREFIX=/usr/local` (builds
#      the release programs when needed);
#   2. the root file system, made once with debootstrap (minbase + systemd,
#      dpkg without fsync) and cached in $BUILD/system/rootfs (never
#      committed); the programs' runtime libraries (found with ldd and
#      dpkg -S on the host), python3 and python3-zstandard are installed
#      into it with apt, again only when missing;
#   3. per unit set a fresh overlay over the cached root
#      ($BUILD/system/run/SET, kept for inspection until the next run), the
#      staged programs copied into it, units and test files, then
#      `systemd-nspawn -b --private-network` until the runner powers off (a
#      reboot, exit 133, boots again);
#   4. the results, the journal scan, the must-fail verdicts, one timing
#      line per boot, and "N passed, M failed[, K skipped]".
# Where systemd-nspawn cannot run at all (not root, root only in a user
# namespace, no CAP_SYS_ADMIN, no namespaces) it says so and reports
# "0 passed, 0 failed", so the rest of `make check` still runs.  Anything
# else that keeps it from running (no debootstrap, no mirror) is a failure.
#
# Needs (Debian): debootstrap systemd-container nix-bin, network access to a
# Debian mirror the first time (about 290 MB on disk).  Environment: BUILD (build directory),
# DEBIAN_MIRROR, CHECK_SYSTEM_SETS ("debian module"), CHECK_SYSTEM_ROOTFS (a
# root made by this script for another build directory), CHECK_SYSTEM_MAKEFLAGS
# (extra make arguments, for development), ANKIHOST_SHARED (fixtures).
set -u
cd "$(dirname "$0")/.." || exit 2
START=$(date +%s)
B=${BUILD:-build}
S=$(realpath -m "$B/system")
ROOTFS=$(realpath -m "${CHECK_SYSTEM_ROOTFS:-$S/rootfs}")
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SETS=${CHECK_SYSTEM_SETS:-debian module}
PY=/usr/bin/python3
BOOT_TIMEOUT=${CHECK_SYSTEM_BOOT_TIMEOUT:-240}
# The container's own packages, besides the programs' runtime libraries.
BASE_INCLUDE=systemd,systemd-sysv,dbus,iproute2
APT_PACKAGES="python3 python3-zstandard"

SUITE=system
. tests/suite.sh
skipped=0
say() { echo "check-system: $*"; }
elapsed() { echo "$(($(date +%s) - START)) s"; }
cannot_run() {
	say "cannot run here: $*"
	echo "0 passed, 0 failed (system tests not run: $*)"
	exit 0
}

# ------------------------------------------------------------ can it run?
[ "$(id -u)" = 0 ] || cannot_run "not root (systemd-nspawn needs root)"
if ! awk '$1 == 0 && $2 == 0 && $3 == 4294967295 { ok = 1 } END { exit !ok }' /proc/self/uid_map; then
	cannot_run "root only inside a user namespace (uid_map: $(xargs </proc/self/uid_map)); systemd-nspawn needs the host's root"
fi
if [ $((0x$(awk '/^CapEff:/ { print $2 }' /proc/self/status) >> 21 & 1)) -ne 1 ]; then
	cannot_run "no CAP_SYS_ADMIN (a container without privilege?)"
fi
if ! out=$(unshare --mount --uts --ipc --net --pid --fork true 2>&1); then
	cannot_run "no privilege to create namespaces (unshare: $out)"
fi
for t in systemd-nspawn:systemd-container debootstrap:debootstrap nix-instantiate:nix-bin; do
	command -v "${t%%:*}" >/dev/null || broken "${t%%:*} missing: apt-get install ${t#*:} (make deps)"
done
FIXTURE=
for d in tests/fixtures "${ANKIHOST_SHARED:-../shared}/fixtures"; do
	[ -f "$d/v18-two-decks-revlog.anki2" ] && FIXTURE=$(realpath "$d/v18-two-decks-revlog.anki2") && break
done
[ -n "$FIXTURE" ] || broken "fixture v18-two-decks-revlog.anki2 not found (tests/fixtures or \$ANKIHOST_SHARED/fixtures)"
mkdir -p "$S"
exec 9>"$S/lock"
flock -n 9 || broken "another check-system run is using $S"
cleanup() { # unmount what an interrupted run left mounted
	local r
	for r in "$S"/run/*/root; do mountpoint -q "$r" && umount "$r"; done
	return 0
}
cleanup
trap cleanup EXIT

# ---------------------------------------------------- 1. build and stage
install_into() { # install_into ROOT
	# shellcheck disable=SC2086
	make --no-print-directory BUILD="$B" install DESTDIR="$1" PREFIX=/usr/local ${CHECK_SYSTEM_MAKEFLAGS:-} \
		>>"$S/make.log" 2>&1
}
: >"$S/make.log"
rm -rf "$S/stage"
install_into "$S/stage" || broken "make install failed (log: $S/make.log)"
say "programs built and staged ($(elapsed)): $(ls "$S/stage/usr/local/bin" | tr '\n' ' ')"

runtime_packages() { # the Debian packages holding the programs' shared libraries
	# One dpkg -S for every library under each of its names (ldd reports
	# /lib/..., dpkg may know /usr/lib/... after the /usr merge).
	"$PY" - "$S"/stage/usr/local/bin/* <<-'EOF'
		import os, subprocess, sys
		libs = set()
		for prog in sys.argv[1:]:
		    out = subprocess.run(["ldd", prog], capture_output=True, text=True).stdout
		    libs |= {w[2] for w in map(str.split, out.splitlines())
		             if len(w) > 2 and w[1] == "=>" and w[2].startswith("/")}
		names = {lib: {lib, os.path.realpath(lib), "/usr" + lib,
		               lib[4:] if lib.startswith("/usr/") else lib} for lib in libs}
		out = subprocess.run(["dpkg", "-S", *sorted(set().union(*names.values()))],
		                     capture_output=True, text=True).stdout
		owner = {}
		for line in out.splitlines():
		    pkgs, _, path = line.partition(": ")
		    for p in pkgs.split(", "):
		        owner.setdefault(path.strip(), p.split(":")[0])
		for lib in sorted(libs):
		    pkg = next((owner[n] for n in sorted(names[lib]) if n in owner), None)
		    print(pkg if pkg else "!" + lib)
	EOF
}
PKGS=$(runtime_packages | sort -u)
grep -q '^!' <<<"$PKGS" && broken "libraries not from a Debian package: $(grep '^!' <<<"$PKGS" | tr -d '!' | tr '\n' ' ')"
PKGS="$APT_PACKAGES $(tr '\n' ' ' <<<"$PKGS")"

# ------------------------------------------------------------- 2. rootfs
installed_in_root() {
	dpkg-query --admindir="$ROOTFS/var/lib/dpkg" -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
if [ ! -e "$ROOTFS/.ankihost-rootfs" ]; then
	say "making the Debian 12 root file system with debootstrap (once; cached in $ROOTFS)"
	rm -rf "$ROOTFS" "$ROOTFS.new"
	# dpkg without fsync: a throwaway test root, marked complete only at the
	# end; saves minutes on a busy machine.
	mkdir -p "$ROOTFS.new/etc/dpkg/dpkg.cfg.d"
	echo force-unsafe-io >"$ROOTFS.new/etc/dpkg/dpkg.cfg.d/ankihost-unsafe-io"
	debootstrap --variant=minbase --include=$BASE_INCLUDE bookworm "$ROOTFS.new" "$MIRROR" >"$S/debootstrap.log" 2>&1 ||
		broken "debootstrap failed (no network or mirror $MIRROR unreachable?), log: $S/debootstrap.log"
	echo "debootstrap --variant=minbase --include=$BASE_INCLUDE bookworm $MIRROR" >"$ROOTFS.new/.ankihost-rootfs"
	mv "$ROOTFS.new" "$ROOTFS"
	say "root file system ready ($(elapsed))"
fi
say "runtime packages: $PKGS ($(elapsed))"
missing=
for p in $PKGS; do installed_in_root "$p" || missing="$missing $p"; done
if [ -n "$missing" ]; then
	say "installing into the cached root with apt:$missing"
	# shellcheck disable=SC2086
	systemd-nspawn -q -D "$ROOTFS" --register=no --keep-unit -E DEBIAN_FRONTEND=noninteractive \
		/bin/sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends "$@" && apt-get clean' \
		sh $missing >"$S/apt.log" 2>&1 </dev/null || broken "apt-get install in the root failed, log: $S/apt.log"
	say "packages installed ($(elapsed))"
fi

# ---------------------------------------------------- 3. one unit set
# Test-only passwords: alice's reaches the server as a credential, bob's
# only as a PBKDF2 hash.
ALICE_PW="alice-credential-8c2e"
BOB_PW="bob hashes his password 42"
BOB_HASH=$(printf '%s\n' "$BOB_PW" | "$S/stage/usr/local/bin/anki-sync-server" --hash-password) ||
	broken "anki-sync-server --hash-password failed"

prepare() { # prepare SET: a fresh overlay over the cached root, with the programs and the test files
	local set=$1 T
	D=$S/run/$set
	M=$D/root
	if mountpoint -q "$M"; then umount "$M" || broken "cannot unmount $M"; fi
	rm -rf "$D"
	mkdir -p "$D/upper" "$D/work" "$M"
	if ! mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$D/upper,workdir=$D/work" "$M" 2>"$D/mount.err"; then
		say "$set: overlayfs unavailable ($(cat "$D/mount.err")); copying the root instead"
		cp -a "$ROOTFS/." "$M/" || broken "cannot copy the root to $M"
	fi
	# What `make install DESTDIR=... PREFIX=/usr/local` staged (step 1): one
	# make run instead of one per set (make alone takes tens of seconds on a
	# busy 2-core machine).
	cp -a "$S/stage/." "$M/" || broken "cannot copy the installed programs into $M"
	if out=$(chroot "$M" /bin/sh -c 'for f in /usr/local/bin/*; do ldd "$f"; done' 2>&1 | grep 'not found'); then
		broken "$set: libraries missing in the root: $out"
	fi
	T=$M/usr/local/lib/ankihost-test
	install -d "$T" "$M/etc/ankihost-test" "$M/etc/systemd/system/multi-user.target.wants"
	install -m 0755 tests/system/runner.sh tests/system/fake-tailscaled "$T/"
	install -m 0644 tests/system/client.py tests/integration/syncclient.py tests/integration/normalsync.py \
		tests/integration/mediaclient.py contrib/systemd/anki-sync-server.service.d/tailscale.conf "$T/"
	install -m 0644 "$FIXTURE" "$T/fixture.anki2"
	cat >"$M/etc/systemd/system/ankihost-test.service" <<-'EOF'
		[Unit]
		Description=ankihost system test runner (tests/check-system.sh)
		[Service]
		Type=simple
		ExecStart=/usr/local/lib/ankihost-test/runner.sh
	EOF
	cat >"$M/etc/systemd/system/tailscaled.service" <<-'EOF'
		[Unit]
		Description=stand-in for tailscaled (tests/system/fake-tailscaled)
		[Service]
		ExecStart=/usr/local/lib/ankihost-test/fake-tailscaled
	EOF
	ln -s ../ankihost-test.service ../tailscaled.service "$M/etc/systemd/system/multi-user.target.wants/"
	printf '%s\n' "$ALICE_PW" >"$M/etc/ankihost-test/pw-alice"
	printf '%s\n' "$BOB_PW" >"$M/etc/ankihost-test/pw-bob"
	printf '%s\n' "$ALICE_PW" "$BOB_PW" "$BOB_HASH" "${BOB_HASH##*\$}" >"$M/etc/ankihost-test/secrets"
}

setup_debian() { # the steps of the README's Debian section
	local E=$M/etc/systemd/system U=contrib/systemd/anki-sync-server.service uf admin creds u enable=
	# Every unit of contrib/systemd (anki-connectd's too, once it is there);
	# those with an [Install] section are enabled.
	install -m 0644 contrib/systemd/*.service contrib/systemd/*.timer "$E/"
	for u in contrib/systemd/*.service contrib/systemd/*.timer; do
		grep -q '^\[Install\]' "$u" && enable="$enable $(basename "$u")"
	done
	install -d -m 0755 "$M/etc/ankihost"
	install -m 0644 contrib/systemd/anki-sync-server.env "$M/etc/ankihost/"
	# The users file an admin edits: the source of the unit's credential when
	# SYNC_USERS_FILE is %d/NAME (it must exist before the first start), else
	# the path the unit gives (%S = /var/lib, a state directory that exists
	# once the service ran: the runner adds bob after the first start).
	uf=$(sed -n 's/^Environment=SYNC_USERS_FILE=//p' $U)
	case $uf in
	%d/*) admin=$(sed -n "s#^LoadCredential=${uf#%d/}:##p" $U) ;;
	*) admin=${uf//%S//var/lib} ;;
	esac
	[ -n "$admin" ] || broken "debian: cannot tell which users file $U reads (SYNC_USERS_FILE=$uf)"
	seed=
	case $admin in
	/var/lib/*) seed=bob ;;
	*)
		printf '%s\n' "$BOB_PW" | chroot "$M" env SYNC_BASE=/var/lib/anki-sync-server SYNC_USERS_FILE="$admin" \
			anki-sync-admin user add bob >"$D/admin.log" 2>&1 ||
			broken "debian: anki-sync-admin user add bob failed: $(cat "$D/admin.log")"
		;;
	esac
	# A plain-password user, the way the unit's comment shows.
	install -d -m 0700 "$M/etc/ankihost/passwords"
	(umask 077 && printf '%s\n' "$ALICE_PW" >"$M/etc/ankihost/passwords/alice")
	install -d "$E/anki-sync-server.service.d"
	printf '[Service]\nEnvironment=SYNC_USER1=alice\nLoadCredential=alice:/etc/ankihost/passwords/alice\n' \
		>"$E/anki-sync-server.service.d/alice.conf"
	creds=$(cat $U "$E/anki-sync-server.service.d/alice.conf" | sed -n 's/^LoadCredential=\([^:]*\):.*/\1/p' | tr '\n' ' ')
	# shellcheck disable=SC2086
	systemctl --root="$M" enable $enable >"$D/enable.log" 2>&1 ||
		broken "debian: systemctl enable failed: $(cat "$D/enable.log")"
	cat >"$M/etc/ankihost-test/test.env" <<-EOF
		SET=debian
		DATA=/var/lib/private/anki-sync-server
		BACKUP_DEST=/var/lib/private/anki-sync-server-backup
		ADMIN_FILE=$admin
		SEED_USER=$seed
		CRED_NAMES="${creds% }"
		PW_USER=alice
		HASH_USER=bob
		TS_BOOTS="2 3"
		LAST_BOOT=3
		MUSTFAIL=1
	EOF
}

setup_module() {
	eval_json() { nix-instantiate --eval --strict --json -E "$1" 2>"$D/eval.err"; }
	eval_json 'import ./tests/system/module-units.nix { }' >"$D/units.json" ||
		broken "module: evaluation failed: $(grep -v nixbld "$D/eval.err")"
	$PY tests/system/nixunits.py "$D/units.json" "$M" >"$D/nixunits.log" 2>&1 ||
		broken "module: installing the rendered units failed: $(cat "$D/nixunits.log")"
	install -d -m 0700 "$M/etc/ankihost-test"
	(umask 077 && printf '%s\n' "$ALICE_PW" >"$M/etc/ankihost-test/alice" && printf '%s\n' "$BOB_HASH" >"$M/etc/ankihost-test/bob.phc")
	cat >"$M/etc/ankihost-test/test.env" <<-EOF
		SET=module
		DATA=/var/lib/private/anki-data
		BACKUP_DEST=/var/lib/private/anki-sync-server-backup
		ADMIN_FILE=/run/anki-sync-server/users
		RUNTIME_USERS=/run/anki-sync-server/users
		CRED_NAMES="alice bob"
		PW_USER=alice
		HASH_USER=bob
		TS_BOOTS="1 2"
		LAST_BOOT=2
		MUSTFAIL=0
	EOF
}

boot() { # boots until the runner powers off; a reboot (exit 133) boots again
	local n rc
	for n in 1 2 3 4 5; do
		SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout -k 10 "$BOOT_TIMEOUT" systemd-nspawn -q -D "$M" --register=no \
			--keep-unit -b --private-network --console=pipe --machine="ankihost-$1" </dev/null >"$D/console-$n.log" 2>&1
		rc=$?
		[ $rc -eq 133 ] || break
	done
	[ $rc -eq 124 ] && echo "FAIL $1: boot $n did not finish within $BOOT_TIMEOUT s (console: $D/console-$n.log)"
	return 0
}

timing() { # timing SET FILE: seconds per step of the runner, for the log (not counted)
	[ -f "$2" ] || return 0
	awk -v set="$1" '{ b = $1; t = $2; $1 = $2 = ""; sub(/^ +/, "")
		if (NR > 1 && b == pb) line = line sprintf(" %s %.1f s,", pn, t - pt)
		if (NR > 1 && b != pb) { print "time " set " boot " pb ":" line; line = "" }
		pb = b; pt = t; pn = $0 }
		END { if (NR) print "time " set " boot " pb ":" line }' "$2"
}

count() { # count LINES: adds ok/FAIL/skip lines to the totals
	passed=$((passed + $(grep -c '^ok ' <<<"$1")))
	failed=$((failed + $(grep -c '^FAIL ' <<<"$1")))
	skipped=$((skipped + $(grep -c '^skip ' <<<"$1")))
}

collect() { # collect SET: results, journal scan, must-fail verdicts
	local set=$1 out j=$M/var/log/journal
	out=$(cat "$M/results/log" 2>/dev/null)
	[ -e "$M/results/done" ] || out="$out
FAIL $set: the runner did not finish (journal: journalctl --directory=$D/upper/var/log/journal; console: $D/console-*.log)
$(tail -n 5 "$(ls -t "$D"/console-*.log | head -1)" | sed 's/^/     /')"
	out="$out
$($PY tests/system/journal.py scan "$j" "$M/results/expected-failures" "$set")"
	if [ -e "$M/results/mustfail-rwpaths.log" ] || [ "$set" = debian ]; then
		out="$out
$($PY tests/system/journal.py mustfail "$j" anki-mustfail-rwpaths.service "$M/results/mustfail-rwpaths.log" \
			'Read-only file system' "a server unit whose SYNC_BASE is outside its StateDirectory/ReadWritePaths")
$($PY tests/system/journal.py mustfail "$j" anki-mustfail-seccomp.service "$M/results/mustfail-seccomp.log" \
			'status=31/SYS' "a server unit whose SystemCallFilter kills fdatasync/fsync")"
	fi
	echo "$out"
	count "$out"
	timing "$set" "$M/results/timing"
	umount "$M" 2>/dev/null
}

for set in $SETS; do
	case $set in debian | module) ;; *) broken "unknown unit set \"$set\" (CHECK_SYSTEM_SETS: debian, module)" ;; esac
	prepare "$set"
	"setup_$set"
	say "$set: booting ($(elapsed))"
	bootout=$(boot "$set")
	[ -n "$bootout" ] && echo "$bootout" && count "$bootout"
	collect "$set"
done

say "finished in $(elapsed)"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped (the skip lines above say why)"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
