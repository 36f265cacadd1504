# SPDX-License-Identifier: AGPL-3.0-or-later
#
# tailscale-wait.nix - not a module: returns the systemd unit fragment that
# makes a service wait for its Tailscale address (spec nix.md N17, N19, N20).
#
#   serviceFragment { interface; timeout; family; package; addressFile; }
#
# The fragment orders the unit after tailscaled.service (the nixpkgs unit
# name), runs tailscale-wait as ExecStartPre, which writes the address it
# found to `addressFile` (readable by ExecStart), and adds AF_NETLINK to
# RestrictAddressFamilies: ExecStartPre shares the service's sandbox and
# reading interface addresses needs rtnetlink.  List values concatenate with
# the service's own, so the fragment merges into any hardened unit.
# TimeoutStartSec stays above the helper's own timeout, so the helper (not
# systemd) reports a missing address.
{ lib, pkgs }:
{
  serviceFragment =
    {
      interface,
      timeout,
      family ? "4",
      package,
      addressFile,
    }:
    {
      after = [ "tailscaled.service" ];
      wants = [ "tailscaled.service" ];
      serviceConfig = {
        ExecStartPre = [
          "${lib.getExe package} --interface ${interface} --family ${family} --timeout ${toString timeout} --write ${addressFile}"
        ];
        RestrictAddressFamilies = [ "AF_NETLINK" ];
        TimeoutStartSec = timeout + 30;
        PrivateNetwork = false;
      };
    };

  # Interface names the kernel accepts (1..15 bytes, no '/', ':' or
  # blanks); "userspace-networking" means Tailscale has no interface at all.
  interfaceAssertions = what: interface: [
    {
      assertion = interface != "userspace-networking";
      message = "${what}: Tailscale runs in userspace-networking mode, so there is no interface whose address could be waited for; turn tailscale.enable off or use a TUN interface.";
    }
    {
      assertion = builtins.match "[^/: \t\n]{1,15}" interface != null;
      message = "${what}: \"${interface}\" is not a network interface name (1 to 15 bytes, no '/', ':' or blanks).";
    }
  ];
}
