# SPDX-License-Identifier: AGPL-3.0-or-later
#
# cases.nix - module evaluation cases for homeserver.ankiSync (docs/nix.md,
# "Offline checks"; spec nix.md section 2.2).  A list of { name; pass; }.
#
#   nix-instantiate --eval --strict --json tests/nix/cases.nix            # stand-in lib
#   nix-instantiate --eval --strict --json tests/nix/cases.nix \
#     --arg lib 'import /path/to/nixpkgs/lib'                              # real lib
#
# The flake's `module-eval` check runs the same list against the pinned
# nixpkgs lib and fails evaluation if any case fails.  Groups: enable and
# defaults, types, assertions, warnings, credentials wiring, firewall,
# tailscale wiring, hardening, backup service and timer, host overrides and
# the strictness of the systemd stand-ins (faults real NixOS rejects).
{
  lib ? import ./stub-nixpkgs/lib.nix,
}:
let
  h = import ./harness.nix { inherit lib; };
  inherit (h)
    alice
    assertionMentions
    backupSvc
    eval
    failedAssertions
    force
    hasInfix
    isStorePath
    ok
    rejects
    server
    sorted
    strings
    svc
    warningMentions
    ;
  b = builtins;
  inherit (lib) mkForce mkIf;

  bob = {
    username = "bob";
    passwordHash = "$pbkdf2-sha256$i=600000,l=32$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
  };
  carol = {
    username = "carol";
    password = "carol-plain";
  };
  dave = {
    username = "dave";
    passwordHashFile = "/run/keys/dave.phc";
  };

  off = eval { modules = [ ]; };
  base = server [ ];
  baseSvc = svc base;
  sc = baseSvc.serviceConfig;
  env = baseSvc.environment;

  mixed = server [ { homeserver.ankiSync.users = mkForce [ alice bob carol dave ]; } ];
  mixedSvc = svc mixed;

  ts = server [ { homeserver.ankiSync.tailscale.enable = true; } ];
  tsSvc = svc ts;
  tsMixed = server [
    {
      homeserver.ankiSync.tailscale.enable = true;
      homeserver.ankiSync.users = mkForce [ alice bob ];
    }
  ];

  withBackup = extra: server ([ { homeserver.ankiSync.backup.enable = true; } ] ++ extra);
  bk = withBackup [ ];
  bkSvc = backupSvc bk;
  bkTimer = bk.systemd.timers.anki-sync-backup;

  hasWord = w: s: b.elem w (lib.splitString " " s);
  execStart = s: toString s.serviceConfig.ExecStart;
  preList = s: map toString (s.serviceConfig.ExecStartPre or [ ]);
in
[
  # ------------------------------------------------------ enable, defaults
  (ok "disabled: no units, no assertions, firewall closed" (
    !(off.systemd.services ? anki-sync-server)
    && !(off.systemd.services ? anki-sync-backup)
    && off.systemd.timers == { }
    && failedAssertions off == [ ]
    && off.networking.firewall.allowedTCPPorts == [ ]
  ))
  (ok "enabled: unit wanted by multi-user.target, after network.target" (
    baseSvc.wantedBy == [ "multi-user.target" ] && baseSvc.after == [ "network.target" ]
  ))
  (ok "enabled: simple service, restarts always, dynamic user, state and runtime dirs" (
    sc.Type == "simple"
    && sc.Restart == "always"
    && sc.DynamicUser
    && sc.User == "anki-sync-server"
    && sc.StateDirectory == [ "anki-sync-server" ]
    && sc.RuntimeDirectory == "anki-sync-server"
    && sc.UMask == "0077"
  ))
  (ok "defaults as nixpkgs: SYNC_BASE=/var/lib/anki-sync-server, SYNC_HOST=::1, SYNC_PORT=27701" (
    env.SYNC_BASE == "/var/lib/anki-sync-server"
    && env.SYNC_HOST == "::1"
    && env.SYNC_PORT == "27701"
    && env.MAX_SYNC_PAYLOAD_MEGS == "100"
  ))
  (ok "ExecStart is the server binary of the package (store path)" (
    isStorePath sc.ExecStart && lib.hasSuffix "/bin/anki-sync-server" sc.ExecStart
  ))
  (ok "package comes from the overlay when present, else from pkgs/anki-sync-server.nix" (
    let
      plain = eval {
        pkgs = h.stubPkgs;
        modules = [
          {
            homeserver.ankiSync = {
              enable = true;
              users = [ alice ];
            };
          }
        ];
      };
    in
    base.homeserver.ankiSync.package.pname == "anki-sync-server"
    && base.homeserver.ankiSync.package == h.pkgs.ankihostPackages.anki-sync-server
    && plain.homeserver.ankiSync.package.pname == "anki-sync-server"
    && plain.homeserver.ankiSync.package.meta.mainProgram == "anki-sync-server"
  ))
  (ok "nixosModules.anki-sync-server alone (with shared options) evaluates; imports de-duplicate" (
    let
      alone = eval {
        entry = ../../modules/nixos/programs/anki-sync-server;
        modules = [
          {
            homeserver.ankiSync = {
              enable = true;
              users = [ alice ];
            };
          }
        ];
      };
      twice = eval {
        modules = [
          ../../modules/nixos/programs/anki-sync-server
          ../../modules/nixos/options/homeserver.nix
          {
            homeserver.ankiSync = {
              enable = true;
              users = [ alice ];
            };
          }
        ];
      };
    in
    (svc alone).environment.SYNC_PORT == "27701" && (svc twice).environment.SYNC_PORT == "27701"
  ))
  (ok "custom baseDirectory below /var/lib: SYNC_BASE and an extra StateDirectory" (
    let
      c = server [ { homeserver.ankiSync.baseDirectory = "/var/lib/anki-data"; } ];
    in
    (svc c).environment.SYNC_BASE == "/var/lib/anki-data"
    && (svc c).serviceConfig.StateDirectory == [
      "anki-sync-server"
      "anki-data"
    ]
    && failedAssertions c == [ ]
  ))
  (ok "baseDirectory with %S is resolved (nested state directory)" (
    let
      c = server [ { homeserver.ankiSync.baseDirectory = "%S/anki/data"; } ];
    in
    (svc c).environment.SYNC_BASE == "/var/lib/anki/data"
    && b.elem "anki/data" (svc c).serviceConfig.StateDirectory
  ))
  (ok "address and port are passed through, % escaped for systemd" (
    let
      c = server [
        {
          homeserver.ankiSync.address = "fe80::1%eth0";
          homeserver.ankiSync.port = 8080;
          homeserver.ankiSync.maxPayloadMegabytes = 300;
        }
      ];
    in
    (svc c).environment.SYNC_HOST == "fe80::1%%eth0"
    && (svc c).environment.SYNC_PORT == "8080"
    && (svc c).environment.MAX_SYNC_PAYLOAD_MEGS == "300"
  ))
  (ok "extraEnvironment is added" (
    (svc (server [ { homeserver.ankiSync.extraEnvironment.SYNC_IP_HEADER = "X-Forwarded-For"; } ]))
    .environment.SYNC_IP_HEADER == "X-Forwarded-For"
  ))

  # ------------------------------------------------------------------ types
  (rejects "port 70000 is rejected" (svc (server [ { homeserver.ankiSync.port = 70000; } ])).environment)
  (rejects "a string port is rejected" (svc (server [ { homeserver.ankiSync.port = "27701"; } ])).environment)
  (rejects "a misspelt option (homeserver.ankiSync.prot) is rejected" (
    (server [ { homeserver.ankiSync.prot = 1; } ]).homeserver.ankiSync.enable
  ))
  (rejects "users given as an attribute set are rejected" (
    (svc (server [ { homeserver.ankiSync.users = mkForce { alice = { }; }; } ])).environment
  ))
  (rejects "a user without username is rejected" (
    (svc (server [ { homeserver.ankiSync.users = mkForce [ { password = "x"; } ]; } ])).environment
  ))
  (rejects "maxPayloadMegabytes = 0 is rejected" (
    (svc (server [ { homeserver.ankiSync.maxPayloadMegabytes = 0; } ])).environment
  ))
  (rejects "tailscale.timeout = 0 is rejected" (
    (svc (server [
      {
        homeserver.ankiSync.tailscale.enable = true;
        homeserver.ankiSync.tailscale.timeout = 0;
      }
    ])).serviceConfig
  ))
  (rejects "backup.keepDaily = -1 is rejected" ((backupSvc (withBackup [ { homeserver.ankiSync.backup.keepDaily = -1; } ])).serviceConfig))
  (rejects "an unknown tailscale family is rejected" (
    (svc (server [
      {
        homeserver.ankiSync.tailscale.enable = true;
        homeserver.tailscale.family = "5";
      }
    ])).serviceConfig
  ))

  # ------------------------------------------------------------- assertions
  (ok "no users: assertion" (
    assertionMentions (eval {
      modules = [ { homeserver.ankiSync.enable = true; } ];
    }) "at least one user"
  ))
  (ok "a user without any password: assertion" (
    assertionMentions (server [ { homeserver.ankiSync.users = [ { username = "eve"; } ]; } ]) "eve has no password"
  ))
  (ok "duplicate user names: assertion" (
    assertionMentions (server [ { homeserver.ankiSync.users = [ alice ]; } ]) "must be unique"
  ))
  (ok "a password and a hash for one user: assertion" (
    assertionMentions (server [
      { homeserver.ankiSync.users = mkForce [ (alice // { inherit (bob) passwordHash; }) ]; }
    ]) "both a password and a password hash"
  ))
  (ok "password and passwordFile together are allowed (file wins, as in nixpkgs)" (
    let
      c = server [ { homeserver.ankiSync.users = mkForce [ (alice // { password = "ignored"; }) ]; } ];
    in
    failedAssertions c == [ ] && (svc c).serviceConfig.LoadCredential == [ "alice:/run/agenix/anki-sync-password" ]
  ))
  (ok "a user name that is not a safe credential/directory name: assertion" (
    assertionMentions (server [
      {
        homeserver.ankiSync.users = mkForce [
          {
            username = "../x";
            password = "p";
          }
        ];
      }
    ]) "not a usable user name"
  ))
  (ok "baseDirectory outside /var/lib: assertion" (
    assertionMentions (server [ { homeserver.ankiSync.baseDirectory = "/srv/anki"; } ]) "below /var/lib"
  ))
  (ok "baseDirectory with an unresolvable specifier: assertion" (
    assertionMentions (server [ { homeserver.ankiSync.baseDirectory = "%h/anki"; } ]) "below /var/lib"
  ))
  (ok "extraEnvironment with SYNC_USER1 or PASSWORDS_HASHED: assertion" (
    assertionMentions (server [ { homeserver.ankiSync.extraEnvironment.SYNC_USER1 = "x:y"; } ]) "SYNC_USER"
    && assertionMentions (server [ { homeserver.ankiSync.extraEnvironment.PASSWORDS_HASHED = "1"; } ]) "PASSWORDS_HASHED"
  ))
  (ok "tailscale in userspace-networking mode: assertion" (
    assertionMentions (server [
      {
        homeserver.ankiSync.tailscale.enable = true;
        services.tailscale.interfaceName = "userspace-networking";
      }
    ]) "userspace-networking"
  ))
  (ok "a bad interface name: assertion" (
    assertionMentions (server [
      {
        homeserver.ankiSync.tailscale.enable = true;
        homeserver.ankiSync.tailscale.interface = "tail scale/0";
      }
    ]) "not a network interface name"
  ))
  (ok "agenix stand-in: a secret without identityPaths trips agenix's own assertion" (
    assertionMentions (server [ { age.secrets.x.file = ./secrets/anki-sync-password.age; } ]) "age.identityPaths must be set"
  ))

  # --------------------------------------------------------------- warnings
  (ok "an agenix password file: no warning" (base.warnings == [ ]))
  (ok "a password file in the Nix store: warning" (
    warningMentions (server [
      {
        homeserver.ankiSync.users = mkForce [
          {
            username = "alice";
            passwordFile = h.pkgs.writeText "pw" "secret";
          }
        ];
      }
    ]) "is in the Nix store"
  ))
  (ok "a plaintext password: warning" (
    warningMentions (server [ { homeserver.ankiSync.users = mkForce [ carol ]; } ]) "plain text"
  ))
  (ok "a hash file in the Nix store: warning; a hash file outside: none" (
    warningMentions (server [
      {
        homeserver.ankiSync.users = mkForce [
          {
            username = "dave";
            passwordHashFile = h.pkgs.writeText "phc" bob.passwordHash;
          }
        ];
      }
    ]) "hash file of dave"
    && (server [ { homeserver.ankiSync.users = mkForce [ dave ]; } ]).warnings == [ ]
  ))

  # ---------------------------------------------------- credentials wiring
  (ok "password file: LoadCredential=alice:<file>, SYNC_USER1=alice without a secret" (
    sc.LoadCredential == [ "alice:/run/agenix/anki-sync-password" ]
    && env.SYNC_USER1 == "alice"
    && !(env ? SYNC_USERS_FILE)
    && !(env ? PASSWORDS_HASHED)
  ))
  (ok "agenix: passwordFile = config.age.secrets.<n>.path is /run/agenix/<n>, root-only 0400" (
    let
      c = eval {
        modules = [
          (
            { config, ... }:
            {
              age.secrets.anki-sync-password.file = ./secrets/anki-sync-password.age;
              age.identityPaths = [ "/etc/ssh/ssh_host_ed25519_key" ];
              homeserver.ankiSync = {
                enable = true;
                users = [
                  {
                    username = "alice";
                    passwordFile = config.age.secrets.anki-sync-password.path;
                  }
                ];
              };
            }
          )
        ];
      };
    in
    (svc c).serviceConfig.LoadCredential == [ "alice:/run/agenix/anki-sync-password" ]
    && c.age.secrets.anki-sync-password.mode == "0400"
    && c.age.secrets.anki-sync-password.owner == "0"
    && failedAssertions c == [ ]
  ))
  (ok "% in a password file path is escaped in LoadCredential" (
    (svc (server [
      {
        homeserver.ankiSync.users = mkForce [
          {
            username = "alice";
            passwordFile = "/run/keys/a%b";
          }
        ];
      }
    ])).serviceConfig.LoadCredential == [ "alice:/run/keys/a%%b" ]
  ))
  (ok "mixed users: plain ones numbered in order, hashed ones via the users file" (
    let
      e = mixedSvc.environment;
    in
    e.SYNC_USER1 == "alice"
    && e.SYNC_USER2 == "carol"
    && !(e ? SYNC_USER3)
    && e.SYNC_USERS_FILE == "%t/anki-sync-server/users"
    && !(e ? PASSWORDS_HASHED)
    && failedAssertions mixed == [ ]
  ))
  (ok "mixed users: one credential per user; literals become store files" (
    let
      creds = mixedSvc.serviceConfig.LoadCredential;
      pathOf = u: lib.removePrefix "${u}:" (b.head (b.filter (lib.hasPrefix "${u}:") creds));
    in
    b.length creds == 4
    && pathOf "alice" == "/run/agenix/anki-sync-password"
    && pathOf "dave" == "/run/keys/dave.phc"
    && isStorePath (pathOf "bob")
    && isStorePath (pathOf "carol")
  ))
  (ok "hashed users: ExecStartPre writes the users file from credentials, holding no secret" (
    let
      pre = mixedSvc.serviceConfig.ExecStartPre;
      text = (b.head pre).text;
    in
    b.length pre == 1
    && hasInfix "$CREDENTIALS_DIRECTORY/$user" text
    && hasInfix "$RUNTIME_DIRECTORY/users" text
    && hasInfix "for user in bob dave;" text
    && !(hasInfix bob.passwordHash text)
  ))
  (ok "no password or hash anywhere in the environment or unit settings" (
    let
      all = strings mixedSvc.environment ++ strings mixedSvc.serviceConfig;
    in
    !(b.any (s: hasInfix "carol-plain" s || hasInfix bob.passwordHash s) all)
  ))

  # ---------------------------------------------------------------- firewall
  (ok "openFirewall with a custom port opens that port globally" (
    (server [
      {
        homeserver.ankiSync.openFirewall = true;
        homeserver.ankiSync.port = 8080;
      }
    ]).networking.firewall.allowedTCPPorts == [ 8080 ]
  ))
  (ok "with tailscale, openFirewall opens the port on the Tailscale interface only" (
    let
      c = server [
        {
          homeserver.ankiSync.openFirewall = true;
          homeserver.ankiSync.tailscale.enable = true;
        }
      ];
    in
    c.networking.firewall.allowedTCPPorts == [ ]
    && c.networking.firewall.interfaces.tailscale0.allowedTCPPorts == [ 27701 ]
  ))
  (ok "with tailscale but without openFirewall nothing is opened" (ts.networking.firewall.interfaces == { }))

  # ------------------------------------------------------- tailscale wiring
  (ok "tailscale: tailscale-wait runs as ExecStartPre with interface, family, timeout, address file" (
    let
      pre = b.head (preList tsSvc);
    in
    b.length (preList tsSvc) == 1
    && isStorePath pre
    && hasInfix "/bin/tailscale-wait --interface tailscale0 --family 4 --timeout 120 --write %t/anki-sync-server/address" pre
  ))
  (ok "tailscale: After= and Wants= tailscaled.service, network.target kept" (
    sorted tsSvc.after == [
      "network.target"
      "tailscaled.service"
    ]
    && tsSvc.wants == [ "tailscaled.service" ]
  ))
  (ok "tailscale: RestrictAddressFamilies gains AF_NETLINK (lists merge across modules)" (
    sorted tsSvc.serviceConfig.RestrictAddressFamilies == [
      "AF_INET"
      "AF_INET6"
      "AF_NETLINK"
      "AF_UNIX"
    ]
    && sorted sc.RestrictAddressFamilies == [
      "AF_INET"
      "AF_INET6"
      "AF_UNIX"
    ]
  ))
  (ok "tailscale: SYNC_HOST comes from the address file via the start script" (
    !(tsSvc.environment ? SYNC_HOST)
    && hasInfix "$RUNTIME_DIRECTORY/address" tsSvc.serviceConfig.ExecStart.text
    && hasInfix "/bin/anki-sync-server" tsSvc.serviceConfig.ExecStart.text
  ))
  (ok "tailscale: start timeout above the helper's, IP allow-list limited to Tailscale ranges" (
    tsSvc.serviceConfig.TimeoutStartSec == 150
    && tsSvc.serviceConfig.IPAddressDeny == "any"
    && b.elem "100.64.0.0/10" tsSvc.serviceConfig.IPAddressAllow
    && tsSvc.serviceConfig.PrivateNetwork == false
  ))
  (ok "tailscale: interface follows services.tailscale.interfaceName, timeout the shared default" (
    let
      c = server [
        {
          homeserver.ankiSync.tailscale.enable = true;
          services.tailscale.interfaceName = "ts1";
          homeserver.tailscale.timeout = 30;
        }
      ];
    in
    hasInfix "--interface ts1 --family 4 --timeout 30 " (b.head (preList (svc c)))
    && (svc c).serviceConfig.TimeoutStartSec == 60
  ))
  (ok "tailscale with hashed users: both ExecStartPre commands" (b.length (preList (svc tsMixed)) == 2))
  (ok "without tailscale: no tailscale-wait, no IP allow-list" (
    preList baseSvc == [ ] && !(sc ? IPAddressDeny) && !(b.elem "tailscaled.service" baseSvc.after)
  ))

  # -------------------------------------------------------------- hardening
  (ok "hardening baseline (N16) on the server" (
    sc.NoNewPrivileges
    && sc.ProtectSystem == "strict"
    && sc.ProtectHome
    && sc.PrivateTmp
    && sc.PrivateDevices
    && sc.ProtectKernelTunables
    && sc.ProtectControlGroups
    && sc.ProtectProc == "invisible"
    && sc.MemoryDenyWriteExecute
    && sc.SystemCallArchitectures == "native"
    && sc.SystemCallFilter == [
      "@system-service"
      "~@privileged @resources"
    ]
    && sc.CapabilityBoundingSet == ""
    && sc.PrivateUsers
  ))
  (ok "port below 1024: CAP_NET_BIND_SERVICE only then, and no user namespace" (
    let
      c = (svc (server [ { homeserver.ankiSync.port = 443; } ])).serviceConfig;
    in
    c.CapabilityBoundingSet == [ "CAP_NET_BIND_SERVICE" ]
    && c.AmbientCapabilities == [ "CAP_NET_BIND_SERVICE" ]
    && c.PrivateUsers == false
  ))

  # ----------------------------------------------------- backup and timer
  (ok "backup off: no backup unit or timer" (
    !(base.systemd.services ? anki-sync-backup) && !(base.systemd.timers ? anki-sync-backup)
  ))
  (ok "backup on, server off: nothing" (
    let
      c = eval { modules = [ { homeserver.ankiSync.backup.enable = true; } ]; };
    in
    !(c.systemd.services ? anki-sync-backup)
  ))
  (ok "backup: oneshot running anki-backup create with source, dest (real paths) and retention" (
    bkSvc.serviceConfig.Type == "oneshot"
    && lib.hasSuffix "/bin/anki-backup create --source /var/lib/private/anki-sync-server --dest /var/lib/private/anki-sync-server-backup --keep-daily 7 --keep-weekly 4 --keep-monthly 12" bkSvc.serviceConfig.ExecStart
    && isStorePath bkSvc.serviceConfig.ExecStart
  ))
  (ok "backup: same dynamic user as the server, both state directories" (
    bkSvc.serviceConfig.DynamicUser
    && bkSvc.serviceConfig.User == "anki-sync-server"
    && bkSvc.serviceConfig.StateDirectory == [
      "anki-sync-server"
      "anki-sync-server-backup"
    ]
  ))
  (ok "backup: sandbox without network, idle priority (N18)" (
    bkSvc.serviceConfig.PrivateNetwork
    && bkSvc.serviceConfig.RestrictAddressFamilies == "AF_UNIX"
    && bkSvc.serviceConfig.IPAddressDeny == "any"
    && bkSvc.serviceConfig.Nice == 19
    && bkSvc.serviceConfig.IOSchedulingClass == "idle"
    && bkSvc.serviceConfig.CapabilityBoundingSet == ""
  ))
  (ok "backup timer: timers.target, OnCalendar=daily, Persistent, RandomizedDelaySec=1h" (
    bkTimer.wantedBy == [ "timers.target" ]
    && bkTimer.timerConfig.OnCalendar == "daily"
    && bkTimer.timerConfig.Persistent
    && bkTimer.timerConfig.RandomizedDelaySec == "1h"
    && bkTimer.timerConfig.FixedRandomDelay
    && !(bkSvc ? startAt && bkSvc.startAt != [ ])
  ))
  (ok "backup: onCalendar and randomizedDelaySec are passed through" (
    let
      t =
        (withBackup [
          {
            homeserver.ankiSync.backup.onCalendar = "*-*-* 03:30:00";
            homeserver.ankiSync.backup.randomizedDelaySec = "10min";
          }
        ]).systemd.timers.anki-sync-backup;
    in
    t.timerConfig.OnCalendar == "*-*-* 03:30:00" && t.timerConfig.RandomizedDelaySec == "10min"
  ))
  (ok "backup: null keep* values drop the flags (never prune)" (
    let
      e =
        (backupSvc (withBackup [
          {
            homeserver.ankiSync.backup = {
              keepDaily = null;
              keepWeekly = null;
              keepMonthly = null;
            };
          }
        ])).serviceConfig.ExecStart;
    in
    !(hasInfix "--keep" e) && lib.hasSuffix "--dest /var/lib/private/anki-sync-server-backup" e
  ))
  (ok "backup: encryptTo writes a recipients file and passes age" (
    let
      e =
        (backupSvc (withBackup [
          { homeserver.ankiSync.backup.encryptTo = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample host" ]; }
        ])).serviceConfig.ExecStart;
      words = lib.splitString " " e;
    in
    hasWord "--encrypt-to-file" e
    && hasWord "--age" e
    && b.any (w: lib.hasSuffix "-anki-sync-backup-recipients" w) words
    && b.any (w: lib.hasSuffix "/bin/age" w) words
  ))
  (ok "backup follows a custom baseDirectory" (
    let
      c = withBackup [ { homeserver.ankiSync.baseDirectory = "/var/lib/anki-data"; } ];
    in
    hasInfix "--source /var/lib/private/anki-data " (backupSvc c).serviceConfig.ExecStart
    && (backupSvc c).serviceConfig.StateDirectory == [
      "anki-data"
      "anki-sync-server-backup"
    ]
  ))
  (ok "backup directory outside /var/lib or inside the data: assertion" (
    assertionMentions (withBackup [ { homeserver.ankiSync.backup.directory = "/mnt/backup"; } ]) "backup.directory"
    && assertionMentions (withBackup [
      { homeserver.ankiSync.backup.directory = "/var/lib/anki-sync-server/backups"; }
    ]) "must not be inside baseDirectory"
  ))

  # ------------------------------------- host overrides, stand-in strictness
  (ok "mkForce in the host config beats the module (wantedBy = [ ])" (
    (svc (server [ { systemd.services.anki-sync-server.wantedBy = mkForce [ ]; } ])).wantedBy == [ ]
  ))
  (ok "mkForce on a unit setting beats the module's value" (
    (svc (server [ { systemd.services.anki-sync-server.serviceConfig.RestartSec = mkForce 30; } ]))
    .serviceConfig.RestartSec == 30
  ))
  (ok "a host adds to a list setting (concatenated)" (
    b.elem "AF_PACKET" (svc (server [
      { systemd.services.anki-sync-server.serviceConfig.RestrictAddressFamilies = [ "AF_PACKET" ]; }
    ])).serviceConfig.RestrictAddressFamilies
  ))
  (rejects "two plain values for ProtectSystem conflict" (
    (svc (server [ { systemd.services.anki-sync-server.serviceConfig.ProtectSystem = "full"; } ]))
    .serviceConfig.ProtectSystem
  ))
  (rejects "a list and a non-list for RestrictAddressFamilies conflict" (
    (svc (server [ { systemd.services.anki-sync-server.serviceConfig.RestrictAddressFamilies = "AF_PACKET"; } ]))
    .serviceConfig.RestrictAddressFamilies
  ))
  (rejects "a misspelt unit option (wantedby) is rejected" (
    force (svc (server [ { systemd.services.anki-sync-server.wantedby = [ "multi-user.target" ]; } ])).after
  ))
  (rejects "after = [ \"network\" ] (no unit type) is rejected" (
    (svc (server [ { systemd.services.anki-sync-server.after = [ "network" ]; } ])).after
  ))
  (rejects "wantedBy = [ \"multi-user\" ] is rejected" (
    (svc (server [ { systemd.services.anki-sync-server.wantedBy = [ "multi-user" ]; } ])).wantedBy
  ))
  (ok "Restart = mkForce \"on-failure\" is accepted (checked after unwrapping, as NixOS does)" (
    (svc (server [ { systemd.services.anki-sync-server.serviceConfig.Restart = mkForce "on-failure"; } ]))
    .serviceConfig.Restart == "on-failure"
  ))
  (rejects "Restart = \"sometimes\" is rejected" (
    (svc (server [ { systemd.services.anki-sync-server.serviceConfig.Restart = mkForce "sometimes"; } ]))
    .serviceConfig
  ))
  (rejects "a multi-line description is rejected" (
    (svc (server [ { systemd.services.anki-sync-server.description = mkForce "two\nlines"; } ])).description
  ))
  (rejects "modules must not set nixpkgs.overlays (read-only in VM tests, N4)" (
    (server [ { nixpkgs.overlays = [ ]; } ]).homeserver.ankiSync.enable
  ))
  (ok "mkIf false in the host config leaves the module's value alone" (
    (svc (server [ { systemd.services.anki-sync-server.serviceConfig.RestartSec = mkIf false 1; } ]))
    .serviceConfig.RestartSec == 10
  ))
]
