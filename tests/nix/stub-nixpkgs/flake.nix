# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Stand-in for nixpkgs, used only offline (tests/check-nix.sh):
#   nix flake check --no-build . --override-input nixpkgs path:./tests/nix/stub-nixpkgs ...
# Self-contained on purpose: a `path:` flake is copied alone into the store,
# so nothing here may import from outside this directory (spec nix.md N6).
{
  description = "ankihost offline stand-in for nixpkgs (lib, legacyPackages)";

  outputs =
    { self }:
    let
      lib = import ./lib.nix;
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (
        system: import ./pkgs.nix { inherit lib system; }
      );
      # For tests/nix: the NixOS option declarations the modules set.
      nixosStubs = ./nixos-stubs.nix;
    };
}
