# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Stand-in for ryantm/agenix, used only offline (tests/check-nix.sh).  It
# declares the same inputs as agenix so that ankihost's `follows` lines
# apply unchanged; all of them are overridden, none is ever fetched.
{
  description = "ankihost offline stand-in for agenix";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    darwin.url = "github:lnl7/nix-darwin";
    home-manager.url = "github:nix-community/home-manager";
  };

  outputs =
    { self, nixpkgs, ... }:
    {
      nixosModules.default = import ./module.nix;
      nixosModules.age = self.nixosModules.default;
      packages = nixpkgs.lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (system: {
        default = derivation {
          name = "agenix-stand-in";
          inherit system;
          builder = "/bin/sh";
          args = [
            "-c"
            "exit 1"
          ];
        };
      });
    };
}
