# SPDX-License-Identifier: AGPL-3.0-or-later
#
# The NixOS VM tests, as flake checks (x86_64-linux; they need KVM):
#   vm-sync       real Anki client: logins, full upload/download, normal sync,
#                 media, agenix + hashed + plain users, custom baseDirectory
#   vm-backup     timer, backup under load, verify, restore served by a
#                 second instance, failure visibility
#   vm-tailscale  waits for tailscale0's address, listens only there, reboot
# Every test also runs `systemd-analyze security --threshold=20` on its units.
# `modules` are added to every node (ankihost's modules and agenix's).
{ pkgs, modules }:
let
  run =
    file:
    pkgs.testers.runNixOSTest {
      imports = [ file ];
      defaults.imports = modules;
    };
in
{
  vm-sync = run ./sync.nix;
  vm-backup = run ./backup.nix;
  vm-tailscale = run ./tailscale.nix;
}
