# SPDX-License-Identifier: AGPL-3.0-or-later
#
# state-dir.nix - not a module: path helpers shared by the sync server and
# backup modules.
#
# The units run with DynamicUser=, which implies ProtectSystem=strict: the
# only writable places are StateDirectory= entries under /var/lib.  A
# directory option may use the specifiers %S (/var/lib) and %N (the server's
# unit name, as nixpkgs' default "%S/%N" does); `resolve` expands them here,
# because the backup unit has a different %N.  `stateName` is the
# StateDirectory= entry for a resolved path.
{ lib }:
let
  inherit (lib) hasPrefix removePrefix replaceStrings;
in
rec {
  resolve =
    unitName: dir:
    replaceStrings
      [
        "%S"
        "%N"
        "%%"
      ]
      [
        "/var/lib"
        unitName
        "%"
      ]
      dir;

  # A usable state path: below /var/lib (not in systemd's private/), no
  # specifiers left, no "." or ".." components, no empty components, no
  # trailing slash, no blanks, quotes, backslashes or '$'.
  isStatePath =
    p:
    hasPrefix "/var/lib/" p
    && p != "/var/lib/"
    && !(hasPrefix "/var/lib/private/" p)
    && builtins.match ".*(%|//).*" p == null
    && builtins.match ".*/\\.\\.?(/.*)?" p == null
    && !(lib.hasSuffix "/" p)
    && builtins.match "[^[:space:]\"'\\\\$]*" p != null;

  stateName = p: removePrefix "/var/lib/" p;

  # Is `a` the same as, or inside, `b`?
  within = a: b: a == b || hasPrefix "${b}/" a;

  specEscape = replaceStrings [ "%" ] [ "%%" ];
}
