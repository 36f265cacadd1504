# SPDX-License-Identifier: AGPL-3.0-or-later
#
# harness.nix - evaluates ankihost's NixOS modules for the module cases
# (cases.nix) and the unit renderer (render-units.nix), with a given `lib`:
# the builtins-only stand-in (offline, the default) or the real nixpkgs lib
# (flake check `module-eval`, or NIXPKGS_LIB for tests/check-nix.sh).
#
# The NixOS options the modules set are declared by
# stub-nixpkgs/nixos-stubs.nix, `pkgs` is the stand-in package set with this
# flake's overlay applied, and agenix is the stand-in module.  Results are
# { name; pass; } records; an evaluation error counts as a failure unless
# the case expects one (`rejects`).  Only `throw`/`assert` failures are
# catchable by builtins.tryEval, and both libs report problems that way.
{ lib }:
let
  b = builtins;
  stubLib = import ./stub-nixpkgs/lib.nix;
  stubPkgs = import ./stub-nixpkgs/pkgs.nix {
    lib = stubLib;
    system = "x86_64-linux";
  };
in
rec {
  inherit stubPkgs;
  pkgs = stubPkgs.extend (import ../../pkgs/overlay.nix);

  eval =
    {
      modules,
      pkgs ? (stubPkgs.extend (import ../../pkgs/overlay.nix)),
      entry ? ../../modules/nixos,
    }:
    (lib.evalModules {
      modules = [
        ./stub-nixpkgs/nixos-stubs.nix
        ./stub-agenix/module.nix
        entry
      ]
      ++ modules;
      specialArgs = { inherit pkgs; };
    }).config;

  # The smallest useful server: one user whose password is an agenix file.
  alice = {
    username = "alice";
    passwordFile = "/run/agenix/anki-sync-password";
  };
  server =
    extra:
    eval {
      modules = [
        {
          homeserver.ankiSync = {
            enable = true;
            users = [ alice ];
          };
        }
      ]
      ++ extra;
    };
  svc = cfg: cfg.systemd.services.anki-sync-server;
  backupSvc = cfg: cfg.systemd.services.anki-sync-backup;

  force = x: b.deepSeq x x;
  tryForce = x: b.tryEval (force x);
  ok = name: test: {
    inherit name;
    pass =
      let
        r = tryForce test;
      in
      r.success && r.value == true;
  };
  rejects = name: expr: {
    inherit name;
    pass = !(tryForce expr).success;
  };

  hasInfix =
    needle: hay:
    let
      ln = b.stringLength needle;
      lh = b.stringLength hay;
      go = i: i + ln <= lh && (b.substring i ln hay == needle || go (i + 1));
    in
    go 0;
  failedAssertions = cfg: map (a: a.message) (b.filter (a: !a.assertion) cfg.assertions);
  assertionMentions = cfg: needle: b.any (hasInfix needle) (failedAssertions cfg);
  warningMentions = cfg: needle: b.any (hasInfix needle) cfg.warnings;
  isStorePath = s: b.isString s && b.match "/nix/store/[a-z0-9]{32}-.*" s != null;
  sorted = l: b.sort (x: y: x < y) l;
  # Every string reachable in a value (for "no secret anywhere" checks).
  strings =
    v:
    if b.isString v then
      [ v ]
    else if b.isList v then
      b.concatMap strings v
    else if b.isAttrs v && !(v ? outPath) then
      b.concatMap (n: strings v.${n}) (b.attrNames v)
    else if b.isAttrs v then
      [ v.outPath ]
    else
      [ ];
}
