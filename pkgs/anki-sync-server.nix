# SPDX-License-Identifier: AGPL-3.0-or-later
# The sync server and its admin tool (anki-sync-admin edits the users file).
{ callPackage }:
callPackage ./generic.nix {
  pname = "anki-sync-server";
  programs = [
    "anki-sync-server"
    "anki-sync-admin"
  ];
  description = "Anki sync server compatible with Anki's official one, written in C";
}
