# SPDX-License-Identifier: AGPL-3.0-or-later
#
# module.nix - the option surface of ryantm/agenix's NixOS module
# (modules/age.nix), declared for offline evaluation only: age.secrets.<name>
# with file/path/mode/owner/group/symlink/name and their defaults,
# age.secretsDir, age.identityPaths, and agenix's own assertion that
# identityPaths is set whenever a secret is declared.  No activation script:
# decryption is exercised by the VM tests with the real agenix.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.age;
  secretType = types.submodule (
    { name, config, ... }:
    {
      options = {
        name = mkOption {
          type = types.str;
          default = name;
        };
        file = mkOption { type = types.path; };
        path = mkOption {
          type = types.str;
          default = "${cfg.secretsDir}/${config.name}";
        };
        mode = mkOption {
          type = types.str;
          default = "0400";
        };
        owner = mkOption {
          type = types.str;
          default = "0";
        };
        group = mkOption {
          type = types.str;
          default = "0";
        };
        symlink = mkOption {
          type = types.bool;
          default = true;
        };
      };
    }
  );
in
{
  options.age = {
    ageBin = mkOption {
      type = types.str;
      default = "/nix/store/00000000000000000000000000000000-rage/bin/rage";
    };
    secrets = mkOption {
      type = types.attrsOf secretType;
      default = { };
      description = "Attrset of secrets.";
    };
    secretsDir = mkOption {
      type = types.path;
      default = "/run/agenix";
    };
    secretsMountPoint = mkOption {
      type = types.str;
      default = "/run/agenix.d";
    };
    identityPaths = mkOption {
      type = types.listOf types.path;
      default = [ ];
      description = "Path to SSH keys to be used as identities in age decryption.";
    };
  };
  config = lib.mkIf (cfg.secrets != { }) {
    assertions = [
      {
        assertion = cfg.identityPaths != [ ];
        message = "age.identityPaths must be set.";
      }
    ];
  };
}
