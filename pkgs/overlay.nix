# SPDX-License-Identifier: AGPL-3.0-or-later
#
# overlays.default.  The programs go under `ankihostPackages` instead of
# top-level names so that nixpkgs' own `anki-sync-server` (the upstream Rust
# server, used by services.anki-sync-server) is not replaced behind the
# user's back.  The argument names final/prev are required by `nix flake
# check` (Nix 2.8 rejects others).
final: prev: {
  ankihost = final.callPackage ./ankihost.nix { };
  ankihostPackages = {
    anki-sync-server = final.callPackage ./anki-sync-server.nix { };
    tailscale-wait = final.callPackage ./tailscale-wait.nix { };
    anki-backup = final.callPackage ./anki-backup.nix { };
  };
}
