# SPDX-License-Identifier: AGPL-3.0-or-later
#
# VM test 1 (docs/nix.md, spec nix.md N24, N27, N29): the real Anki client
# library from nixpkgs against homeserver.ankiSync with three kinds of user:
#   alice  passwordFile = an agenix secret decrypted in the VM (test key),
#   bob    passwordHash (PBKDF2 PHC string) only,
#   carol  plain `password` (documented as insecure; still must work),
# and a custom baseDirectory.  Checks: bad logins refused, full upload, a
# second collection downloads and sees the note, a note added on either side
# arrives on the other by normal sync, media files round-trip both ways, no
# password in the unit, its scripts or the server's environment, and
# `systemd-analyze security --threshold=20` passes for the real unit.
{ pkgs, lib, ... }:
let
  common = import ./common.nix { inherit pkgs lib; };
  inherit (common) users;
  py = builtins.toJSON;
in
{
  name = "ankihost-sync";

  nodes.server =
    { config, ... }:
    {
      age.secrets.anki-sync-password.file = ../secrets/anki-sync-password.age;
      # Test-only key, deliberately in the store (see ../keys/README.md).
      age.identityPaths = [ "${../keys/host_ed25519}" ];

      homeserver.ankiSync = {
        enable = true;
        address = "0.0.0.0";
        openFirewall = true;
        baseDirectory = "/var/lib/anki-data";
        users = [
          {
            username = "alice";
            passwordFile = config.age.secrets.anki-sync-password.path;
          }
          {
            username = "bob";
            passwordHash = users.bob.hash;
          }
          {
            username = "carol";
            password = users.carol.password;
          }
        ];
      };
    };

  nodes.client = {
    virtualisation.memorySize = 2048;
    environment.systemPackages = [ common.ankiClient ];
  };

  testScript = ''
    import json
    import shlex

    ALICE = ${py users.alice.password}
    BOB = ${py users.bob.password}
    CAROL = ${py users.carol.password}
    ENDPOINT = "http://server:27701/"


    def anki(*args):
        return client.succeed("anki-vm-client " + " ".join(shlex.quote(a) for a in args))


    start_all()
    server.wait_for_unit("anki-sync-server.service")
    server.wait_for_open_port(27701)
    client.wait_for_unit("multi-user.target")

    with subtest("the agenix secret is root-only and reaches the server only as a credential"):
        server.succeed("test \"$(stat -L -c '%a %U' /run/agenix/anki-sync-password)\" = '400 root'")
        unit = server.succeed("systemctl cat anki-sync-server.service")
        for secret in (ALICE, BOB):
            assert secret not in unit, "password in the unit file"
        paths = server.succeed(
            "systemctl cat anki-sync-server.service | grep -oE '/nix/store/[^ \":=]+' | sort -u"
        ).split()
        ours = [p for p in paths if "anki" in p and not p.endswith("-anki-sync-password")]
        assert ours, paths  # the package, the users-file script, bob's hash file
        for path in ours:  # (carol's literal password file is in the store by design)
            for secret in (ALICE, BOB):
                server.succeed("rc=0; grep -rqF -- " + shlex.quote(secret) + " " + path + " || rc=$?; test $rc -eq 1")
        pid = server.succeed("systemctl show -p MainPID --value anki-sync-server.service").strip()
        environ = server.succeed("tr '\\0' '\\n' < /proc/" + pid + "/environ")
        for secret in (ALICE, BOB, CAROL):
            assert secret not in environ, "password in the server's environment"
        assert "PASSWORDS_HASHED" not in environ

    with subtest("logins: right passwords work, wrong ones and unknown users are refused"):
        anki("check-login", ENDPOINT, "alice", ALICE)
        anki("check-login", ENDPOINT, "bob", BOB)
        anki("check-login", ENDPOINT, "carol", CAROL)

    with subtest("full upload, then a second collection downloads it"):
        out = json.loads(anki("upload", ENDPOINT, "alice", ALICE, "/tmp/a", "note from A"))
        assert out["sync"] == "full-upload", out
        server.succeed("test -s /var/lib/anki-data/alice/collection.anki2")
        server.succeed("test -d /var/lib/private/anki-data/alice")
        notes = json.loads(anki("download", ENDPOINT, "alice", ALICE, "/tmp/b", "note from A"))
        assert notes == ["note from A"], notes

    with subtest("normal sync both ways, with media"):
        anki("add", ENDPOINT, "alice", ALICE, "/tmp/b", "note from B")
        notes = json.loads(anki("expect", ENDPOINT, "alice", ALICE, "/tmp/a", "note from A", "note from B"))
        assert notes == ["note from A", "note from B"], notes
        anki("add", ENDPOINT, "alice", ALICE, "/tmp/a", "second from A")
        anki("expect", ENDPOINT, "alice", ALICE, "/tmp/b", "note from A", "note from B", "second from A")

    with subtest("the hashed-password and plain-password users sync too"):
        anki("upload", ENDPOINT, "bob", BOB, "/tmp/bob1", "bob's note")
        anki("download", ENDPOINT, "bob", BOB, "/tmp/bob2", "bob's note")
        anki("upload", ENDPOINT, "carol", CAROL, "/tmp/carol1", "carol's note")
        anki("download", ENDPOINT, "carol", CAROL, "/tmp/carol2", "carol's note")

    with subtest("hardening of the real unit"):
        server.succeed("systemd-analyze security --threshold=20 --no-pager anki-sync-server.service")
        server.log(server.succeed("systemd-analyze security --no-pager anki-sync-server.service | tail -n 1"))
  '';
}
