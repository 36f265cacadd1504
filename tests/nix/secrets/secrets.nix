# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Recipients of the TEST-ONLY secret used by the NixOS VM tests (agenix
# CLI format: `cd tests/nix/secrets && agenix -e anki-sync-password.age`).
# The key pair in ../keys is public and insecure on purpose; it must never
# be a recipient of a real secret.  Real hosts use ../../../secrets/.
let
  vmTestHost = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII8CYRR7YuVRKQsYaawtSOh6X54+zryhkQgdrPVsEYtl ankihost-vm-test-only-INSECURE";
in
{
  "anki-sync-password.age".publicKeys = [ vmTestHost ];
}
