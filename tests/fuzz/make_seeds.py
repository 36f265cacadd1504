# SPDX-License-Identifier: AGPL-3.0-or-later
"""Seeds for the fuzz targets that take whole Anki files, made from real
ones; every collection is vacuumed into 1 KiB pages so the fuzzer edits
fewer bytes.

pkg: packages into fuzz_pkg_import's input format (an options byte, then
members as flags, name length, name, 4-byte little-endian length, data;
flag bit 0 = the harness compresses the data with zstd, as the latest
format stores it).  The members of a latest-format package are unpacked
(the harness packs them again) and the upgrade-notice collection.anki2
beside a newer collection is left out.

col: collections, as fuzz_col_upload takes them (a full upload's body).

    /usr/bin/python3 tests/fuzz/make_seeds.py pkg OUT_DIR PACKAGE...
    /usr/bin/python3 tests/fuzz/make_seeds.py col OUT_DIR COLLECTION...
"""
import os
import sqlite3
import struct
import sys
import tempfile
import zipfile

import zstandard

COLLECTIONS = ("collection.anki2", "collection.anki21", "collection.anki21b")


def unicase(a, b):
    a, b = a.casefold(), b.casefold()
    return (a > b) - (a < b)


def shrink(db):
    """The collection vacuumed into 1 KiB pages."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "c")
        with open(path, "wb") as f:
            f.write(db)
        con = sqlite3.connect(path)
        con.create_collation("unicase", unicase)
        con.execute("pragma journal_mode = delete")
        con.execute("pragma page_size = 1024")
        con.execute("vacuum")
        con.close()
        with open(path, "rb") as f:
            return f.read()


def seed(package, options):
    z = zipfile.ZipFile(package)
    names = z.namelist()
    meta = z.read("meta") if "meta" in names else b""
    latest = meta[:2] == b"\x08\x03"
    newer = [n for n in ("collection.anki21", "collection.anki21b") if n in names]
    out = bytearray([options])
    for name in names:
        data = z.read(name)
        if name == "collection.anki2" and newer:
            continue
        packed = latest and name != "meta" and name != "collection.anki2"
        if packed:
            data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        if name in COLLECTIONS:
            data = shrink(data)
        raw = name.encode()
        out += bytes([1 if packed else 0, len(raw)]) + raw
        out += struct.pack("<I", len(data)) + data
    return bytes(out)


def main():
    kind, out_dir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    for i, path in enumerate(files):
        base = os.path.splitext(os.path.basename(path))[0]
        if kind == "pkg":
            # alternate between Anki's defaults and "with scheduling and
            # presets"
            data = seed(path, 0 if i % 2 == 0 else 3)
        else:
            with open(path, "rb") as f:
                data = shrink(f.read())
        with open(os.path.join(out_dir, base), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
