#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# check-nix.sh - the offline checks of ankihost's Nix side (docs/nix.md,
# "What is checked where"; spec nix.md section 3).  Needs Debian's nix-bin
# (Nix 2.8), systemd (systemd-analyze), python3-pyflakes, age and python3;
# installs nothing.  Prints one line per check and closes with
# "N passed, M failed"; exits non-zero when a check failed.
#
#   1. every .nix file parses;
#   2. module cases (tests/nix/cases.nix) and module-system cases
#      (tests/nix/lib-cases.nix) with the builtins-only stand-in lib, and
#      again with the real nixpkgs lib when NIXPKGS_LIB names its lib/
#      directory;
#   3. units rendered from the modules (tests/nix/render-units.nix) and the
#      Debian units (contrib/systemd) pass `systemd-analyze verify` (no
#      unknown keys, values parse) and `systemd-analyze security
#      --offline=true --threshold=20`; no test password in any unit text;
#   4. the flake with nixpkgs and agenix replaced by the stand-ins in
#      tests/nix/stub-*: `nix flake show`, `nix flake check --no-build`;
#      flake.lock matches flake.nix, and a changed input is noticed;
#   5. each VM test's Python testScript (taken from the flake) and the
#      client scripts pass pyflakes, the nspawn scripts `bash -n`;
#   6. the VM-test secret decrypts with the test key to the password the
#      tests use, the hashed test password verifies, secrets.nix files have
#      the agenix shape and the test key is no recipient of a real secret.
# Needs no network: anything that would fetch fails fast (no substituters).
# Without Nix it says so and reports 0 passed, 0 failed.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
B=${BUILD:-build}
W=$ROOT/$B/nix-check
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
SUITE=nix
. tests/suite.sh

if ! command -v nix-instantiate >/dev/null 2>&1 || ! command -v nix >/dev/null 2>&1; then
	echo "check-nix: Nix is not installed (Debian package nix-bin); the Nix checks were skipped"
	finish
fi

rm -rf "$W"
mkdir -p "$W/cache" "$W/units"
export XDG_CACHE_HOME=$W/cache
export NIX_CONFIG='experimental-features = nix-command flakes
build-users-group =
substituters =
warn-dirty = false'
# A single-user store of our own when /nix/store is not ours to write.
if ! { [ -w /nix/store ] || { [ ! -e /nix/store ] && [ "$(id -u)" = 0 ]; }; }; then
	export NIX_REMOTE="local?root=$W/store"
fi
nixv=$(nix --version 2>/dev/null)
echo "check-nix: $nixv, $(systemctl --version 2>/dev/null | head -n 1)"

# Files of the project as git sees them (tracked and new), present on disk.
list_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -co --exclude-standard | while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done
	else
		find . -type f ! -path './build*' ! -path './var/*' ! -path './.git/*' | sed 's#^\./##'
	fi
}
list_files >"$W/files"

# ------------------------------------------------------------------ 1. parse
while IFS= read -r f; do
	if out=$(nix-instantiate --parse "$f" 2>&1 >/dev/null); then
		ok "parse $f"
	else
		fail "parse $f" "$out"
	fi
done < <(grep -E '\.nix$' "$W/files")

# -------------------------------------------------------------- 2. modules
# run_cases LABEL FILE LIBEXPR: one line per case.
run_cases() {
	local label=$1 file=$2 libexpr=$3 json err
	json=$W/$label-$(basename "$file" .nix).json
	err=$W/$label-$(basename "$file" .nix).err
	if ! nix-instantiate --eval --strict --json -E "import ./$file { $libexpr }" >"$json" 2>"$err"; then
		fail "$label: $file does not evaluate" "$(grep -v 'evaluation warning' "$err")"
		return
	fi
	while IFS=$'\t' read -r verdict name; do
		if [ "$verdict" = pass ]; then ok "$label: $name"; else fail "$label: $name"; fi
	done < <("$PY" -c '
import json, sys
for c in json.load(open(sys.argv[1])):
    print(("pass" if c["pass"] else "fail") + "\t" + c["name"])
' "$json")
}
run_cases stand-in tests/nix/cases.nix ""
run_cases stand-in tests/nix/lib-cases.nix ""
if [ -n "${NIXPKGS_LIB:-}" ]; then
	if [ -f "$NIXPKGS_LIB/default.nix" ]; then
		run_cases nixpkgs-lib tests/nix/cases.nix "lib = import $NIXPKGS_LIB;"
		run_cases nixpkgs-lib tests/nix/lib-cases.nix "lib = import $NIXPKGS_LIB;"
	else
		fail "NIXPKGS_LIB=$NIXPKGS_LIB has no default.nix"
	fi
else
	echo "note: NIXPKGS_LIB not set; the cases ran with the stand-in lib only (the flake's module-eval check runs them with the pinned nixpkgs lib)"
fi

# ---------------------------------------------------------------- 3. units
# check_unit LABEL DIR UNIT: verify + security on a copy whose Exec paths
# exist (verify fails on missing executables, which store paths are here).
check_unit() {
	local label=$1 dir=$2 unit=$3 out rc level
	out=$(cd "$dir" && systemd-analyze verify "$unit" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || grep -qE 'Unknown (key|section)|Failed to parse|[Ii]nvalid' <<<"$out"; then
		fail "$label: systemd-analyze verify $unit" "$out"
	else
		ok "$label: systemd-analyze verify $unit"
	fi
	case $unit in *.service) ;; *) return ;; esac
	out=$(cd "$dir" && systemd-analyze security --offline=true --threshold=20 --no-pager "$unit" 2>&1)
	rc=$?
	level=$(grep -oE 'Overall exposure level for [^:]+: [0-9.]+' <<<"$out" | grep -oE '[0-9.]+$')
	if [ $rc -eq 0 ] && [ -n "$level" ]; then
		ok "$label: $unit exposure $level <= 2.0"
	else
		fail "$label: $unit exposure ${level:-?} (threshold 2.0)" "$(grep -E '✗|Overall' <<<"$out")"
	fi
}
stub_exec() { sed -i -E 's#(^|[=:])(/nix/store/[^ ]*|/usr/local/bin/[A-Za-z-]+)#\1/bin/true#g' "$@"; }

if nix-instantiate --eval --strict --json -E 'import ./tests/nix/render-units.nix { }' >"$W/units.json" 2>"$W/units.err"; then
	"$PY" - "$W/units.json" "$W/units" <<'EOF'
import json, os, sys
data = json.load(open(sys.argv[1]))
for name, text in data["units"].items():
    path = os.path.join(sys.argv[2], name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
with open(os.path.join(sys.argv[2], "secrets"), "w") as f:
    f.write("\n".join(data["secrets"]) + "\n")
EOF
	leaked=$(grep -rlF -f "$W/units/secrets" "$W/units" --include='*.service' --include='*.timer')
	if [ -z "$leaked" ]; then ok "rendered units hold no password or hash"; else fail "a password or hash is in a unit file" "$leaked"; fi
	for d in "$W"/units/*/; do
		stub_exec "$d"*
		for u in "$d"*; do check_unit "module $(basename "$d")" "$d" "$(basename "$u")"; done
	done
else
	fail "tests/nix/render-units.nix does not evaluate" "$(cat "$W/units.err")"
fi

for variant in plain tailscale; do
	d=$W/debian-$variant
	mkdir -p "$d"
	cp contrib/systemd/*.service contrib/systemd/*.timer "$d"/
	if [ $variant = tailscale ]; then
		mkdir -p "$d/anki-sync-server.service.d"
		cp contrib/systemd/anki-sync-server.service.d/*.conf "$d/anki-sync-server.service.d/"
		stub_exec "$d"/anki-sync-server.service.d/*.conf
	fi
	stub_exec "$d"/*.service
	for u in "$d"/*.service "$d"/*.timer; do check_unit "contrib/systemd ($variant)" "$d" "$(basename "$u")"; done
done

# ---------------------------------------------------------------- 4. flake
S=$W/src
mkdir -p "$S"
tar -cf - -T "$W/files" | tar -xf - -C "$S"
FLAKE=path:$S
OV=(--override-input nixpkgs "path:$S/tests/nix/stub-nixpkgs" --override-input agenix "path:$S/tests/nix/stub-agenix" --no-write-lock-file)

if out=$(nix flake show "$FLAKE" "${OV[@]}" 2>&1); then
	ok "nix flake show (stand-in inputs)"
else
	fail "nix flake show (stand-in inputs)" "$out"
fi
if out=$(nix flake check --no-build "$FLAKE" "${OV[@]}" 2>&1); then
	ok "nix flake check --no-build (stand-in inputs: packages, overlay, modules, module-eval, VM tests evaluate)"
else
	fail "nix flake check --no-build (stand-in inputs)" "$out"
fi
if out=$(nix flake metadata "$FLAKE" --no-update-lock-file --offline 2>&1); then
	ok "flake.lock matches the inputs of flake.nix"
else
	fail "flake.lock does not match flake.nix" "$out"
fi
L=$W/lockcheck
mkdir -p "$L"
cp flake.lock "$L"/
sed 's#github:NixOS/nixpkgs/nixos-[0-9.]*#github:NixOS/nixpkgs/nixos-unstable#' flake.nix >"$L/flake.nix"
if cmp -s flake.nix "$L/flake.nix"; then
	fail "lock check self-test: could not change the nixpkgs input"
elif nix flake metadata "path:$L" --no-update-lock-file --offline >/dev/null 2>&1; then
	fail "lock check self-test: a changed nixpkgs ref was not noticed"
else
	ok "lock check self-test: a changed nixpkgs ref is noticed"
fi
if out=$("$PY" - <<'EOF' 2>&1
import json, re
lock = json.load(open("flake.lock"))
nodes = lock["nodes"]
root = nodes[lock["root"]]["inputs"]
assert set(root) == {"nixpkgs", "agenix"}, root
np = nodes[root["nixpkgs"]]
assert np["original"]["type"] == "github" and np["original"]["owner"] == "NixOS", np
assert re.fullmatch(r"nixos-\d\d\.\d\d", np["original"].get("ref", "")), "nixpkgs must track a stable release"
for n in nodes.values():
    if "locked" in n:
        lk = n["locked"]
        assert re.fullmatch(r"[0-9a-f]{40}", lk["rev"]), lk
        assert re.fullmatch(r"sha256-[A-Za-z0-9+/]{43}=", lk["narHash"]), lk
        assert isinstance(lk["lastModified"], int), lk
ag = nodes[root["agenix"]]
assert ag["inputs"]["nixpkgs"] == ["nixpkgs"], "agenix must follow nixpkgs"
assert ag["inputs"]["darwin"] == [] and ag["inputs"]["home-manager"] == [], "darwin/home-manager must follow nothing"
sysnode = nodes[ag["inputs"]["systems"]]
assert sysnode["locked"]["owner"] == "nix-systems" and sysnode["locked"]["repo"] == "default", sysnode
EOF
); then
	ok "flake.lock: stable nixpkgs, agenix follows nixpkgs, no darwin/home-manager, well-formed pins"
else
	fail "flake.lock structure" "$out"
fi

# ---------------------------------------------------------- 5. testScripts
prelude() {
	cat <<'EOF'
# Names the NixOS test driver defines for a testScript.
start_all = join_all = subtest = retry = polling_condition = None
serial_stdout_on = serial_stdout_off = create_machine = log = driver = None
machines = vlans = t = Machine = None
EOF
	for n in "$@"; do echo "$n = None"; done
}
for f in tests/nix/vm/anki_client.py tests/system/client.py tests/system/journal.py tests/system/nixunits.py; do
	if out=$(pyflakes3 "$f" 2>&1); then ok "pyflakes $f"; else fail "pyflakes $f" "$out"; fi
done
for f in tests/check-system.sh tests/system/runner.sh tests/system/fake-tailscaled; do
	if out=$(bash -n "$f" 2>&1); then ok "bash -n $f"; else fail "bash -n $f" "$out"; fi
done
for f in tests/nix/vm/*.nix; do
	t=$(basename "$f" .nix)
	case $t in default | common) continue ;; esac
	attr=checks.x86_64-linux.vm-$t
	if ! script=$(nix eval --raw "$FLAKE#$attr.testScript" "${OV[@]}" 2>"$W/$t.err"); then
		fail "testScript of vm-$t evaluates" "$(cat "$W/$t.err")"
		continue
	fi
	nodes=$(nix eval --json "$FLAKE#$attr.nodeNames" "${OV[@]}" 2>/dev/null | "$PY" -c 'import json,sys; print(" ".join(json.load(sys.stdin)))')
	{
		prelude $nodes
		printf '%s\n' "$script"
	} >"$W/testscript-$t.py"
	if out=$(pyflakes3 "$W/testscript-$t.py" 2>&1); then
		ok "pyflakes testScript of vm-$t (nodes: $nodes)"
	else
		fail "pyflakes testScript of vm-$t" "$out"
	fi
done

# -------------------------------------------------------------- 6. secrets
want=$(nix-instantiate --eval --strict --json -E '(import ./tests/nix/vm/common.nix { pkgs = { anki = { }; writeShellScriptBin = _: _: null; }; lib = { }; }).users' 2>/dev/null)
alice=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["alice"]["password"])' <<<"$want" 2>/dev/null)
if [ -z "$alice" ]; then
	fail "VM test users readable from tests/nix/vm/common.nix"
elif got=$(age -d -i tests/nix/keys/host_ed25519 tests/nix/secrets/anki-sync-password.age 2>&1) && [ "$got" = "$alice" ]; then
	ok "the VM-test secret decrypts with the test key to alice's test password"
else
	fail "the VM-test secret does not decrypt to alice's test password" "$got"
fi
if out=$("$PY" -c '
import base64, hashlib, hmac, json, sys
u = json.load(sys.stdin)["bob"]
_, alg, params, salt, digest = u["hash"].split("$")
assert alg == "pbkdf2-sha256", alg
p = dict(kv.split("=") for kv in params.split(","))
dec = lambda s: base64.b64decode(s + "=" * (-len(s) % 4))
got = hashlib.pbkdf2_hmac("sha256", u["password"].encode(), dec(salt), int(p["i"]), int(p.get("l", 32)))
assert hmac.compare_digest(got, dec(digest)), "hash does not match"
' <<<"$want" 2>&1); then
	ok "bob's PBKDF2 test hash verifies against his test password"
else
	fail "bob's PBKDF2 test hash" "$out"
fi
testkey=$(cut -d' ' -f1,2 tests/nix/keys/host_ed25519.pub)
for s in secrets/secrets.nix tests/nix/secrets/secrets.nix; do
	if ! keys=$(nix-instantiate --eval --strict --json -E "builtins.mapAttrs (n: v: v.publicKeys) (import ./$s)" 2>&1); then
		fail "$s evaluates to { \"<file>.age\".publicKeys = [ ... ]; }" "$keys"
		continue
	fi
	if out=$("$PY" -c '
import json, sys
d = json.load(sys.stdin)
assert d, "no secrets"
for name, keys in d.items():
    assert name.endswith(".age") and keys, name
    for k in keys:
        assert k.split()[0] in ("ssh-ed25519", "ssh-rsa") or k.startswith("age1"), k
' <<<"$keys" 2>&1); then
		ok "$s has the agenix shape"
	else
		fail "$s has the agenix shape" "$out"
	fi
	case $s in
	tests/*) grep -qF "$testkey" <<<"$keys" && ok "$s lists the test key" || fail "$s does not list the test key" ;;
	*) grep -qF "$testkey" <<<"$keys" && fail "$s lists the insecure test key" || ok "$s does not list the insecure test key" ;;
	esac
done

finish
