# SPDX-License-Identifier: AGPL-3.0-or-later
#
# homeserver.ankiSync.backup - scheduled `anki-backup create` runs of the sync
# server's data (docs/nix.md; spec nix.md N18, N21).
#
# A oneshot service anki-sync-backup.service and its timer.  The service runs
# as the server's dynamic user (same User= name, hence the same UID), so it
# can read the server's StateDirectory; collections are copied with SQLite's
# online backup API by anki-backup while the server keeps running.  Any
# non-zero exit (failed copy, busy lock, damaged source, nothing to back up)
# leaves the unit failed, visible in `systemctl status` and `systemctl
# --failed`.  The sandbox is the server's plus PrivateNetwork and idle I/O.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    concatStringsSep
    literalExpression
    mkEnableOption
    mkIf
    mkOption
    optionals
    types
    unique
    ;

  cfg = config.homeserver.ankiSync;
  bcfg = cfg.backup;
  dirs = import ../../lib/state-dir.nix { inherit lib; };
  serverUnit = "anki-sync-server";
  baseDir = dirs.resolve serverUnit cfg.baseDirectory;
  destDir = dirs.resolve serverUnit bcfg.directory;

  recipients = pkgs.writeText "anki-sync-backup-recipients" (concatStringsSep "\n" bcfg.encryptTo + "\n");
  keep = flag: n: optionals (n != null) [
    flag
    (toString n)
  ];
  # With DynamicUser=, /var/lib/<name> is a symlink to /var/lib/private/<name>
  # (reachable inside the unit); anki-backup opens databases with
  # SQLITE_OPEN_NOFOLLOW, which refuses a symlink anywhere in the path, so it
  # is given the real directories.
  realDir = d: "/var/lib/private/${dirs.stateName d}";
  command = [
    (lib.getExe bcfg.package)
    "create"
    "--source"
    (dirs.specEscape (realDir baseDir))
    "--dest"
    (dirs.specEscape (realDir destDir))
  ]
  ++ keep "--keep-daily" bcfg.keepDaily
  ++ keep "--keep-weekly" bcfg.keepWeekly
  ++ keep "--keep-monthly" bcfg.keepMonthly
  ++ optionals (bcfg.encryptTo != [ ]) [
    "--encrypt-to-file"
    "${recipients}"
    "--age"
    (lib.getExe bcfg.agePackage)
  ];

  keepOption =
    what: n:
    mkOption {
      type = types.nullOr types.ints.unsigned;
      default = n;
      description = "How many ${what} snapshots to keep (newest of each period); null for no limit of this kind.  When all three are null nothing is ever pruned.";
    };
in
{
  options.homeserver.ankiSync.backup = {
    enable = mkEnableOption "scheduled backups of the sync server's collections and media with anki-backup";

    package = mkOption {
      type = types.package;
      default = pkgs.ankihostPackages.anki-backup or (pkgs.callPackage ../../../../pkgs/anki-backup.nix { });
      defaultText = literalExpression "pkgs.ankihostPackages.anki-backup (this flake's overlay), else pkgs/anki-backup.nix";
      description = "The anki-backup package.";
    };

    agePackage = mkOption {
      type = types.package;
      default = pkgs.age;
      defaultText = literalExpression "pkgs.age";
      description = "The age program used when encryptTo is set.";
    };

    onCalendar = mkOption {
      type = types.str;
      default = "daily";
      example = "*-*-* 03:30:00";
      description = "When to run, as a systemd calendar event (systemd.time(7)).";
    };

    randomizedDelaySec = mkOption {
      type = types.str;
      default = "1h";
      description = "Random delay added to each run (RandomizedDelaySec=), fixed per host.";
    };

    directory = mkOption {
      type = types.str;
      default = "/var/lib/anki-sync-server-backup";
      description = ''
        Where snapshots are written.  Like baseDirectory it must be below
        /var/lib (a StateDirectory of the backup unit); mount a backup disk
        there.
      '';
    };

    keepDaily = keepOption "daily" 7;
    keepWeekly = keepOption "weekly" 4;
    keepMonthly = keepOption "monthly" 12;

    encryptTo = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p" ];
      description = ''
        age recipients (age1… keys or ssh-ed25519/ssh-rsa public keys).  When
        set, every snapshot file is encrypted; restoring needs a matching
        identity (`anki-backup restore --identity`).
      '';
    };
  };

  config = mkIf (cfg.enable && bcfg.enable) {
    assertions = [
      {
        assertion = dirs.isStatePath destDir;
        message = "homeserver.ankiSync.backup.directory = \"${bcfg.directory}\" must be a directory below /var/lib (a StateDirectory of the backup unit).";
      }
      {
        assertion = !(dirs.within destDir baseDir) && !(dirs.within baseDir destDir);
        message = "homeserver.ankiSync.backup.directory must not be inside baseDirectory, nor contain it.";
      }
    ];

    systemd.services.anki-sync-backup = {
      description = "Back up the Anki sync server's collections (ankihost)";
      after = [ "${serverUnit}.service" ];
      serviceConfig = {
        Type = "oneshot";
        ExecStart = concatStringsSep " " command;

        DynamicUser = true;
        User = serverUnit;
        StateDirectory = unique [
          (dirs.stateName baseDir)
          (dirs.stateName destDir)
        ];
        StateDirectoryMode = "0700";
        UMask = "0077";
        Nice = 19;
        IOSchedulingClass = "idle";

        NoNewPrivileges = true;
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        PrivateMounts = true;
        PrivateUsers = true;
        PrivateNetwork = true;
        ProtectClock = true;
        ProtectHostname = true;
        ProtectKernelLogs = true;
        ProtectKernelModules = true;
        ProtectKernelTunables = true;
        ProtectControlGroups = true;
        ProtectProc = "invisible";
        ProcSubset = "pid";
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        RemoveIPC = true;
        DevicePolicy = "closed";
        SystemCallArchitectures = "native";
        SystemCallFilter = [
          "@system-service"
          "~@privileged @resources"
        ];
        SystemCallErrorNumber = "EPERM";
        CapabilityBoundingSet = "";
        AmbientCapabilities = "";
        RestrictAddressFamilies = "AF_UNIX";
        IPAddressDeny = "any";
      };
    };

    systemd.timers.anki-sync-backup = {
      description = "Scheduled backup of the Anki sync server (ankihost)";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = bcfg.onCalendar;
        Persistent = true;
        RandomizedDelaySec = bcfg.randomizedDelaySec;
        FixedRandomDelay = true;
      };
    };
  };
}
