# SPDX-License-Identifier: AGPL-3.0-or-later
#
# pkgs.nix - a stand-in package set for offline evaluation (spec nix.md N3).
# Every package and builder returns a real derivation that can be
# instantiated (`nix flake check --no-build` needs a drvPath) but never
# built: its builder only prints that it is a stand-in and fails.
#
# Invariants the checks rely on:
#   * `extend overlay` works like nixpkgs' (a fixpoint over overlays), and
#     `callPackage` fills arguments from the final set, so a package that
#     asks for an input missing here fails to evaluate (extend this file in
#     the same commit, N3);
#   * `stdenv.mkDerivation` forces `src` (so the stand-in lib.fileset checks
#     that every listed path exists) and refuses a package without
#     meta.mainProgram (N7);
#   * `testers.runNixOSTest` evaluates every node against ./nixos-stubs.nix
#     plus `defaults` plus the node, throws on failed assertions, forces the
#     systemd units, and exposes `testScript` and `nodeNames` for the lint.
{
  lib,
  system,
}:
let
  b = builtins;
  fix =
    f:
    let
      x = f x;
    in
    x;

  placeholderDrv =
    name: attrs:
    derivation (
      {
        inherit name system;
        builder = "/bin/sh";
        args = [
          "-c"
          "echo 'ankihost offline stand-in: never built' >&2; exit 1"
        ];
      }
      // attrs
    );

  simple =
    name:
    placeholderDrv name { }
    // {
      pname = name;
      version = "0";
      meta.mainProgram = name;
    };

  mkText =
    name: text: executable:
    placeholderDrv name { inherit text executable; }
    // {
      inherit text;
    };

  deferredModule = lib.mkOptionType {
    name = "deferredModule";
    check = x: b.isAttrs x || b.isFunction x || b.isPath x;
    merge = loc: defs: { imports = map (d: d.value) defs; };
  };

  testFrameworkOptions =
    { ... }:
    {
      options = {
        name = lib.mkOption { type = lib.types.str; };
        nodes = lib.mkOption {
          type = lib.types.attrsOf deferredModule;
          default = { };
        };
        defaults = lib.mkOption {
          type = deferredModule;
          default = { };
        };
        testScript = lib.mkOption {
          type = lib.mkOptionType {
            name = "testScript";
            check = x: b.isString x || b.isFunction x;
            merge = lib.mergeOneOption;
          };
        };
        meta = lib.mkOption {
          type = lib.types.unspecified;
          default = { };
        };
        skipLint = lib.mkOption {
          type = lib.types.bool;
          default = false;
        };
        skipTypeCheck = lib.mkOption {
          type = lib.types.bool;
          default = false;
        };
        globalTimeout = lib.mkOption {
          type = lib.types.ints.positive;
          default = 3600;
        };
      };
    };

  base = final: {
    inherit lib system;
    path = ./.;

    callPackage =
      fn: overrides:
      let
        f = if b.isFunction fn then fn else import fn;
      in
      f (b.intersectAttrs (b.functionArgs f) final // overrides);

    stdenv = {
      hostPlatform.system = system;
      isLinux = true;
      mkDerivation =
        attrs0:
        let
          attrs = if b.isFunction attrs0 then fix attrs0 else attrs0;
          name = attrs.name or "${attrs.pname}-${attrs.version}";
          forced = b.deepSeq [
            (attrs.src or null)
            (attrs.buildInputs or [ ])
            (attrs.nativeBuildInputs or [ ])
            (attrs.checkInputs or [ ])
            (attrs.nativeCheckInputs or [ ])
          ] true;
        in
        if !(attrs ? meta.mainProgram) then
          throw "stand-in stdenv.mkDerivation: ${name} has no meta.mainProgram (N7)"
        else
          b.seq forced (
            placeholderDrv name {
              buildFlags = attrs.buildFlags or [ ];
              doCheck = attrs.doCheck or false;
            }
            // {
              inherit (attrs) meta;
              pname = attrs.pname or name;
              version = attrs.version or "0";
            }
            // (attrs.passthru or { })
          );
    };

    writeText = name: text: mkText name text false;
    writeScript = name: text: mkText name text true;
    writeShellScript = name: text: mkText name text true;
    writeShellScriptBin =
      name: text:
      mkText name text true
      // {
        meta.mainProgram = name;
      };
    runCommand =
      name: env: script:
      placeholderDrv name { inherit script; };
    runCommandLocal = final.runCommand;
    mkShell =
      attrs:
      b.seq (b.deepSeq [
        (attrs.inputsFrom or [ ])
        (attrs.packages or [ ])
      ] true) (placeholderDrv (attrs.name or "nix-shell") { });

    python3 =
      simple "python3"
      // {
        sitePackages = "lib/python3.13/site-packages";
        withPackages = _: final.python3;
      };
    # nixpkgs' anki has a `lib` output with its Python library in newer
    # revisions; the VM tests handle both shapes.
    anki = simple "anki" // {
      lib = simple "anki-lib";
    };

    testers.runNixOSTest =
      testModule:
      let
        t =
          (lib.evalModules {
            modules = [
              testFrameworkOptions
              testModule
            ];
            specialArgs = {
              pkgs = final;
            };
          }).config;
        nodes = b.mapAttrs (
          name: m:
          (lib.evalModules {
            modules = [
              ./nixos-stubs.nix
              t.defaults
              m
            ];
            specialArgs = {
              pkgs = final;
              inherit name nodes;
            };
          }).config
        ) t.nodes;
        checkNode =
          name: c:
          let
            failed = map (a: a.message) (b.filter (a: !a.assertion) c.assertions);
            forced = b.deepSeq [
              c.systemd.services
              c.systemd.timers
              c.networking.firewall
              c.environment.systemPackages
            ] true;
          in
          if failed != [ ] then
            throw "runNixOSTest ${t.name}, node ${name}: failed assertions:\n- ${b.concatStringsSep "\n- " failed}"
          else
            b.seq forced (b.foldl' (acc: w: b.trace "evaluation warning (node ${name}): ${w}" acc) true c.warnings);
        allOk = b.all (n: checkNode n nodes.${n}) (b.attrNames nodes);
        script = if b.isFunction t.testScript then t.testScript { inherit nodes; } else t.testScript;
      in
      b.seq allOk (
        placeholderDrv "vm-test-run-${t.name}" { testScript = script; }
        // {
          testScript = script;
          nodeNames = b.attrNames nodes;
          inherit nodes;
        }
      );
  };

  # Placeholders for build inputs and for what VM nodes put on PATH.
  leaves = lib.genAttrs [
    "pkg-config"
    "sqlite"
    "sqlite-interactive"
    "zstd"
    "jansson"
    "libmicrohttpd"
    "curl"
    "libzip"
    "openssl"
    "utf8proc"
    "pcre2"
    "cmocka"
    "age"
    "rage"
    "nixfmt"
    "iproute2"
    "coreutils"
    "bash"
    "netcat"
    "jq"
    "gnugrep"
  ] simple;

  mkPkgs =
    overlays:
    fix (
      final:
      b.foldl' (acc: ov: acc // ov final acc) (leaves // base final) overlays
      // {
        extend = ov: mkPkgs (overlays ++ [ ov ]);
      }
    );
in
mkPkgs [ ]
