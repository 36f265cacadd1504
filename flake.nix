# SPDX-License-Identifier: AGPL-3.0-or-later
#
# ankihost on Nix (docs/nix.md).  Outputs:
#   packages.<system>.{anki-sync-server, tailscale-wait, anki-backup, default}
#   overlays.default            (adds pkgs.ankihost and pkgs.ankihostPackages.*)
#   nixosModules.{default, anki-sync-server}
#   checks.<system>.*           every package, module-eval, and on x86_64-linux
#                               the NixOS VM tests (vm-sync, vm-backup, vm-tailscale)
#   devShells.<system>.default, formatter.<system>
#
# Offline, tests/check-nix.sh evaluates this flake with nixpkgs and agenix
# replaced by the stand-ins in tests/nix/stub-*; keep to what they provide
# (spec nix.md N3) or extend them in the same change.
{
  description = "ankihost: self-hosted Anki sync server, backups and tools, with NixOS modules";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";
    agenix = {
      url = "github:ryantm/agenix";
      inputs.nixpkgs.follows = "nixpkgs";
      inputs.darwin.follows = "";
      inputs.home-manager.follows = "";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      agenix,
    }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      pkgsFor = system: nixpkgs.legacyPackages.${system}.extend self.overlays.default;
      forAllSystems = f: lib.genAttrs systems (system: f system (pkgsFor system));
    in
    {
      overlays.default = import ./pkgs/overlay.nix;

      packages = forAllSystems (
        system: pkgs: {
          inherit (pkgs.ankihostPackages) anki-sync-server tailscale-wait anki-backup;
          default = pkgs.ankihost;
        }
      );

      nixosModules = {
        default = import ./modules/nixos;
        anki-sync-server = import ./modules/nixos/programs/anki-sync-server;
      };

      checks = forAllSystems (
        system: pkgs:
        self.packages.${system}
        // {
          module-eval = import ./tests/nix/module-eval.nix { inherit lib pkgs; };
        }
        // lib.optionalAttrs (system == "x86_64-linux") (
          import ./tests/nix/vm {
            inherit pkgs;
            modules = [
              self.nixosModules.default
              agenix.nixosModules.default
            ];
          }
        )
      );

      devShells = forAllSystems (
        system: pkgs: {
          default = pkgs.mkShell {
            inputsFrom = [ pkgs.ankihost ];
            packages = [
              pkgs.age
              agenix.packages.${system}.default
            ];
          };
        }
      );

      formatter = forAllSystems (system: pkgs: pkgs.nixfmt);
    };
}
