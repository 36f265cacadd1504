/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * syncproto_gzip.h - streaming gunzip for the legacy multipart requests of
 * sync versions 8-10 (sync-protocol.md §1.6): the "data" field is gzip
 * compressed unless c=0.  Like the official server (flate2 GzDecoder +
 * take(cap)): the first gzip member only, output capped at cap bytes
 * (then "truncated", not an error), anything malformed is ST_CORRUPT
 * ("invalid gzip", HTTP 400).
 */
#ifndef ANKIHOST_SYNCPROTO_GZIP_H
#define ANKIHOST_SYNCPROTO_GZIP_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "zstdio.h"

struct syncproto_gunzip;

/* NULL with e filled when memory is short. */
struct syncproto_gunzip *syncproto_gunzip_new(uint64_t cap, zstdio_sink_fn sink, void *ctx,
                                              struct errinfo *e);
void syncproto_gunzip_free(struct syncproto_gunzip *g);
enum status syncproto_gunzip_feed(struct syncproto_gunzip *g, const void *data, size_t len,
                                  struct errinfo *e);
/* ST_CORRUPT when the member is incomplete. */
enum status syncproto_gunzip_finish(struct syncproto_gunzip *g, struct errinfo *e);
uint64_t syncproto_gunzip_total(const struct syncproto_gunzip *g);
int syncproto_gunzip_truncated(const struct syncproto_gunzip *g);

#endif
