#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# runner.sh - the scenarios of tests/check-system.sh, inside the booted
# container.  ankihost-test.service (Type=simple; a oneshot would deadlock
# on `systemctl is-system-running --wait`) starts it at every boot; it
# appends "ok ..."/"FAIL ..."/"skip ..." lines to /results/log, notes
# deliberately failed invocations in /results/expected-failures (the host
# leaves them out of its journal scan), then reboots or powers off.
#
# Settings come from /etc/ankihost-test/test.env (written by the host):
#   SET            module | debian (the label of every line)
#   DATA           the server's real data directory (/var/lib/private/...)
#   BACKUP_DEST    the backup's real destination directory
#   ADMIN_FILE     the users file an admin edits with anki-sync-admin
#   CRED_NAMES     credentials the server unit must have while it runs
#   PW_USER        a user with a plain password credential (full sync etc.)
#   HASH_USER      a user with a hashed password
#   TS_BOOTS       boots (1-based) where Tailscale must gate the server
#   LAST_BOOT      the boot that checks "after a reboot" and powers off
#   MUSTFAIL       1: also run the deliberately broken units (once)
#   RUNTIME_USERS  the users file the unit builds at start (module), if any
#   SEED_USER      a user to add with anki-sync-admin once the server runs
#                  (when ADMIN_FILE lives in a state directory), if any
# Passwords for the clients: /etc/ankihost-test/pw-<user>; every secret the
# units must not expose (passwords and hashes): /etc/ankihost-test/secrets.
#
# Per boot (N = /var/lib/ankihost-test/boot):
#   TS_BOOTS: the server waits ("activating", listening nowhere) until the
#   TUN tailscale0 gets 100.64.0.1 a few seconds after boot (fake-tailscaled,
#   a second after this runner saw the wait), starts only then and listens
#   only there;
#   boot 1: credentials and secrets, logins, full/normal/media sync,
#   anki-sync-admin adding a user while the server runs, the backup timer
#   (shortened) and verify, stop (exit 0, collections intact), the backup
#   refusing an empty source, restart (all data there), online
#   systemd-analyze security <= 2.0, the must-fail units;
#   the debian set then installs the Tailscale drop-in, as a user would;
#   later boots: all data there; LAST_BOOT: zero failed units, poweroff.
set -u
R=/results
T=/usr/local/lib/ankihost-test
mkdir -p "$R" /var/lib/ankihost-test
exec >>"$R/log" 2>&1
. /etc/ankihost-test/test.env
BOOT=$(($(cat /var/lib/ankihost-test/boot 2>/dev/null || echo 0) + 1))
echo "$BOOT" >/var/lib/ankihost-test/boot
export CHECK_PREFIX="$SET: " PATH=/usr/local/bin:$PATH
FIXTURE=$T/fixture.anki2
W=/var/tmp/ankihost-test
SRV=anki-sync-server.service
BAK=anki-sync-backup.service
PORT=27701
mkdir -p "$W"

step() { echo "$BOOT $EPOCHREALTIME $*" >>"$R/timing"; }
check() { # check NAME COMMAND...
	local name=$1
	shift
	if "$@"; then
		echo "ok   $SET: $name"
	else
		# The journal's last lines, indented: the host's summary (and so a CI
		# log) shows them under the failed check.
		echo "FAIL $SET: $name"
		journalctl -q --no-pager -n 12 -o short-monotonic | cut -c1-240 | sed 's/^/     /'
	fi
}
note() { echo "note $SET: $*"; }
wait_for() { # wait_for SECONDS COMMAND...
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	"$@"
}
prop() { systemctl show -p "$2" --value "$1"; }
listeners() { ss -Htln "sport = :${1:-$PORT}" | awk '{print $4}' | sort | tr '\n' ' '; }
listening() { [ -n "$(listeners "${1:-$PORT}")" ]; }
client() { timeout 300 python3 $T/client.py "$@"; }
expect_failed() { echo "$1 $(prop "$1" InvocationID)" >>"$R/expected-failures"; }
ts_addr() { ip -4 -o addr show dev tailscale0 2>/dev/null | grep -q ' 100\.64\.0\.1/'; }
is_active() { systemctl is-active -q "$1"; }
url() { echo "http://$HOST:$PORT/"; }

# ---------------------------------------------------------------- Tailscale
tailscale_gate() {
	local t0 start
	step tailscale
	wait_for 15 test "$(prop $SRV ActiveState)" = activating
	if ts_addr; then
		echo "FAIL $SET: boot $BOOT: tailscale0 had its address before the checks could look (test too slow)"
		return
	fi
	check "boot $BOOT: before tailscale0 has an address the server waits (activating, $(prop $SRV SubState))" \
		test "$(prop $SRV ActiveState)" = activating
	check "boot $BOOT: meanwhile nothing listens on port $PORT" test -z "$(listeners)"
	mkdir -p /run/fake-tailscale && touch /run/fake-tailscale/go
	wait_for 30 is_active $SRV
	wait_for 10 listening
	t0=$(cat /run/fake-tailscale/t0 2>/dev/null || echo 0)
	start=$(prop $SRV ExecMainStartTimestampMonotonic)
	check "boot $BOOT: the server starts only after the address appears (main process at ${start}us, address at ${t0}us)" \
		test "$t0" -gt 0 -a "${start:-0}" -ge "$t0"
	check "boot $BOOT: it listens on 100.64.0.1:$PORT only (got: $(listeners))" test "$(listeners)" = "100.64.0.1:$PORT "
}

# ----------------------------------------------------------------- secrets
no_secret_in() { # no_secret_in TEXT-FILE: no line of the secrets file in it
	local s
	while IFS= read -r s; do
		[ -n "$s" ] && grep -aqF -- "$s" "$1" && return 1
	done </etc/ankihost-test/secrets
	return 0
}
credentials() {
	local pid c ok=1
	pid=$(prop $SRV MainPID)
	systemctl cat $SRV >"$W/unit" 2>&1
	check "the unit loads its passwords with LoadCredential= ($(grep '^LoadCredential=' "$W/unit" | sed 's/^LoadCredential=//; s/:.*//' | tr '\n' ' '))" \
		grep -q '^LoadCredential=' "$W/unit"
	for c in $CRED_NAMES; do [ -f "/run/credentials/$SRV/$c" ] || ok=0; done
	check "credentials $CRED_NAMES are in /run/credentials/$SRV while it runs" test $ok = 1
	prop $SRV Environment >"$W/environment"
	check "no password or hash in systemctl show -p Environment" no_secret_in "$W/environment"
	tr '\0' '\n' <"/proc/$pid/environ" >"$W/environ" 2>/dev/null
	check "no password or hash in /proc/<server pid>/environ" eval "test -s $W/environ && no_secret_in $W/environ"
	check "no password or hash in the unit files (systemctl cat)" no_secret_in "$W/unit"
}

# ------------------------------------------------------------------- admin
admin_adds_user() {
	local pw=carol-added-live-5150
	printf '%s\n' "$pw" >/etc/ankihost-test/pw-carol
	printf '%s\n' "$pw" >>/etc/ankihost-test/secrets
	check "anki-sync-admin user add carol ($ADMIN_FILE) while the server runs" \
		eval "printf '%s\n' '$pw' | SYNC_BASE=$DATA SYNC_USERS_FILE=$ADMIN_FILE anki-sync-admin user add carol >$W/admin.log 2>&1"
	client trylogin "$(url)" carol /etc/ankihost-test/pw-carol 10 | sed 's/carol logs in/carol (added live) logs in without a restart/'
	check "the server is still the same process (no restart)" test "$(prop $SRV MainPID)" = "$SERVER_PID"
}

# ------------------------------------------------------------------ backup
backup_timer() {
	local before after
	check "anki-sync-backup.timer is enabled and scheduled ($(prop anki-sync-backup.timer TimersCalendar | head -c 80))" \
		eval 'systemctl is-enabled -q anki-sync-backup.timer && is_active anki-sync-backup.timer && test -n "$(prop anki-sync-backup.timer NextElapseUSecRealtime)"'
	before=$(prop $BAK InvocationID)
	mkdir -p /run/systemd/system/anki-sync-backup.timer.d
	printf '[Timer]\nOnCalendar=\nOnActiveSec=1s\nAccuracySec=100ms\nRandomizedDelaySec=0\n' \
		>/run/systemd/system/anki-sync-backup.timer.d/test-soon.conf
	systemctl daemon-reload
	systemctl restart anki-sync-backup.timer
	wait_for 30 eval 'test "$(prop $BAK InvocationID)" != "$before" && test "$(prop $BAK ActiveState)" != activating'
	after=$(prop $BAK InvocationID)
	check "the timer (shortened to 1 s) fires the backup service" test -n "$after" -a "$after" != "$before"
	check "the timer's backup run succeeds (Result=$(prop $BAK Result), status $(prop $BAK ExecMainStatus))" \
		eval 'test "$(prop $BAK Result)" = success && test "$(prop $BAK ExecMainStatus)" = 0'
	check "anki-backup verify accepts the snapshot" eval "anki-backup verify --dest $BACKUP_DEST >$W/verify.log 2>&1"
	restore_serves_same
	rm -rf /run/systemd/system/anki-sync-backup.timer.d
	systemctl daemon-reload
	systemctl restart anki-sync-backup.timer
	# The DynamicUser= path /var/lib/<name> is a symlink into
	# /var/lib/private; anki-backup resolves --source/--dest once and only
	# then refuses links below them (it once refused this path outright).
	mkdir -p "$W/symlink-dest"
	check "anki-backup create accepts the DynamicUser symlink /var/lib/$(basename "$DATA") as --source" \
		eval "anki-backup create --source /var/lib/$(basename "$DATA") --dest $W/symlink-dest >$W/symlink.log 2>&1"
}
restore_serves_same() {
	# The newest snapshot, restored into an empty directory and served by a
	# second server, holds what the live server holds.
	mkdir -p "$W/restored-view"
	client snapshot "$(url)" "$PW_USER" "/etc/ankihost-test/pw-$PW_USER" "$W/restored-view" >/dev/null
	cp "$W/$PW_USER/media.json" "$W/restored-view/" 2>/dev/null
	check "anki-backup restore latest into an empty directory" \
		eval "anki-backup restore --dest $BACKUP_DEST latest --target /var/lib/ankihost-restored >$W/restore.log 2>&1"
	systemd-run -q --unit=ankihost-restored -E SYNC_BASE=/var/lib/ankihost-restored -E SYNC_HOST=127.0.0.1 \
		-E SYNC_PORT=27702 -E "SYNC_USER1=$PW_USER:$(cat "/etc/ankihost-test/pw-$PW_USER")" /usr/local/bin/anki-sync-server
	wait_for 10 listening 27702
	client compare "http://127.0.0.1:27702/" "$PW_USER" "/etc/ankihost-test/pw-$PW_USER" "$W/restored-view" |
		sed 's/: every \(.*\) is still there/: the restored snapshot, served by a second server, has every \1/'
	systemctl stop ankihost-restored.service
	rm -rf /var/lib/ankihost-restored
}
backup_refuses_empty() {
	local inv
	mv "$DATA" "$DATA.away"
	systemctl start $BAK 2>/dev/null
	inv=$(prop $BAK InvocationID)
	expect_failed $BAK
	check "a backup of an empty source fails the unit (Result=$(prop $BAK Result), status $(prop $BAK ExecMainStatus))" \
		eval 'systemctl is-failed -q $BAK && test "$(prop $BAK ExecMainStatus)" = 3'
	journalctl -q -o cat _SYSTEMD_INVOCATION_ID="$inv" >"$W/empty.log"
	check "with a clear journal line: $(grep -m1 'no user data' "$W/empty.log" | head -c 120)" grep -q 'holds no user data' "$W/empty.log"
	rm -rf "$DATA"
	mv "$DATA.away" "$DATA"
	systemctl reset-failed $BAK
}

# --------------------------------------------------------------- stop/start
stop_cleanly() {
	local f ok=1
	systemctl stop $SRV
	check "systemctl stop ends the server cleanly (Result=$(prop $SRV Result), exit status $(prop $SRV ExecMainStatus))" \
		eval 'test "$(prop $SRV Result)" = success && test "$(prop $SRV ExecMainCode)" = 1 && test "$(prop $SRV ExecMainStatus)" = 0'
	if [ -n "${RUNTIME_USERS:-}" ]; then
		check "the runtime users file is gone once the server stopped" test ! -e "$RUNTIME_USERS"
	fi
	for f in "$DATA"/*/collection.anki2; do
		anki-col check "$f" >"$W/col-check.log" 2>&1 || { ok=0; cat "$W/col-check.log"; }
	done
	check "the stored collections are intact (anki-col check: $(cd "$DATA" && ls -d -- */ | tr -d / | tr '\n' ' '))" test $ok = 1
	if ls "$DATA"/*/media.db >/dev/null 2>&1; then
		check "the media databases are intact (integrity_check: $(cd "$DATA" && ls -- */media.db | tr '\n' ' '))" \
			python3 -c 'import sqlite3, sys
sys.exit(any(sqlite3.connect(f"file:{p}?mode=ro", uri=True).execute("pragma integrity_check").fetchone()[0] != "ok"
             for p in sys.argv[1:]))' "$DATA"/*/media.db
	fi
}
start_server() {
	systemctl restart $SRV
	wait_for 30 is_active $SRV
	wait_for 10 listening
	check "systemctl restart: the server is back" listening
}

# --------------------------------------------------------------- security
security() {
	local f u out rc level
	for f in /etc/systemd/system/anki-*.service; do
		u=$(basename "$f")
		case $u in anki-mustfail-*) continue ;; esac
		out=$(systemd-analyze security --threshold=20 --no-pager "$u" 2>&1)
		rc=$?
		level=$(grep -oE 'level for [^:]+: [0-9.]+' <<<"$out" | sed 's/.*: //')
		check "systemd-analyze security $u (online): exposure ${level:-?} <= 2.0" \
			eval "test $rc -eq 0 && awk 'BEGIN { exit !(\"${level:-99}\" + 0 <= 2.0) }'"
	done
}

# ---------------------------------------------------------------- must-fail
# Copies of the server unit with one mistake each (their own user, state
# directory, port and a password credential, so that only the mistake can
# make them fail); the host's journal scan and these scenario lines (in
# /results/mustfail-<name>.log) must both report the unit as failing.
mustfail_unit() { # NAME PORT SED-SCRIPT
	local name=$1 port=$2 u=anki-mustfail-$1.service
	sed -e "s/^User=.*/User=anki-mustfail-$name/" -e "s/^StateDirectory=.*/StateDirectory=anki-mustfail-$name/" \
		-e "s/^RuntimeDirectory=.*/RuntimeDirectory=anki-mustfail-$name/" -e 's/^Restart=.*/Restart=no/' \
		-e "s/^EnvironmentFile=.*/Environment=SYNC_HOST=127.0.0.1 SYNC_PORT=$port/" \
		-e "s#^Environment=SYNC_BASE=.*#Environment=SYNC_BASE=/var/lib/anki-mustfail-$name#" \
		-e '/^Environment=SYNC_USERS_FILE=/d; /^LoadCredential=/d' \
		-e "/^Environment=SYNC_BASE=/a Environment=SYNC_USER1=$HASH_USER" \
		-e "/^Environment=SYNC_BASE=/a LoadCredential=$HASH_USER:/etc/ankihost-test/pw-$HASH_USER" -e "$3" \
		/etc/systemd/system/$SRV >/etc/systemd/system/$u
	systemctl daemon-reload
	systemctl start "$u"
	wait_for 10 eval "listening $port || ! is_active $u"
	(
		CHECK_PREFIX="must-fail $name: "
		export CHECK_PREFIX
		client login "http://127.0.0.1:$port/" "$HASH_USER" "/etc/ankihost-test/pw-$HASH_USER"
		client full "http://127.0.0.1:$port/" "$HASH_USER" "/etc/ankihost-test/pw-$HASH_USER" "$FIXTURE" "$W/mustfail-$name"
		is_active "$u" && echo "ok   must-fail $name: still active" || echo "FAIL must-fail $name: not active ($(prop "$u" Result))"
	) >"$R/mustfail-$name.log" 2>&1
	systemctl stop "$u"
	systemctl reset-failed "$u" 2>/dev/null
	rm -f /etc/systemd/system/$u
	systemctl daemon-reload
}
mustfail() {
	# A data directory outside the state directory, not in ReadWritePaths=:
	# ProtectSystem=strict keeps it read-only.
	install -d -m 0777 /srv/anki-mustfail
	mustfail_unit rwpaths 27711 's#^Environment=SYNC_BASE=.*#Environment=SYNC_BASE=/srv/anki-mustfail#'
	# A filter without a syscall the server needs (fdatasync, fsync), and the
	# default action (kill) instead of EPERM.
	mustfail_unit seccomp 27712 '/^SystemCallErrorNumber=/d; /^SystemCallFilter=~@privileged/a SystemCallFilter=~fdatasync fsync'
}

# ---------------------------------------------------------------- boots
after_reboot() {
	local failed state
	state=$(systemctl is-system-running --wait 2>/dev/null)
	failed=$(systemctl list-units --state=failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')
	check "boot $BOOT (after a reboot): zero failed units${failed:+ (failed: $failed)}, system $state" \
		test -z "$failed" -a "$state" = running
	check "boot $BOOT: the server is active" is_active $SRV
}

scenarios() {
	wait_for 30 is_active $SRV
	wait_for 10 listening
	check "the server is active and listening ($(listeners))" listening
	SERVER_PID=$(prop $SRV MainPID)
	if [ -n "${SEED_USER:-}" ]; then
		check "anki-sync-admin user add $SEED_USER ($ADMIN_FILE) after the first start" \
			eval "SYNC_BASE=$DATA SYNC_USERS_FILE=$ADMIN_FILE anki-sync-admin user add $SEED_USER <'/etc/ankihost-test/pw-$SEED_USER' >$W/seed.log 2>&1"
		client trylogin "$(url)" "$SEED_USER" "/etc/ankihost-test/pw-$SEED_USER" 10 >/dev/null
	fi
	check "anki-sync-server --healthcheck reaches the service" env SYNC_HOST="$HOST" SYNC_PORT=$PORT anki-sync-server --healthcheck
	step credentials
	credentials
	if [ -n "${RUNTIME_USERS:-}" ]; then
		check "the runtime users file is 0600 and holds only the hashed users ($HASH_USER)" \
			eval "test \"\$(stat -c %a $RUNTIME_USERS)\" = 600 && grep -q '^$HASH_USER:[\$]pbkdf2-sha256[\$]' $RUNTIME_USERS && ! grep -q '^$PW_USER:' $RUNTIME_USERS"
	fi
	step logins
	client login "$(url)" "$PW_USER" "/etc/ankihost-test/pw-$PW_USER"
	client login "$(url)" "$HASH_USER" "/etc/ankihost-test/pw-$HASH_USER"
	step full sync
	client full "$(url)" "$PW_USER" "/etc/ankihost-test/pw-$PW_USER" "$FIXTURE" "$W/$PW_USER"
	step normal sync
	client normal "$(url)" "$PW_USER" "/etc/ankihost-test/pw-$PW_USER" "$W/$PW_USER"
	step media sync
	client media "$(url)" "$PW_USER" "/etc/ankihost-test/pw-$PW_USER" "$W/$PW_USER"
	step full sync 2
	client full "$(url)" "$HASH_USER" "/etc/ankihost-test/pw-$HASH_USER" "$FIXTURE" "$W/$HASH_USER"
	step admin
	admin_adds_user
	step backup timer
	backup_timer
	step snapshot
	client snapshot "$(url)" "$PW_USER" "/etc/ankihost-test/pw-$PW_USER" "$W/$PW_USER"
	client snapshot "$(url)" "$HASH_USER" "/etc/ankihost-test/pw-$HASH_USER" "$W/$HASH_USER"
	step stop
	stop_cleanly
	step empty backup
	backup_refuses_empty
	step restart
	start_server
	client compare "$(url)" "$PW_USER" "/etc/ankihost-test/pw-$PW_USER" "$W/$PW_USER"
	client compare "$(url)" "$HASH_USER" "/etc/ankihost-test/pw-$HASH_USER" "$W/$HASH_USER"
	if [ "$SET" = debian ]; then
		client trylogin "$(url)" carol /etc/ankihost-test/pw-carol 10 | sed 's/carol logs in/carol logs in after the restart/'
	elif client trylogin "$(url)" carol /etc/ankihost-test/pw-carol 0 >/dev/null; then
		note "carol, added live to the module's runtime users file, can still log in after a restart"
	else
		note "carol, added live to the module's runtime users file, is gone after a restart (users come from the configuration)"
	fi
	step security
	security
	step must-fail
	[ "${MUSTFAIL:-0}" = 1 ] && mustfail
	step end
}

case " $TS_BOOTS " in
*" $BOOT "*)
	HOST=100.64.0.1
	tailscale_gate
	;;
*) HOST=127.0.0.1 ;;
esac
step boot
if [ "$BOOT" = 1 ]; then
	scenarios
	if [ "$SET" = debian ]; then
		# The user adds Tailscale later: the drop-in, as the README says.
		install -d /etc/systemd/system/$SRV.d
		install -m 0644 $T/tailscale.conf /etc/systemd/system/$SRV.d/tailscale.conf
	fi
else
	wait_for 30 is_active $SRV
	wait_for 10 listening
	step compare
	client compare "$(url)" "$PW_USER" "/etc/ankihost-test/pw-$PW_USER" "$W/$PW_USER" | sed "s/: /: boot $BOOT: /"
fi
if [ "$BOOT" -ge "$LAST_BOOT" ]; then
	step after reboot
	after_reboot
	step end
	touch "$R/done"
	systemctl poweroff
else
	systemctl reboot
fi
