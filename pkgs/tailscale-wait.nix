# SPDX-License-Identifier: AGPL-3.0-or-later
# Waits (rtnetlink, no polling) until a Tailscale address is up; for ExecStartPre.
{ callPackage }:
callPackage ./generic.nix {
  pname = "tailscale-wait";
  programs = [ "tailscale-wait" ];
  description = "Wait until a Tailscale address is up on an interface";
}
