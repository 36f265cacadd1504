# SPDX-License-Identifier: AGPL-3.0-or-later
#
# VM test 3 (docs/nix.md, spec nix.md N20, N26, N29): homeserver.ankiSync.
# tailscale.  A stand-in `tailscaled.service` creates a dummy tailscale0 at
# boot and gives it 100.64.0.1 only once /var/lib/fake-tailscale/online
# exists, as the real daemon does some time after boot.  Checks: the server
# unit stays "activating" and listens nowhere until the address appears;
# then it listens on 100.64.0.1 only (not on the LAN address, checked from a
# second node); tailscale-wait's timeout path; a reboot (address appears on
# its own now) ends with the server up and zero failed units; and
# `systemd-analyze security --threshold=20` passes with AF_NETLINK added.
{ pkgs, lib, ... }:
let
  common = import ./common.nix { inherit pkgs lib; };
  inherit (common) users;
in
{
  name = "ankihost-tailscale";

  nodes.server =
    { config, pkgs, ... }:
    {
      homeserver.ankiSync = {
        enable = true;
        openFirewall = true;
        users = [
          {
            username = "carol";
            password = users.carol.password;
          }
        ];
        tailscale = {
          enable = true;
          timeout = 300;
        };
      };

      systemd.services.tailscaled = {
        description = "Stand-in for tailscaled: dummy tailscale0, address on demand";
        wantedBy = [ "multi-user.target" ];
        path = [
          pkgs.iproute2
          pkgs.coreutils
        ];
        script = ''
          ip link add tailscale0 type dummy
          ip link set tailscale0 up
          while [ ! -e /var/lib/fake-tailscale/online ]; do sleep 0.5; done
          ip addr add 100.64.0.1/32 dev tailscale0
          exec sleep infinity
        '';
      };

      environment.systemPackages = [
        config.homeserver.tailscale.package
        config.homeserver.ankiSync.package
      ];
    };

  nodes.client =
    { pkgs, ... }:
    {
      environment.systemPackages = [ pkgs.netcat ];
    };

  testScript = ''
    def only_listener_is(addr):
        lines = server.succeed("ss -Htln 'sport = :27701'").strip().splitlines()
        local = sorted(line.split()[3] for line in lines)
        assert local == [addr + ":27701"], local


    start_all()
    server.wait_for_unit("tailscaled.service")

    with subtest("the server waits for the Tailscale address and listens nowhere meanwhile"):
        server.wait_until_succeeds(
            "systemctl show -p ActiveState --value anki-sync-server.service | grep -qx activating"
        )
        server.succeed("ip link show tailscale0")
        server.fail("ss -Htln | grep -q ':27701 '")

    with subtest("once the address is up, it listens on it and only there"):
        server.succeed("mkdir -p /var/lib/fake-tailscale && touch /var/lib/fake-tailscale/online")
        server.wait_for_unit("anki-sync-server.service")
        server.wait_for_open_port(27701, addr="100.64.0.1")
        only_listener_is("100.64.0.1")
        server.succeed("SYNC_HOST=100.64.0.1 SYNC_PORT=27701 anki-sync-server --healthcheck")
        server.wait_for_unit("multi-user.target")
        client.wait_for_unit("multi-user.target")
        lan = server.succeed("ip -4 -o addr show dev eth1").split()[3].split("/")[0]
        client.succeed("ping -c 1 -W 5 " + lan)
        client.fail("nc -z -w 5 " + lan + " 27701")

    with subtest("tailscale-wait reports a timeout with exit status 1"):
        server.succeed("rc=0; tailscale-wait --interface nosuch0 --timeout 1 || rc=$?; test $rc -eq 1")

    with subtest("hardening of the real unit (with AF_NETLINK)"):
        server.succeed("systemd-analyze security --threshold=20 --no-pager anki-sync-server.service")
        server.log(server.succeed("systemd-analyze security --no-pager anki-sync-server.service | tail -n 1"))

    with subtest("after a reboot the server comes up on its own and no unit failed"):
        server.shutdown()
        server.start()
        server.wait_for_unit("multi-user.target")
        server.wait_for_unit("anki-sync-server.service")
        server.wait_for_open_port(27701, addr="100.64.0.1")
        only_listener_is("100.64.0.1")
        failed = server.succeed("systemctl list-units --state=failed --no-legend --plain").strip()
        assert failed == "", failed
  '';
}
