# SPDX-License-Identifier: AGPL-3.0-or-later
#
# lib-cases.nix - behaviour of the module system that the module cases rely
# on, checked against fixed expectations.  tests/check-nix.sh runs this with
# the stand-in lib (stub-nixpkgs/lib.nix) and, when a copy of nixpkgs lib is
# at hand (NIXPKGS_LIB), with the real one; the flake's module-eval check
# runs it with the pinned nixpkgs lib.  Passing under both shows that the
# stand-in behaves like nixpkgs where it matters.
{
  lib ? import ./stub-nixpkgs/lib.nix,
}:
let
  b = builtins;
  inherit (lib)
    mkAfter
    mkBefore
    mkDefault
    mkForce
    mkIf
    mkMerge
    mkOption
    mkOverride
    types
    ;
  h = import ./harness.nix { inherit lib; };
  inherit (h) ok rejects;

  ev = modules: (lib.evalModules { inherit modules; }).config;
  decl = {
    options = {
      s = mkOption {
        type = types.str;
        default = "default";
      };
      n = mkOption {
        type = types.nullOr types.int;
        default = null;
      };
      l = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      a = mkOption {
        type = types.attrsOf types.int;
        default = { };
      };
      lines = mkOption {
        type = types.lines;
        default = "";
      };
      pkg = mkOption { type = types.package; };
      e = mkOption {
        type = types.either types.int types.str;
        default = 0;
      };
      m = mkOption {
        type = types.strMatching "[a-z]+";
        default = "abc";
      };
      one = mkOption {
        type = types.singleLineStr;
        default = "";
      };
      u = mkOption {
        type = types.unspecified;
        default = [ ];
      };
      applied = mkOption {
        type = types.int;
        default = 1;
        apply = x: x * 10;
      };
      undefined = mkOption { type = types.int; };
      subs = mkOption {
        type = types.listOf (
          types.submodule (
            { config, ... }:
            {
              options.name = mkOption { type = types.str; };
              options.greeting = mkOption {
                type = types.str;
                default = "hello ${config.name}";
              };
            }
          )
        );
        default = [ ];
      };
      named = mkOption {
        type = types.attrsOf (
          types.submodule (
            { name, ... }:
            {
              options.id = mkOption {
                type = types.str;
                default = name;
              };
            }
          )
        );
        default = { };
      };
      ns.inner = mkOption {
        type = types.bool;
        default = false;
      };
    };
  };
  drv = derivation {
    name = "x";
    system = "x86_64-linux";
    builder = "/bin/sh";
  };
in
[
  (ok "lib: option default applies" ((ev [ decl ]).s == "default"))
  (ok "lib: mkDefault beats the option default; a plain definition beats mkDefault" (
    (ev [
      decl
      { s = mkDefault "md"; }
    ]).s == "md"
    && (ev [
      decl
      { s = mkDefault "md"; }
      { s = "plain"; }
    ]).s == "plain"
  ))
  (ok "lib: mkForce beats a plain definition; mkOverride 10 beats mkForce" (
    (ev [
      decl
      { s = "plain"; }
      { s = mkForce "forced"; }
    ]).s == "forced"
    && (ev [
      decl
      { s = mkForce "forced"; }
      { s = mkOverride 10 "vm"; }
    ]).s == "vm"
  ))
  (ok "lib: equal definitions of a string merge" (
    (ev [
      decl
      { s = "x"; }
      { s = "x"; }
    ]).s == "x"
  ))
  (rejects "lib: different definitions of a string conflict" (
    (ev [
      decl
      { s = "x"; }
      { s = "y"; }
    ]).s
  ))
  (ok "lib: mkBefore/mkAfter order list definitions" (
    (ev [
      decl
      { l = [ "b" ]; }
      { l = mkAfter [ "c" ]; }
      { l = mkBefore [ "a" ]; }
    ]).l == [
      "a"
      "b"
      "c"
    ]
  ))
  (ok "lib: otherwise later modules' list items come first, imports after" (
    (ev [
      decl
      {
        imports = [ { l = [ "imported" ]; } ];
        l = [ "first" ];
      }
      { l = [ "second" ]; }
    ]).l == [
      "imported"
      "second"
      "first"
    ]
  ))
  (ok "lib: mkIf false drops a definition; mkIf true keeps it" (
    (ev [
      decl
      { s = mkIf false "no"; }
    ]).s == "default"
    && (ev [
      decl
      { s = mkIf true "yes"; }
    ]).s == "yes"
  ))
  (ok "lib: mkIf false on an attrsOf element drops the attribute" (
    (ev [
      decl
      {
        a.x = 1;
        a.y = mkIf false 2;
      }
    ]).a == {
      x = 1;
    }
  ))
  (ok "lib: attrsOf merges attributes across modules" (
    (ev [
      decl
      { a.x = 1; }
      { a.y = 2; }
    ]).a == {
      x = 1;
      y = 2;
    }
  ))
  (ok "lib: mkMerge with nested mkIf as a module's config" (
    (ev [
      decl
      {
        config = mkMerge [
          (mkIf true { l = [ "one" ]; })
          (mkIf false { l = [ "two" ]; })
          { ns.inner = true; }
        ];
      }
    ]).l == [ "one" ]
  ))
  (rejects "lib: a bare mkMerge is not a module" (
    (ev [
      decl
      (mkMerge [ { l = [ "one" ]; } ])
    ]).l
  ))
  (ok "lib: a condition that reads config does not recurse (names first)" (
    (ev [
      decl
      (
        { config, ... }:
        {
          config = mkIf (config.s == "default") { ns.inner = true; };
        }
      )
    ]).ns.inner
  ))
  (ok "lib: mkOverride pushed down from a namespace" (
    (ev [
      decl
      { ns = mkForce { inner = true; }; }
      { ns.inner = false; }
    ]).ns.inner
  ))
  (ok "lib: lines concatenate with newlines" (
    (ev [
      decl
      { lines = "a"; }
      { lines = mkAfter "b"; }
    ]).lines == "a\nb"
  ))
  (ok "lib: nullOr accepts null and the inner type" (
    (ev [ decl ]).n == null
    && (ev [
      decl
      { n = 3; }
    ]).n == 3
  ))
  (rejects "lib: nullOr defined both null and not null" (
    (ev [
      decl
      { n = mkForce null; }
      { n = mkForce 3; }
    ]).n
  ))
  (rejects "lib: a value of the wrong type is rejected" (
    (ev [
      decl
      { s = 3; }
    ]).s
  ))
  (rejects "lib: an unknown option is rejected when config is read" (
    (ev [
      decl
      { nosuch = 1; }
    ]).s
  ))
  (rejects "lib: an unknown option in an unread namespace is still rejected" (
    (ev [
      decl
      { ns.nosuch = 1; }
    ]).s
  ))
  (rejects "lib: reading an option without default or definition fails" ((ev [ decl ]).undefined))
  (rejects "lib: an option declared twice with two defaults is rejected" (
    (ev [
      decl
      {
        options.s = mkOption {
          type = types.str;
          default = "again";
        };
      }
    ]).s
  ))
  (ok "lib: a second declaration may add to the first (same type, no default)" (
    (ev [
      decl
      { options.s = mkOption { type = types.str; }; }
    ]).s == "default"
  ))
  (rejects "lib: a package option defined twice is rejected (unique)" (
    (ev [
      decl
      { pkg = drv; }
      { pkg = drv; }
    ]).pkg
  ))
  (ok "lib: a package option takes a derivation" (
    (ev [
      decl
      { pkg = drv; }
    ]).pkg.name == "x"
  ))
  (ok "lib: either picks the matching type" (
    (ev [
      decl
      { e = "s"; }
    ]).e == "s"
  ))
  (rejects "lib: strMatching rejects a non-matching string" (
    (ev [
      decl
      { m = "ABC"; }
    ]).m
  ))
  (ok "lib: singleLineStr drops one trailing newline" (
    (ev [
      decl
      { one = "x\n"; }
    ]).one == "x"
  ))
  (rejects "lib: singleLineStr rejects two lines" (
    (ev [
      decl
      { one = "x\ny"; }
    ]).one
  ))
  (ok "lib: unspecified lists concatenate" (
    (ev [
      decl
      { u = [ 1 ]; }
      { u = mkAfter [ 2 ]; }
    ]).u == [
      1
      2
    ]
  ))
  (ok "lib: apply transforms the merged value" ((ev [ decl ]).applied == 10))
  (ok "lib: submodules in a list get their own config and defaults" (
    (ev [
      decl
      { subs = [ { name = "a"; } ]; }
      { subs = mkAfter [ { name = "b"; } ]; }
    ]).subs == [
      {
        name = "a";
        greeting = "hello a";
      }
      {
        name = "b";
        greeting = "hello b";
      }
    ]
  ))
  (ok "lib: attrsOf submodule passes the attribute name as `name`" (
    (ev [
      decl
      { named.foo = { }; }
    ]).named.foo.id == "foo"
  ))
  (rejects "lib: an unknown option inside a submodule is rejected" (
    b.deepSeq (ev [
      decl
      { subs = [ { nmae = "a"; } ]; }
    ]).subs true
  ))
  (ok "lib: importing the same file twice declares its options once" (
    (ev [
      ./stub-nixpkgs/nixos-stubs.nix
      { imports = [ ./stub-nixpkgs/nixos-stubs.nix ]; }
    ]).warnings == [ ]
  ))
  (ok "lib: `options ? x` in a module's config does not recurse" (
    (ev [
      decl
      (
        { options, ... }:
        {
          config = lib.optionalAttrs (options ? ns) { ns.inner = true; };
        }
      )
    ]).ns.inner
  ))
  (rejects "lib: mkIf with a non-Boolean condition fails" (
    (ev [
      decl
      { s = mkIf "yes" "x"; }
    ]).s
  ))
  (rejects "lib: a module with config and stray top-level attributes is rejected" (
    (ev [
      decl
      {
        config.s = "x";
        l = [ ];
      }
    ]).s
  ))
]
