# SPDX-License-Identifier: AGPL-3.0-or-later
#
# module-eval.nix - flake check `module-eval`: runs the module cases
# (cases.nix) and the module-system cases (lib-cases.nix) against the given
# lib, the pinned nixpkgs lib in `nix flake check`.  The derivation is
# returned only when every case passes; otherwise evaluation fails with the
# names of the failing cases, so `nix flake check --no-build` catches it too.
{ lib, pkgs }:
let
  results = import ./cases.nix { inherit lib; } ++ import ./lib-cases.nix { inherit lib; };
  failed = builtins.filter (r: !r.pass) results;
in
if failed != [ ] then
  throw "module-eval: ${toString (builtins.length failed)} of ${toString (builtins.length results)} cases failed: ${
    builtins.concatStringsSep "; " (map (r: r.name) failed)
  }"
else
  pkgs.runCommand "ankihost-module-eval" { } ''
    echo "${toString (builtins.length results)} module cases passed" > $out
  ''
