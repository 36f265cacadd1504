#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# run.sh - the checks inside the nspawn container (see ../nspawn-check.sh),
# started by ankihost-check.service (Type=simple) at every boot.  Writes
# "ok ..."/"FAIL ..." lines to /results/log, then reboots or powers off.
#   MODE=module  boot 1: Tailscale wait, logins and sync, no secrets in the
#                environment, users file, backup (success, verify, failure
#                exit code), timer, online security; then reboot.
#                boot 2: after the reboot, the server comes up on its own and
#                no unit failed.
#   MODE=debian  the contrib/systemd units: users via anki-sync-admin and a
#                credential, sync, backup, online security.
set -u
R=/results
mkdir -p "$R"
exec >>"$R/log" 2>&1
MODE=$(cat /etc/ankihost-check/mode)
FIXTURE=/usr/local/lib/ankihost-check/fixture.anki2
BOB=$(cat /etc/ankihost-check/bob-password 2>/dev/null)

check() {
	local name=$1
	shift
	if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fi
}
wait_for() { # wait_for SECONDS command...
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
state() { systemctl show -p ActiveState --value "$1"; }
listeners() { ss -Htln 'sport = :27701' | awk '{print $4}' | sort | tr '\n' ' '; }
security() {
	local u=$1 out rc level
	out=$(systemd-analyze security --threshold=20 --no-pager "$u" 2>&1)
	rc=$?
	level=$(grep -oE 'level for [^:]+: [0-9.]+' <<<"$out" | sed 's/.*: //')
	check "$MODE: systemd-analyze security --threshold=20 $u (online): exposure ${level:-?}" test $rc -eq 0
}
users_file_ok() {
	local f=/run/anki-sync-server/users
	[ "$(stat -c %a $f)" = 600 ] && grep -q '^bob:[$]pbkdf2-sha256[$]' $f && ! grep -q '^alice:' $f
}
backup_fails_visibly() {
	! systemctl start anki-sync-backup.service &&
		systemctl is-failed -q anki-sync-backup.service &&
		[ "$(systemctl show -p ExecMainStatus --value anki-sync-backup.service)" = 3 ]
}
no_secret_env() { # no_secret_env SECRET
	local pid
	pid=$(systemctl show -p MainPID --value anki-sync-server.service)
	! grep -aqF -- "$1" "/proc/$pid/environ" && ! systemctl cat anki-sync-server.service | grep -qF -- "$1"
}

if [ "$MODE" = module ] && [ ! -e /var/lib/ankihost-check/rebooted ]; then
	wait_for 20 test "$(state anki-sync-server.service)" = activating
	check "module: server unit waits (activating) while tailscale0 has no address" test "$(state anki-sync-server.service)" = activating
	check "module: nothing listens on port 27701 meanwhile" test -z "$(listeners)"
	mkdir -p /var/lib/fake-tailscale && touch /var/lib/fake-tailscale/online
	wait_for 30 test -n "$(listeners)"
	check "module: active once the address is up" systemctl is-active -q anki-sync-server.service
	check "module: listens on 100.64.0.1:27701 only (got: $(listeners))" test "$(listeners)" = "100.64.0.1:27701 "
	check "module: --healthcheck" env SYNC_HOST=100.64.0.1 SYNC_PORT=27701 /usr/local/bin/anki-sync-server --healthcheck
	python3 /usr/local/lib/ankihost-check/client.py http://100.64.0.1:27701/ alice /etc/ankihost-test/alice bob "$BOB" "$FIXTURE" | sed 's/^\(ok   \|FAIL \)/\1module: /'
	check "module: alice's data under the custom baseDirectory" test -s /var/lib/anki-data/alice/collection.anki2
	check "module: no password in the server's environment or unit" no_secret_env "$(cat /etc/ankihost-test/alice)"
	check "module: users file 0600, holds bob's hash only" users_file_ok
	check "module: backup timer scheduled" test -n "$(systemctl show -p NextElapseUSecRealtime --value anki-sync-backup.timer)"
	check "module: backup service succeeds" systemctl start anki-sync-backup.service
	check "module: anki-backup verify accepts the snapshot" /usr/local/bin/anki-backup verify --dest /var/lib/private/anki-sync-server-backup
	check "module: anki-backup restore into a new directory" /usr/local/bin/anki-backup restore --dest /var/lib/private/anki-sync-server-backup latest --target /var/lib/anki-restore
	systemd-run --unit anki-restored -E SYNC_BASE=/var/lib/anki-restore -E SYNC_HOST=127.0.0.1 -E SYNC_PORT=27702 \
		-E SYNC_USER1=alice:"$(cat /etc/ankihost-test/alice)" /usr/local/bin/anki-sync-server
	wait_for 10 bash -c 'ss -Htln | grep -q ":27702 "'
	python3 /usr/local/lib/ankihost-check/client.py --compare http://100.64.0.1:27701/ http://127.0.0.1:27702/ alice /etc/ankihost-test/alice | sed 's/^\(ok   \|FAIL \)/\1module: /'
	systemctl stop anki-restored.service
	systemctl stop anki-sync-server.service
	check "module: runtime directory (with the users file) removed on stop" test ! -e /run/anki-sync-server/users
	mv /var/lib/private/anki-data /var/lib/private/anki-data.away
	check "module: a backup with nothing to back up fails visibly (exit 3)" backup_fails_visibly
	rm -rf /var/lib/private/anki-data && mv /var/lib/private/anki-data.away /var/lib/private/anki-data
	systemctl reset-failed anki-sync-backup.service
	systemctl start anki-sync-server.service
	security anki-sync-server.service
	security anki-sync-backup.service
	touch /var/lib/ankihost-check/rebooted
	systemctl reboot
elif [ "$MODE" = module ]; then
	systemctl is-system-running --wait >/dev/null
	check "module: after a reboot the server is active" systemctl is-active -q anki-sync-server.service
	wait_for 10 test -n "$(listeners)"
	check "module: after a reboot it listens on 100.64.0.1:27701 only" test "$(listeners)" = "100.64.0.1:27701 "
	failed=$(systemctl list-units --state=failed --no-legend --plain)
	check "module: after a reboot no unit failed ${failed:+($failed)}" test -z "$failed"
	touch "$R/done"
	systemctl poweroff
else
	wait_for 30 systemctl is-active -q anki-sync-server.service
	check "debian: server active" systemctl is-active -q anki-sync-server.service
	wait_for 10 test -n "$(listeners)"
	python3 /usr/local/lib/ankihost-check/client.py http://127.0.0.1:27701/ bob /etc/ankihost-check/bob-password-file "$FIXTURE" | sed 's/^\(ok   \|FAIL \)/\1debian: /'
	check "debian: no password in the environment or unit" no_secret_env "$BOB"
	check "debian: backup service succeeds" systemctl start anki-sync-backup.service
	check "debian: anki-backup verify accepts the snapshot" /usr/local/bin/anki-backup verify --dest /var/lib/private/anki-sync-server-backup
	check "debian: backup timer scheduled" test -n "$(systemctl show -p NextElapseUSecRealtime --value anki-sync-backup.timer)"
	security anki-sync-server.service
	security anki-sync-backup.service
	failed=$(systemctl list-units --state=failed --no-legend --plain)
	check "debian: no unit failed ${failed:+($failed)}" test -z "$failed"
	touch "$R/done"
	systemctl poweroff
fi
