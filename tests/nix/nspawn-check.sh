#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# nspawn-check.sh - kept for `make nspawn-check`: the units under a real
# systemd are now tested by tests/check-system.sh (part of `make check`),
# which builds and caches its own Debian root file system.
exec "$(dirname "$0")/../check-system.sh" "$@"
