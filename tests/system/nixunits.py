# SPDX-License-Identifier: AGPL-3.0-or-later
"""nixunits.py - installs the units of the NixOS module (the JSON of
module-units.nix) into a Debian root file system for tests/check-system.sh.

    nixunits.py UNITS.json ROOT

Store paths are rewritten, never copied: a package's path becomes /usr/local
(so .../bin/anki-sync-server is the program `make install PREFIX=/usr/local`
put there), a script's path becomes /usr/local/lib/ankihost-nix/<name>,
written with the shell NixOS's writeShellScript uses.  Any other store path
in a unit or script is an error: the container has no /nix, and a new
dependency of the module must be mapped here deliberately.  Units are linked
into the targets of their wantedBy, as NixOS does.  Exits 1 with a message
on any problem."""
import json
import os
import re
import sys

STORE = re.compile(r"/nix/store/[0-9a-z]{32}-[^/\s\"']+")
SCRIPT_DIR = "/usr/local/lib/ankihost-nix"


def main(units_json, root):
    d = json.load(open(units_json))
    mapping = {}
    for path, progs in d["packages"].items():
        for p in progs:
            if not os.access(os.path.join(root, "usr/local/bin", p), os.X_OK):
                sys.exit(f"nixunits: {p} (package {path}) is not installed in {root}/usr/local/bin")
        mapping[path] = "/usr/local"
    for path in d["scripts"]:
        mapping[path] = SCRIPT_DIR + "/" + path.split("-", 1)[1]

    def rewrite(text, where):
        def sub(m):
            if m.group(0) not in mapping:
                sys.exit(f"nixunits: {where} refers to {m.group(0)}, which the container "
                         "does not provide (map it in tests/system/nixunits.py)")
            return mapping[m.group(0)]
        return STORE.sub(sub, text)

    sysdir = os.path.join(root, "etc/systemd/system")
    os.makedirs(os.path.join(root, SCRIPT_DIR.lstrip("/")), exist_ok=True)
    for path, text in d["scripts"].items():
        dest = os.path.join(root, mapping[path].lstrip("/"))
        with open(dest, "w") as f:
            f.write("#!/bin/bash\n" + rewrite(text, path))
        os.chmod(dest, 0o755)
    for name, text in d["units"].items():
        with open(os.path.join(sysdir, name), "w") as f:
            f.write(rewrite(text, name))
        for target in d["wantedBy"].get(name, []):
            wants = os.path.join(sysdir, target + ".wants")
            os.makedirs(wants, exist_ok=True)
            link = os.path.join(wants, name)
            if not os.path.lexists(link):
                os.symlink("../" + name, link)
    print("nixunits: installed " + " ".join(sorted(d["units"])))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: nixunits.py UNITS.json ROOT")
    main(sys.argv[1], sys.argv[2])
