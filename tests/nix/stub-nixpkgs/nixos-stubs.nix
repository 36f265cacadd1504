# SPDX-License-Identifier: AGPL-3.0-or-later
#
# nixos-stubs.nix - test-only declarations of the NixOS options that
# ankihost's modules and VM-test nodes set (spec nix.md, rule M2).  Types
# follow NixOS (nixos/lib/systemd-unit-options.nix and the firewall,
# tailscale, environment and qemu-vm modules), so that a definition real
# NixOS rejects is rejected here too: unit names must end in a unit type,
# `Restart=`/`Type=` take only systemd's values, systemd list options and
# scalar options cannot be mixed, `description` is one line.
#
# Written against the module-system interface only, so it works with the
# stand-in lib (./lib.nix) and with the real nixpkgs lib alike.  `age.*` is
# NOT declared here: it comes from the agenix stand-in (../stub-agenix), so a
# double declaration shows up as it would with real agenix (rule M3).
{ lib, ... }:
let
  inherit (lib) mkOption types;

  # NixOS' type for systemd option values: lists concatenate, everything
  # else must agree; mixing lists and scalars is an error.
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge =
      loc: defs:
      let
        defs' = lib.filterOverrides defs;
      in
      if builtins.isList (builtins.head defs').value then
        builtins.concatMap (
          d:
          if builtins.isList d.value then
            d.value
          else
            throw "The definitions for systemd unit options should be either all lists, representing repeatable options, or all non-lists, but for the option ${lib.showOption loc}, the definitions are a mix of list and non-list"
        ) defs'
      else
        lib.mergeEqualOption loc defs';
  };

  unitNameType = types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";
  unitList = mkOption {
    type = types.listOf unitNameType;
    default = [ ];
  };

  oneOfValues =
    name: values: attrs:
    !(attrs ? ${name}) || builtins.elem attrs.${name} values;
  # Applied to each definition of serviceConfig as a whole, so (as in NixOS)
  # one level of mkOverride/mkIf is unwrapped before values are checked.
  unwrap =
    v:
    if (v._type or "") == "override" || (v._type or "") == "if" then v.content else v;
  checkService =
    attrs0:
    let
      attrs = builtins.mapAttrs (_: unwrap) attrs0;
    in
    oneOfValues "Type" [
      "exec"
      "simple"
      "forking"
      "oneshot"
      "dbus"
      "notify"
      "notify-reload"
      "idle"
    ] attrs
    && oneOfValues "Restart" [
      "no"
      "on-success"
      "on-failure"
      "on-abnormal"
      "on-abort"
      "on-watchdog"
      "always"
    ] attrs;

  commonUnitOptions = {
    enable = mkOption {
      type = types.bool;
      default = true;
    };
    description = mkOption {
      type = types.singleLineStr;
      default = "";
    };
    documentation = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    requires = unitList;
    wants = unitList;
    after = unitList;
    before = unitList;
    bindsTo = unitList;
    partOf = unitList;
    conflicts = unitList;
    requisite = unitList;
    onFailure = unitList;
    onSuccess = unitList;
    wantedBy = unitList;
    requiredBy = unitList;
    aliases = unitList;
    unitConfig = mkOption {
      type = types.attrsOf unitOption;
      default = { };
    };
    restartTriggers = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
  };

  # Placeholder path for a script NixOS would write with makeJobScript; the
  # text is still forced so that interpolation errors surface.
  jobScript =
    name: text:
    builtins.seq (builtins.stringLength text) "/nix/store/00000000000000000000000000000000-unit-script-${name}/bin/${name}";

  serviceModule =
    { name, config, ... }:
    {
      options = commonUnitOptions // {
        environment = mkOption {
          type = types.attrsOf (
            types.nullOr (
              types.oneOf [
                types.str
                types.path
                types.package
              ]
            )
          );
          default = { };
        };
        path = mkOption {
          type = types.listOf (
            types.oneOf [
              types.package
              types.str
            ]
          );
          default = [ ];
        };
        serviceConfig = mkOption {
          type = types.addCheck (types.attrsOf unitOption) checkService;
          default = { };
        };
        script = mkOption {
          type = types.lines;
          default = "";
        };
        scriptArgs = mkOption {
          type = types.str;
          default = "";
        };
        preStart = mkOption {
          type = types.lines;
          default = "";
        };
        postStart = mkOption {
          type = types.lines;
          default = "";
        };
        restartIfChanged = mkOption {
          type = types.bool;
          default = true;
        };
        stopIfChanged = mkOption {
          type = types.bool;
          default = true;
        };
      };
      config = lib.mkMerge [
        (lib.mkIf (config.script != "") {
          serviceConfig.ExecStart = "${jobScript "${name}-start" config.script} ${config.scriptArgs}";
        })
        (lib.mkIf (config.preStart != "") {
          serviceConfig.ExecStartPre = [ (jobScript "${name}-pre-start" config.preStart) ];
        })
        (lib.mkIf (config.postStart != "") {
          serviceConfig.ExecStartPost = [ (jobScript "${name}-post-start" config.postStart) ];
        })
      ];
    };

  timerModule = {
    options = commonUnitOptions // {
      timerConfig = mkOption {
        type = types.attrsOf unitOption;
        default = { };
      };
    };
  };

  firewallPorts = {
    allowedTCPPorts = mkOption {
      type = types.listOf types.port;
      default = [ ];
    };
    allowedUDPPorts = mkOption {
      type = types.listOf types.port;
      default = [ ];
    };
  };
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };

    systemd.services = mkOption {
      type = types.attrsOf (types.submodule serviceModule);
      default = { };
    };
    systemd.timers = mkOption {
      type = types.attrsOf (types.submodule timerModule);
      default = { };
    };

    networking.firewall = firewallPorts // {
      enable = mkOption {
        type = types.bool;
        default = true;
      };
      trustedInterfaces = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      interfaces = mkOption {
        type = types.attrsOf (types.submodule { options = firewallPorts; });
        default = { };
      };
    };

    services.tailscale = {
      enable = mkOption {
        type = types.bool;
        default = false;
      };
      interfaceName = mkOption {
        type = types.str;
        default = "tailscale0";
      };
    };

    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };

    # qemu-vm.nix, as used by the VM-test nodes.
    virtualisation.memorySize = mkOption {
      type = types.ints.positive;
      default = 1024;
    };
    virtualisation.cores = mkOption {
      type = types.ints.positive;
      default = 1;
    };
  };
}
