# SPDX-License-Identifier: AGPL-3.0-or-later
# Consistent online backups of a sync server's data (SQLite backup API,
# zstd, optional age encryption), with retention, verify and restore.
{ callPackage }:
callPackage ./generic.nix {
  pname = "anki-backup";
  programs = [ "anki-backup" ];
  description = "Consistent, verified backups of an Anki sync server's collections";
}
