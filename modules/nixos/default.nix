# SPDX-License-Identifier: AGPL-3.0-or-later
#
# All of ankihost's NixOS modules (flake output nixosModules.default).
# Each program's module also imports the shared options itself, so it can be
# used alone (nixosModules.anki-sync-server); imports are de-duplicated by
# path, so listing both here is harmless.
{
  imports = [
    ./options/homeserver.nix
    ./programs/anki-sync-server
  ];
}
