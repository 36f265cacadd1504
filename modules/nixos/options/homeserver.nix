# SPDX-License-Identifier: AGPL-3.0-or-later
#
# homeserver.nix - options shared by every ankihost service (spec nix.md N9):
# how a service waits for its Tailscale address (homeserver.tailscale.*).
# Each service has its own `tailscale.enable` and may override the interface
# and timeout; the defaults live here so a host sets them once.
#
# Invariant: nothing here has an effect by itself (no `config`); the
# programs/ modules read these values.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types literalExpression;
in
{
  options.homeserver.tailscale = {
    interface = mkOption {
      type = types.str;
      default = config.services.tailscale.interfaceName;
      defaultText = literalExpression "config.services.tailscale.interfaceName";
      example = "tailscale0";
      description = ''
        Network interface that carries the host's Tailscale address.  Services
        with `tailscale.enable` wait for an address on it and listen only
        there.  Tailscale's userspace networking mode has no interface and
        cannot be used.
      '';
    };
    timeout = mkOption {
      type = types.ints.positive;
      default = 120;
      description = ''
        Seconds a service start waits for the Tailscale address before it
        fails (and is retried by systemd after RestartSec).
      '';
    };
    family = mkOption {
      type = types.enum [
        "4"
        "6"
        "any"
      ];
      default = "4";
      description = ''
        Address family to wait for and listen on: Tailscale's IPv4 address
        (100.64.0.0/10), its IPv6 address (fd7a:115c:a1e0::/48), or whichever
        comes first.
      '';
    };
    package = mkOption {
      type = types.package;
      default =
        pkgs.ankihostPackages.tailscale-wait or (pkgs.callPackage ../../../pkgs/tailscale-wait.nix { });
      defaultText = literalExpression "pkgs.ankihostPackages.tailscale-wait (this flake's overlay), else pkgs/tailscale-wait.nix";
      description = "The tailscale-wait package used by ExecStartPre.";
    };
  };
}
