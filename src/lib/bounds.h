/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bounds.h - every size limit of ankihost in one place, each with its reason.
 * Values that users may change are defaults for a configuration setting.
 */
#ifndef ANKIHOST_BOUNDS_H
#define ANKIHOST_BOUNDS_H

/* A configuration file is a few hundred bytes; 1 MiB refuses a wrong path
 * (a collection, a log) before we read it all into memory. */
#define MAX_CONFIG_FILE_BYTES (1024 * 1024)

/* A credential (password or hash) file; passwords are short. */
#define MAX_CREDENTIAL_BYTES 4096

/* One path component.  Linux NAME_MAX; the media sync protocol allows 255
 * bytes too (sync-protocol.md section 5). */
#define MAX_NAME_BYTES 255

/* A whole joined path; PATH_MAX on Linux. */
#define MAX_PATH_BYTES 4096

/* The official sync server's default for MAX_SYNC_PAYLOAD_MEGS. */
#define DEFAULT_SYNC_PAYLOAD_MEGS 100

#endif
