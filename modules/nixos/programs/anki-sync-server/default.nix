# SPDX-License-Identifier: AGPL-3.0-or-later
#
# homeserver.ankiSync - ankihost's Anki sync server as a NixOS service
# (docs/nix.md; spec nix.md N10, N14, N16, N17, N19, N20).
#
# It offers every option of nixpkgs' services.anki-sync-server with the same
# meaning (enable, package, address, port, baseDirectory, openFirewall,
# users.*.{username,password,passwordFile}) and adds hashed passwords,
# maxPayloadMegabytes, extraEnvironment, tailscale.* and backup.* (backup.nix).
#
# How passwords travel (invariant: no password in the environment, a unit
# file or a script; only `password`/`passwordHash` literals are in the store,
# and those are documented as such):
#   * plain users (password / passwordFile): SYNC_USER<i>=<name> without a
#     secret, and LoadCredential=<name>:<file>; the server reads the password
#     from $CREDENTIALS_DIRECTORY/<name> itself;
#   * hashed users (passwordHash / passwordHashFile): LoadCredential=<name>:
#     <file> too; an ExecStartPre script copies the PHC strings into
#     $RUNTIME_DIRECTORY/users, the server's SYNC_USERS_FILE.  Hashed and
#     plain users can therefore be mixed (PASSWORDS_HASHED, being global, is
#     never set).
# The unit runs as a DynamicUser in the sandbox of N16 (exposure 1.x in
# `systemd-analyze security`); the data lives in a StateDirectory, which is
# why baseDirectory must resolve to a path below /var/lib.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    concatMapStringsSep
    escapeShellArgs
    filter
    imap1
    length
    listToAttrs
    literalExpression
    mkEnableOption
    mkIf
    mkMerge
    mkOption
    nameValuePair
    optional
    optionalAttrs
    types
    unique
    ;

  cfg = config.homeserver.ankiSync;
  unitName = "anki-sync-server";
  dirs = import ../../lib/state-dir.nix { inherit lib; };
  tsw = import ../../lib/tailscale-wait.nix { inherit lib pkgs; };

  baseDir = dirs.resolve unitName cfg.baseDirectory;
  lowPort = cfg.port < 1024;

  isPlain = u: u.password != null || u.passwordFile != null;
  isHashed = u: u.passwordHash != null || u.passwordHashFile != null;
  plainUsers = filter isPlain cfg.users;
  hashedUsers = filter isHashed cfg.users;
  names = map (u: u.username) cfg.users;

  # As in nixpkgs, a password file wins over a literal.
  passwordSource =
    u:
    if u.passwordFile != null then
      u.passwordFile
    else
      pkgs.writeText "anki-sync-password" u.password;
  hashSource =
    u:
    if u.passwordHashFile != null then
      u.passwordHashFile
    else
      pkgs.writeText "anki-sync-password-hash" u.passwordHash;
  credential = u: file: "${u.username}:${dirs.specEscape (toString file)}";

  isStore = f: f != null && lib.hasPrefix "/nix/store/" (toString f);

  usersFile = "%t/${unitName}/users";
  writeUsersFile = pkgs.writeShellScript "anki-sync-server-users" ''
    # Builds the users file (one "name:PHC" line per hashed user) from the
    # credentials systemd loaded for this start; it lives in the runtime
    # directory and disappears when the service stops.
    set -eu
    umask 077
    {
      for user in ${escapeShellArgs (map (u: u.username) hashedUsers)}; do
        IFS= read -r hash < "$CREDENTIALS_DIRECTORY/$user" || [ -n "$hash" ]
        printf '%s:%s\n' "$user" "$hash"
      done
    } > "$RUNTIME_DIRECTORY/users"
  '';

  addressFile = "%t/${unitName}/address";
  startOnTailscale = pkgs.writeShellScript "anki-sync-server-start" ''
    # The address tailscale-wait found (ExecStartPre) becomes SYNC_HOST.
    IFS= read -r SYNC_HOST < "$RUNTIME_DIRECTORY/address"
    export SYNC_HOST
    exec ${lib.getExe cfg.package}
  '';

  userModule = {
    options = {
      username = mkOption {
        type = types.str;
        description = ''
          User name accepted by the sync server.  Also the name of the user's
          directory under baseDirectory and of the systemd credential that
          carries the password, so it is limited to letters, digits and
          `._@+-` (not starting with a dot).
        '';
      };
      password = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = ''
          Password for this user.  **Not secure**: it is written to the Nix
          store, readable by every local user.  Use passwordFile (for example
          an agenix secret) or passwordHash instead.
        '';
      };
      passwordFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = "/run/agenix/anki-sync-password";
        description = ''
          File holding this user's password (one line), readable by root only.
          It reaches the server as a systemd credential.  Give a string path,
          not a Nix path literal, or the file is copied into the store.
        '';
      };
      passwordHash = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "$pbkdf2-sha256$i=600000,l=32$c2FsdHNhbHRzYWx0$...";
        description = ''
          PBKDF2 PHC string of this user's password, as printed by
          `anki-sync-server --hash-password` (or upstream's format for
          PASSWORDS_HASHED).  It is stored in the Nix store; a hash is not the
          password, but keep it away from public repositories.
        '';
      };
      passwordHashFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "File holding this user's PHC hash string (one line).";
      };
    };
  };
in
{
  imports = [
    ../../options/homeserver.nix
    ./backup.nix
  ];

  options.homeserver.ankiSync = {
    enable = mkEnableOption "the ankihost Anki sync server";

    package = mkOption {
      type = types.package;
      default =
        pkgs.ankihostPackages.anki-sync-server
          or (pkgs.callPackage ../../../../pkgs/anki-sync-server.nix { });
      defaultText = literalExpression "pkgs.ankihostPackages.anki-sync-server (this flake's overlay), else pkgs/anki-sync-server.nix";
      description = "The ankihost sync server package (not nixpkgs' anki-sync-server, which cannot read credentials).";
    };

    address = mkOption {
      type = types.str;
      default = "::1";
      description = ''
        IP address the server listens on (host names are not resolved).
        Ignored when tailscale.enable is set: the Tailscale address is used.
      '';
    };

    port = mkOption {
      type = types.port;
      default = 27701;
      description = "Port the server listens on.";
    };

    baseDirectory = mkOption {
      type = types.str;
      default = "%S/%N";
      example = "/var/lib/anki";
      description = ''
        Directory holding one subdirectory per user (SYNC_BASE).  The default
        is /var/lib/anki-sync-server.  The service runs as a dynamic user
        with a read-only file system, so the directory must be below
        /var/lib (it becomes a StateDirectory); %S and %N may be used as in
        nixpkgs.  Put other storage there with a bind mount.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Whether to open the port in the firewall.  With tailscale.enable it
        is opened on the Tailscale interface only.
      '';
    };

    users = mkOption {
      type = types.listOf (types.submodule userModule);
      default = [ ];
      description = ''
        Users and their passwords.  Each user needs exactly one of password,
        passwordFile, passwordHash or passwordHashFile (password and
        passwordFile together are allowed, as in nixpkgs; the file wins).
      '';
    };

    maxPayloadMegabytes = mkOption {
      type = types.ints.positive;
      default = 100;
      description = "Largest sync request accepted, in MiB (MAX_SYNC_PAYLOAD_MEGS).";
    };

    extraEnvironment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        SYNC_IP_HEADER = "X-Forwarded-For";
        LOG_LEVEL = "debug";
      };
      description = ''
        Further environment variables for the server (see its manual).  Not
        for passwords: SYNC_USER<n> and PASSWORDS_HASHED are refused here.
      '';
    };

    tailscale = {
      enable = mkEnableOption "listening only on the host's Tailscale address (waits for it at start)";
      interface = mkOption {
        type = types.str;
        default = config.homeserver.tailscale.interface;
        defaultText = literalExpression "config.homeserver.tailscale.interface";
        description = "Interface carrying the Tailscale address.";
      };
      timeout = mkOption {
        type = types.ints.positive;
        default = config.homeserver.tailscale.timeout;
        defaultText = literalExpression "config.homeserver.tailscale.timeout";
        description = "Seconds to wait for the address before the start fails (systemd retries).";
      };
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      assertions = [
        {
          assertion = plainUsers != [ ] || hashedUsers != [ ];
          message = "homeserver.ankiSync: at least one user with a password (password, passwordFile, passwordHash or passwordHashFile) must be set.";
        }
        {
          assertion = length (unique names) == length names;
          message = "homeserver.ankiSync.users: user names must be unique.";
        }
        {
          assertion = dirs.isStatePath baseDir;
          message = "homeserver.ankiSync.baseDirectory = \"${cfg.baseDirectory}\" must resolve to a directory below /var/lib (it is a StateDirectory of a DynamicUser service); bind-mount other storage there.";
        }
        {
          assertion = builtins.all (n: builtins.match "SYNC_USER[0-9]+|PASSWORDS_HASHED" n == null) (
            builtins.attrNames cfg.extraEnvironment
          );
          message = "homeserver.ankiSync.extraEnvironment must not set SYNC_USER<n> or PASSWORDS_HASHED: passwords belong in users.*.passwordFile or passwordHash.";
        }
      ]
      ++ map (u: {
        assertion = builtins.match "[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*" u.username != null;
        message = "homeserver.ankiSync.users: \"${u.username}\" is not a usable user name (letters, digits and ._@+- only, not starting with a dot).";
      }) cfg.users
      ++ map (u: {
        assertion = !(isPlain u && isHashed u);
        message = "homeserver.ankiSync.users: ${u.username} has both a password and a password hash; keep one.";
      }) cfg.users
      ++ map (u: {
        assertion = isPlain u || isHashed u;
        message = "homeserver.ankiSync.users: ${u.username} has no password (set password, passwordFile, passwordHash or passwordHashFile).";
      }) cfg.users
      ++ lib.optionals cfg.tailscale.enable (
        tsw.interfaceAssertions "homeserver.ankiSync.tailscale.interface" cfg.tailscale.interface
      );

      warnings =
        map (
          u: "homeserver.ankiSync.users: the password file of ${u.username} (${toString u.passwordFile}) is in the Nix store, readable by every local user; use an agenix secret or another root-only file."
        ) (filter (u: isStore u.passwordFile) cfg.users)
        ++ map (
          u: "homeserver.ankiSync.users: the password hash file of ${u.username} is in the Nix store, readable by every local user."
        ) (filter (u: isStore u.passwordHashFile) cfg.users)
        ++ map (
          u: "homeserver.ankiSync.users: the password of ${u.username} is given in plain text and ends up in the Nix store, readable by every local user; use passwordFile or passwordHash."
        ) (filter (u: u.password != null && u.passwordFile == null) cfg.users);

      networking.firewall.allowedTCPPorts = mkIf (cfg.openFirewall && !cfg.tailscale.enable) [
        cfg.port
      ];
      networking.firewall.interfaces = mkIf (cfg.openFirewall && cfg.tailscale.enable) {
        ${cfg.tailscale.interface}.allowedTCPPorts = [ cfg.port ];
      };

      systemd.services.${unitName} = {
        description = "Anki sync server (ankihost)";
        after = [ "network.target" ];
        wantedBy = [ "multi-user.target" ];
        environment = mkMerge [
          (
            {
              SYNC_BASE = dirs.specEscape baseDir;
              SYNC_PORT = toString cfg.port;
              MAX_SYNC_PAYLOAD_MEGS = toString cfg.maxPayloadMegabytes;
            }
            // optionalAttrs (!cfg.tailscale.enable) { SYNC_HOST = dirs.specEscape cfg.address; }
            // optionalAttrs (hashedUsers != [ ]) { SYNC_USERS_FILE = usersFile; }
            // listToAttrs (imap1 (i: u: nameValuePair "SYNC_USER${toString i}" u.username) plainUsers)
          )
          cfg.extraEnvironment
        ];

        serviceConfig = {
          Type = "simple";
          # Scripts are given as derivations (rendered as their store path),
          # as NixOS does for its own job scripts.
          ExecStart = if cfg.tailscale.enable then startOnTailscale else lib.getExe cfg.package;
          ExecStartPre = optional (hashedUsers != [ ]) writeUsersFile;
          Restart = "always";
          RestartSec = 10;
          LoadCredential =
            map (u: credential u (passwordSource u)) plainUsers
            ++ map (u: credential u (hashSource u)) hashedUsers;

          DynamicUser = true;
          User = unitName;
          StateDirectory = unique [
            unitName
            (dirs.stateName baseDir)
          ];
          StateDirectoryMode = "0700";
          RuntimeDirectory = unitName;
          RuntimeDirectoryMode = "0700";
          UMask = "0077";

          NoNewPrivileges = true;
          ProtectSystem = "strict";
          ProtectHome = true;
          PrivateTmp = true;
          PrivateDevices = true;
          PrivateMounts = true;
          # A user namespace would keep CAP_NET_BIND_SERVICE from applying
          # to the host's network namespace.
          PrivateUsers = !lowPort;
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
          CapabilityBoundingSet = if lowPort then [ "CAP_NET_BIND_SERVICE" ] else "";
          AmbientCapabilities = if lowPort then [ "CAP_NET_BIND_SERVICE" ] else "";
          RestrictAddressFamilies = [
            "AF_INET"
            "AF_INET6"
            "AF_UNIX"
          ];
        };
      };
    }

    (mkIf cfg.tailscale.enable {
      systemd.services.${unitName} = mkMerge [
        (tsw.serviceFragment {
          inherit (cfg.tailscale) interface timeout;
          inherit (config.homeserver.tailscale) family package;
          inherit addressFile;
        })
        {
          # Only Tailscale peers and this host may talk to the listener.
          serviceConfig = {
            IPAddressDeny = "any";
            IPAddressAllow = [
              "localhost"
              "100.64.0.0/10"
              "fd7a:115c:a1e0::/48"
            ];
          };
        }
      ];
    })
  ]);
}
