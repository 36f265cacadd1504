# SPDX-License-Identifier: AGPL-3.0-or-later
#
# VM test 2 (docs/nix.md, spec nix.md N21, N28, N29): homeserver.ankiSync.
# backup.  The timer is scheduled; the service it starts runs while a client
# keeps syncing, writes a snapshot that `anki-backup verify` accepts; the
# snapshot restored into a new directory and served by a second server
# instance gives the real Anki client the same notes and media as the live
# server; a failing run leaves the unit failed with anki-backup's exit code;
# `systemd-analyze security --threshold=20` passes for both units.
{ pkgs, lib, ... }:
let
  common = import ./common.nix { inherit pkgs lib; };
  inherit (common) users;
  py = builtins.toJSON;
in
{
  name = "ankihost-backup";

  nodes.server =
    { config, pkgs, ... }:
    {
      virtualisation.memorySize = 2048;
      homeserver.ankiSync = {
        enable = true;
        address = "127.0.0.1";
        users = [
          {
            username = "alice";
            # Test only: a store path (the module warns about it).
            passwordFile = pkgs.writeText "alice-password" users.alice.password;
          }
        ];
        backup = {
          enable = true;
          keepDaily = 3;
        };
      };
      environment.systemPackages = [
        common.ankiClient
        config.homeserver.ankiSync.package
        config.homeserver.ankiSync.backup.package
      ];
    };

  testScript = ''
    import json
    import shlex

    ALICE = ${py users.alice.password}
    LIVE = "http://127.0.0.1:27701/"
    RESTORED = "http://127.0.0.1:27702/"
    # The real directory (/var/lib/anki-sync-server-backup is a DynamicUser
    # symlink, which anki-backup refuses in database paths).
    DEST = "/var/lib/private/anki-sync-server-backup"


    def anki(*args):
        return server.succeed("anki-vm-client " + " ".join(shlex.quote(a) for a in args))


    start_all()
    server.wait_for_unit("anki-sync-server.service")
    server.wait_for_open_port(27701)

    with subtest("the timer is scheduled"):
        server.wait_for_unit("timers.target")
        timers = server.succeed("systemctl list-timers --all --no-pager anki-sync-backup.timer")
        assert "anki-sync-backup.timer" in timers, timers
        nxt = server.succeed("systemctl show -p NextElapseUSecRealtime --value anki-sync-backup.timer").strip()
        assert nxt not in ("", "n/a", "0"), nxt

    with subtest("a collection with notes and media"):
        anki("upload", LIVE, "alice", ALICE, "/tmp/a", "first note")
        anki("add", LIVE, "alice", ALICE, "/tmp/a", "second note")

    with subtest("the backup service runs while the server is under sync load"):
        server.succeed(
            "systemd-run --unit sync-load --property Type=exec \"$(readlink -f \"$(command -v anki-vm-client)\")\" load "
            + shlex.quote(LIVE) + " alice " + shlex.quote(ALICE) + " /tmp/a 15"
        )
        server.succeed("systemctl start anki-sync-backup.service")
        server.succeed("test \"$(systemctl show -p Result --value anki-sync-backup.service)\" = success")
        server.wait_until_succeeds("! systemctl is-active --quiet sync-load.service", timeout=600)
        server.succeed("test \"$(systemctl show -p Result --value sync-load.service)\" = success")
        server.succeed("anki-backup verify --dest " + DEST)

    with subtest("a snapshot taken at rest, restored and served by a second instance, equals the live data"):
        server.succeed("systemctl start anki-sync-backup.service")
        server.succeed("anki-backup verify --dest " + DEST + " latest")
        server.log(server.succeed("anki-backup list --dest " + DEST))
        server.succeed("anki-backup restore --dest " + DEST + " latest --target /var/lib/anki-restore")
        server.succeed(
            "systemd-run --unit anki-restored"
            + " -E SYNC_BASE=/var/lib/anki-restore -E SYNC_HOST=127.0.0.1 -E SYNC_PORT=27702"
            + " -E SYNC_USER1=alice:" + shlex.quote(ALICE)
            + " \"$(readlink -f \"$(command -v anki-sync-server)\")\""
        )
        server.wait_for_open_port(27702)
        texts = ["first note", "second note"] + ["load note %d" % i for i in range(15)]
        live = json.loads(anki("download", LIVE, "alice", ALICE, "/tmp/live", *texts))
        restored = json.loads(anki("download", RESTORED, "alice", ALICE, "/tmp/restored", *texts))
        assert live == restored == sorted(texts), (live, restored)

    with subtest("a failing backup is visible in systemctl"):
        server.succeed("systemctl stop anki-sync-server.service")
        server.succeed("mv /var/lib/private/anki-sync-server /var/lib/private/anki-sync-server.away")
        server.fail("systemctl start anki-sync-backup.service")
        server.succeed("systemctl is-failed --quiet anki-sync-backup.service")
        status = server.succeed("systemctl show -p ExecMainStatus --value anki-sync-backup.service").strip()
        assert status == "3", status
        server.succeed("rm -rf /var/lib/private/anki-sync-server")
        server.succeed("mv /var/lib/private/anki-sync-server.away /var/lib/private/anki-sync-server")
        server.succeed("systemctl reset-failed anki-sync-backup.service")
        server.succeed("systemctl start anki-sync-server.service anki-sync-backup.service")

    with subtest("hardening of the real units"):
        for unit in ("anki-sync-server.service", "anki-sync-backup.service"):
            server.succeed("systemd-analyze security --threshold=20 --no-pager " + unit)
            server.log(server.succeed("systemd-analyze security --no-pager " + unit + " | tail -n 1"))
  '';
}
