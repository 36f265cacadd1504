# SPDX-License-Identifier: AGPL-3.0-or-later
#
# render.nix - turns evaluated systemd.services.<n> / systemd.timers.<n>
# into unit-file text the way NixOS writes them (nixos/lib/systemd-lib.nix):
# each list element of a setting becomes its own `Key=value` line, booleans
# become true/false, derivations their store path, environment entries
# `Environment="NAME=value"` (JSON-quoted), dependency lists one
# space-separated line.  No [Install] section: NixOS links units into
# targets instead.  Used offline to run `systemd-analyze verify` and
# `systemd-analyze security --offline=true` on what the modules produce.
{ lib }:
let
  b = builtins;
  value = v: if b.isBool v then (if v then "true" else "false") else toString v;
  lines = k: v: if b.isList v then map (x: "${k}=${value x}") v else [ "${k}=${value v}" ];
  section =
    name: attrs:
    [ "[${name}]" ] ++ b.concatMap (k: lines k attrs.${k}) (b.filter (k: attrs.${k} != null) (b.attrNames attrs));
  deps =
    u:
    lib.filterAttrs (_: v: v != "") {
      Description = u.description;
      Documentation = toString u.documentation;
      Requires = toString u.requires;
      Wants = toString u.wants;
      After = toString u.after;
      Before = toString u.before;
      BindsTo = toString u.bindsTo;
      PartOf = toString u.partOf;
      Conflicts = toString u.conflicts;
      Requisite = toString u.requisite;
      OnFailure = toString u.onFailure;
    }
    // u.unitConfig;
  text = ls: b.concatStringsSep "\n" ls + "\n";
in
{
  service =
    u:
    text (
      section "Unit" (deps u)
      ++ [ "" ]
      ++ section "Service" { }
      ++ map (n: "Environment=${b.toJSON "${n}=${u.environment.${n}}"}") (
        b.filter (n: u.environment.${n} != null) (b.attrNames u.environment)
      )
      ++ b.tail (section "Service" u.serviceConfig)
    );
  timer = u: text (section "Unit" (deps u) ++ [ "" ] ++ section "Timer" u.timerConfig);
}
