# SPDX-License-Identifier: AGPL-3.0-or-later
#
# common.nix - shared by the NixOS VM tests: the test users and their
# (test-only) passwords, and `anki-vm-client`, which runs anki_client.py with
# the real Anki client library from the pinned nixpkgs.
#
# alice's password is the plaintext of ../secrets/anki-sync-password.age
# (decrypted by agenix in the VM; tests/check-nix.sh checks that they
# match), bob's is only given to the server as a PBKDF2 hash (check-nix.sh
# verifies the hash), carol's is a plain `password` option.
{ pkgs, lib }:
let
  # Newer nixpkgs expose anki's Python library as the `lib` output; older
  # ones only through the wrapped program (as nixos/tests/anki-sync-server.nix
  # does in each revision).
  ankiEnv =
    if pkgs.anki ? lib then
      "ANKI_PYLIB=${pkgs.anki.lib}/${pkgs.python3.sitePackages}"
    else
      "ANKI_WRAPPED=${pkgs.anki}/bin/.anki-wrapped";
in
{
  users = {
    alice = {
      password = "alice-agenix-secret-7d1f";
    };
    bob = {
      password = "bob hashes his password 42";
      hash = "$pbkdf2-sha256$i=600000,l=32$fRZaCxB1sAiy8X1zCqjNbg$+LVVXllcLqgWDflBObJ9vVK0wh/njqseqcl/Gfs0+mI";
    };
    carol = {
      password = "carol-plain-in-store";
    };
  };

  ankiClient = pkgs.writeShellScriptBin "anki-vm-client" ''
    export ${ankiEnv}
    exec ${pkgs.python3}/bin/python3 ${./anki_client.py} "$@"
  '';
}
