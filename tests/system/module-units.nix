# SPDX-License-Identifier: AGPL-3.0-or-later
#
# module-units.nix - what tests/check-system.sh installs in its Debian
# container to run the units of the NixOS module under a real systemd: the
# unit files rendered by the offline evaluation (../nix/harness.nix with the
# stand-in nixpkgs, ../nix/render.nix), the texts of the scripts they run
# (by store path), and the programs each package store path must provide.
# tests/system/nixunits.py rewrites the store paths to the programs `make
# install` put in /usr/local and the scripts to /usr/local/lib/ankihost-nix.
#
# Configuration (issue 12): homeserver.ankiSync with one password-file user
# (alice, a LoadCredential= password), one hashed-password-file user (bob),
# a custom baseDirectory, Tailscale and backups.  Every `anki-*` service and
# timer the evaluation yields is installed, so homeserver.ankiConnect's units
# join once that module exists and is enabled here.
{
  lib ? import ../nix/stub-nixpkgs/lib.nix,
}:
let
  b = builtins;
  h = import ../nix/harness.nix { inherit lib; };
  r = import ../nix/render.nix { inherit lib; };
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
  timers = lib.filterAttrs (n: _: lib.hasPrefix "anki-" n) c.systemd.timers;
  drvsIn =
    v:
    if b.isList v then
      b.concatMap drvsIn v
    else if lib.isDerivation v then
      [ v ]
    else
      [ ];
  scripts = b.filter (d: d ? text) (
    b.concatMap (u: b.concatMap drvsIn (b.attrValues u.serviceConfig)) (b.attrValues services)
  );
  cfg = c.homeserver.ankiSync;
  plain = b.unsafeDiscardStringContext;
in
{
  units =
    lib.mapAttrs' (n: u: lib.nameValuePair "${n}.service" (r.service u)) services
    // lib.mapAttrs' (n: u: lib.nameValuePair "${n}.timer" (r.timer u)) timers;
  # Which units NixOS would link into a target (wantedBy).
  wantedBy =
    lib.mapAttrs' (n: u: lib.nameValuePair "${n}.service" u.wantedBy) services
    // lib.mapAttrs' (n: u: lib.nameValuePair "${n}.timer" u.wantedBy) timers;
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
