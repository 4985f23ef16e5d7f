#!/usr/bin/env python3
"""Writes a small hosted sparse (KDMV) file whose grain directory has N entries (vmdk-format.md 2.1):
with --shared every entry names the same grain table (the hostile case of issue 16: a 4 MB file
claiming a million tables), else every entry is 0. No redundant directory, 64 KiB grains."""
import argparse
import struct


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("entries", type=int)
    parser.add_argument("--shared", action="store_true")
    args = parser.parse_args()
    gd_sectors = (args.entries * 4 + 511) // 512
    table = 1 + gd_sectors
    overhead = (table + 4 + 127) // 128 * 128
    capacity = args.entries * 512 * 128  # sectors: every directory entry covers 512 grains
    header = struct.pack("<IIIQQQQIQQQB4sH", 0x564D444B, 1, 1, capacity, 128, 0, 0, 512, 0, 1, overhead, 0,
                         b"\n \r\n", 0)
    with open(args.path, "wb") as out:
        out.write(header.ljust(512, b"\0"))
        entry = struct.pack("<I", table if args.shared else 0)
        out.write(entry * args.entries)
        out.truncate(overhead * 512)


if __name__ == "__main__":
    main()
