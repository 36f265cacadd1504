# SPDX-License-Identifier: AGPL-3.0-or-later
#
# render-units.nix - the unit files homeserver.ankiSync produces in a few
# representative configurations, as { "<scenario>/<unit file>" = text; }.
# tests/check-nix.sh writes them out and runs `systemd-analyze verify` (no
# unknown keys or sections, values that parse) and `systemd-analyze
# security --offline=true --threshold=20` (exposure <= 2.0) on each, and
# checks that no test password appears in any unit text.
{
  lib ? import ./stub-nixpkgs/lib.nix,
}:
let
  b = builtins;
  h = import ./harness.nix { inherit lib; };
  r = import ./render.nix { inherit lib; };
  users = {
    alice = {
      username = "alice";
      passwordFile = "/run/agenix/anki-sync-password";
    };
    bob = {
      username = "bob";
      passwordHash = "$pbkdf2-sha256$i=600000,l=32$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    };
    carol = {
      username = "carol";
      password = "carol-plain-render";
    };
  };
  scenarios = {
    minimal = {
      homeserver.ankiSync = {
        enable = true;
        users = [ users.alice ];
      };
    };
    full = {
      homeserver.ankiSync = {
        enable = true;
        address = "0.0.0.0";
        openFirewall = true;
        baseDirectory = "/var/lib/anki-data";
        users = [
          users.alice
          users.bob
          users.carol
        ];
        backup = {
          enable = true;
          encryptTo = [ "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p" ];
        };
      };
    };
    tailscale = {
      homeserver.ankiSync = {
        enable = true;
        openFirewall = true;
        users = [
          users.alice
          users.bob
        ];
        tailscale.enable = true;
      };
    };
    lowport = {
      homeserver.ankiSync = {
        enable = true;
        address = "0.0.0.0";
        port = 443;
        users = [ users.alice ];
      };
    };
  };
  unitsOf =
    name: cfg:
    let
      c = h.eval { modules = [ cfg ]; };
      failed = h.failedAssertions c;
    in
    if failed != [ ] then
      throw "render-units: scenario ${name} fails assertions: ${b.concatStringsSep "; " failed}"
    else
      lib.mapAttrs' (n: u: lib.nameValuePair "${name}/${n}.service" (r.service u)) (
        lib.filterAttrs (n: _: lib.hasPrefix "anki-" n) c.systemd.services
      )
      // lib.mapAttrs' (n: u: lib.nameValuePair "${name}/${n}.timer" (r.timer u)) c.systemd.timers;
in
{
  units = b.foldl' (acc: n: acc // unitsOf n scenarios.${n}) { } (b.attrNames scenarios);
  secrets = [
    users.carol.password
    users.bob.passwordHash
  ];
}
