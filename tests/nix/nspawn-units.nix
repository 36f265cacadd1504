# SPDX-License-Identifier: AGPL-3.0-or-later
#
# nspawn-units.nix - what tests/nix/nspawn-check.sh installs in a Debian
# container to run homeserver.ankiSync's units under a real systemd: the
# rendered unit files, the texts of the scripts they run (by store path), and
# which programs each package store path must contain.  Configuration: one
# password-file user and one hashed-password-file user, a custom
# baseDirectory, Tailscale, backups.
{
  lib ? import ./stub-nixpkgs/lib.nix,
}:
let
  b = builtins;
  h = import ./harness.nix { inherit lib; };
  r = import ./render.nix { inherit lib; };
  c = h.eval {
    modules = [
      {
        homeserver.ankiSync = {
          enable = true;
          baseDirectory = "/var/lib/anki-data";
          openFirewall = true;
          users = [
            {
              username = "alice";
              passwordFile = "/etc/ankihost-test/alice";
            }
            {
              username = "bob";
              passwordHashFile = "/etc/ankihost-test/bob.phc";
            }
          ];
          tailscale = {
            enable = true;
            timeout = 20;
          };
          backup.enable = true;
        };
      }
    ];
  };
  services = lib.filterAttrs (n: _: lib.hasPrefix "anki-" n) c.systemd.services;
  drvsIn = v: if b.isList v then b.concatMap drvsIn v else if lib.isDerivation v then [ v ] else [ ];
  scripts = b.filter (d: d ? text) (
    b.concatMap (u: b.concatMap drvsIn (b.attrValues u.serviceConfig)) (b.attrValues services)
  );
  cfg = c.homeserver.ankiSync;
  plain = b.unsafeDiscardStringContext;
in
{
  units =
    lib.mapAttrs' (n: u: lib.nameValuePair "${n}.service" (r.service u)) services
    // lib.mapAttrs' (n: u: lib.nameValuePair "${n}.timer" (r.timer u)) c.systemd.timers;
  # (Attribute names may not carry string context.)
  scripts = b.listToAttrs (map (d: lib.nameValuePair (plain d.outPath) d.text) scripts);
  packages = {
    ${plain cfg.package.outPath} = [
      "anki-sync-server"
      "anki-sync-admin"
    ];
    ${plain c.homeserver.tailscale.package.outPath} = [ "tailscale-wait" ];
    ${plain cfg.backup.package.outPath} = [ "anki-backup" ];
  };
}
