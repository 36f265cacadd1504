# SPDX-License-Identifier: AGPL-3.0-or-later
# Every program of the suite in one package (flake output packages.default):
# each directory src/<prog>/ is a program, as in the Makefile.
{ lib, callPackage }:
let
  programs = builtins.attrNames (
    lib.filterAttrs (name: type: type == "directory" && name != "lib") (builtins.readDir ../src)
  );
in
callPackage ./generic.nix {
  pname = "ankihost";
  inherit programs;
  mainProgram = "anki-sync-server";
  description = "Self-hosted Anki suite: sync server, tailscale-wait, backups and tools";
}
