/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pkg_cmd.h - the package subcommands of anki-col (docs/packages.md).
 */
#ifndef ANKIHOST_ANKI_COL_PKG_CMD_H
#define ANKIHOST_ANKI_COL_PKG_CMD_H

#include <stdio.h>

/* "export-apkg", "import-apkg" or "inspect-apkg" with their arguments
 * (argv[0] is the subcommand).  Returns the exit code (0 ok, 2 error). */
int pkg_cmd_run(int argc, char **argv);

/* The usage lines of these subcommands. */
void pkg_cmd_usage(FILE *f);

#endif
