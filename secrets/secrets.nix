# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Recipients of this deployment's agenix secrets, read by the agenix CLI:
#
#   cd secrets && agenix -e anki-sync-password.age
#
# Replace the two example keys with yours before encrypting anything:
#   admin: your own SSH public key (~/.ssh/id_ed25519.pub), so you can
#          re-encrypt and edit secrets;
#   host:  the server's host key (`ssh-keyscan -t ed25519 HOST` or
#          /etc/ssh/ssh_host_ed25519_key.pub on it), so agenix can decrypt
#          at activation.
# The placeholders are not valid keys on purpose: agenix refuses to encrypt
# until they are replaced.  The VM tests use their own, separate test-only
# key and secret (tests/nix/keys, tests/nix/secrets); never list that key here.
let
  admin = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA-REPLACE-WITH-YOUR-ADMIN-KEY admin@example";
  host = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA-REPLACE-WITH-THE-HOST-KEY root@ankihost";
in
{
  "anki-sync-password.age".publicKeys = [
    admin
    host
  ];
}
