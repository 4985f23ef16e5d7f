#!/usr/bin/env python3
# Independent checker of the streamOptimized layout A (vmdk-format.md 3.4, 3.6): walks the file from
# sector 0 and reports the first deviation. Python standard library only (zlib, struct).
"""Usage: stream_layout.py FILE [--raw RAWFILE]

Exit 0 with a one-line summary when FILE is a layout-A stream: header (v3, flags bits 0/16/17 set and
bit 1 clear, compress 1, gdOffset GD_AT_END, rgdOffset 0), descriptor, grain records in strictly
ascending LBA order, a GT marker + GT after each table's grains, GD marker + GD, footer marker +
footer, EOS, nothing after. Exit 1 with the first violation otherwise. With --raw the inflated
grains must equal RAWFILE and grains absent from the stream must be zero there."""

import argparse
import struct
import sys
import zlib

SECTOR = 512
GD_AT_END = 0xFFFFFFFFFFFFFFFF
HEADER = struct.Struct("<4sIIQQQQIQQQBccccH")  # 79 bytes of 2.1


def nonzero(data):
    """True when data holds a non-zero byte (bytes.count runs in C; any() would go byte by byte)."""
    return data.count(0) != len(data)


class Violation(Exception):
    def __init__(self, offset, message):
        super().__init__(message)
        self.offset = offset
        self.message = message


def fields(sector):
    names = ("magic", "version", "flags", "capacity", "grain_size", "descriptor_offset", "descriptor_size",
             "num_gtes_per_gt", "rgd_offset", "gd_offset", "overhead", "unclean_shutdown", "eol1", "eol2",
             "eol3", "eol4", "compress_algorithm")
    return dict(zip(names, HEADER.unpack_from(sector, 0)))


class Checker:
    def __init__(self, path, raw_path):
        self.f = open(path, "rb")
        self.f.seek(0, 2)
        self.file_size = self.f.tell()
        self.f.seek(0)
        self.raw = open(raw_path, "rb") if raw_path else None
        self.pos = 0  # byte offset of the next unread sector

    def read(self, sectors, what):
        n = sectors * SECTOR
        data = self.f.read(n)
        if len(data) != n:
            raise Violation(self.pos, "%s needs %d bytes but the file ends at 0x%x" % (what, n, self.file_size))
        self.pos += n
        return data

    def check_header(self):
        sector = self.read(1, "header")
        h = fields(sector)
        if h["magic"] != b"KDMV":
            raise Violation(0, "magic is %r, not KDMV" % h["magic"])
        if h["version"] != 3:
            raise Violation(4, "version %d, expected 3" % h["version"])
        flags = h["flags"]
        if flags & 0x30001 != 0x30001 or flags & 0x2:
            raise Violation(8, "flags 0x%x: bits 0, 16, 17 must be set and bit 1 clear" % flags)
        if flags & 0xFFFF0000 & ~0x30000:
            raise Violation(8, "flags 0x%x: unknown incompatible bits" % flags)
        g = h["grain_size"]
        if g == 0 or g & (g - 1) or g > 0x200000:
            raise Violation(20, "grain size %d sectors is not a power of two" % g)
        if h["capacity"] == 0:
            raise Violation(12, "capacity is 0")
        if h["num_gtes_per_gt"] != 512:
            raise Violation(44, "numGTEsPerGT %d, expected 512" % h["num_gtes_per_gt"])
        if h["descriptor_offset"] != 1 or h["descriptor_size"] < 1:
            raise Violation(28, "descriptor at sector %d size %d, expected sector 1 and size >= 1"
                            % (h["descriptor_offset"], h["descriptor_size"]))
        if h["rgd_offset"] != 0:
            raise Violation(48, "rgdOffset 0x%x, expected 0" % h["rgd_offset"])
        if h["gd_offset"] != GD_AT_END:
            raise Violation(56, "gdOffset 0x%x, expected GD_AT_END" % h["gd_offset"])
        if h["overhead"] < 1 + h["descriptor_size"]:
            raise Violation(64, "overHead %d lies inside the descriptor" % h["overhead"])
        if h["unclean_shutdown"] != 0:
            raise Violation(72, "uncleanShutdown is set")
        if (h["eol1"], h["eol2"], h["eol3"], h["eol4"]) != (b"\n", b" ", b"\r", b"\n"):
            raise Violation(73, "end-of-line detector bytes are wrong")
        if h["compress_algorithm"] != 1:
            raise Violation(77, "compressAlgorithm %d, expected 1" % h["compress_algorithm"])
        if nonzero(sector[79:]):
            raise Violation(79, "header padding is not zero")
        self.header_sector = sector
        self.h = h
        self.grain_sectors = g
        self.grain_bytes = g * SECTOR
        self.num_grains = -(-h["capacity"] // g)
        self.num_tables = -(-self.num_grains // 512)
        self.gd_sectors = -(-self.num_tables * 4 // SECTOR)

    def check_descriptor(self):
        start = self.pos
        text = self.read(self.h["descriptor_size"], "descriptor")
        end = text.find(b"\0")
        if end >= 0 and nonzero(text[end:]):
            raise Violation(start + end, "descriptor padding after the first NUL is not zero")
        if b"createType" not in text:
            raise Violation(start, "descriptor has no createType")
        gap = self.h["overhead"] - 1 - self.h["descriptor_size"]
        gap_start = self.pos
        if gap and nonzero(self.read(gap, "space before overHead")):
            raise Violation(gap_start, "sectors between descriptor and overHead are not zero")

    def raw_bytes(self, offset, length):
        self.raw.seek(offset)
        data = self.raw.read(length)
        return data + bytes(length - len(data))

    def check_raw_zero(self, begin, end, at):
        while begin < end:
            n = min(end - begin, 8 << 20)
            if nonzero(self.raw_bytes(begin, n)):
                raise Violation(at, "raw file holds data at 0x%x..0x%x but the stream has no grain there"
                                % (begin, begin + n))
            begin += n

    def check_grain(self, first, lba, size):
        at = self.pos - SECTOR
        if lba % self.grain_sectors:
            raise Violation(at, "grain lba %d is not a multiple of the grain size %d" % (lba, self.grain_sectors))
        if lba >= self.h["capacity"]:
            raise Violation(at, "grain lba %d is past the capacity %d" % (lba, self.h["capacity"]))
        if self.last_lba is not None and lba <= self.last_lba:
            raise Violation(at, "grain lba %d does not follow lba %d in ascending order" % (lba, self.last_lba))
        index = lba // self.grain_sectors
        table = index // 512
        if self.open_table is not None and table != self.open_table:
            raise Violation(at, "grain of table %d before the GT of table %d" % (table, self.open_table))
        if table in self.gt_of:
            raise Violation(at, "grain of table %d after that table's GT" % table)
        record_sectors = -(-(12 + size) // SECTOR)
        rest = self.read(record_sectors - 1, "grain record") if record_sectors > 1 else b""
        record = first + rest
        data = record[12:12 + size]
        if nonzero(record[12 + size:]):
            raise Violation(at, "padding after the grain data is not zero")
        if len(data) < 2 or data[0] & 0x0F != 8 or (data[0] >> 4) > 7 or ((data[0] << 8) | data[1]) % 31 \
                or data[1] & 0x20:
            raise Violation(at + 12, "grain lba %d has no zlib header" % lba)
        inflater = zlib.decompressobj()
        try:
            grain = inflater.decompress(data, self.grain_bytes + 1)
        except zlib.error as error:
            raise Violation(at + 12, "grain lba %d does not inflate: %s" % (lba, error))
        if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
            raise Violation(at + 12, "grain lba %d: zlib stream does not end exactly at its size %d" % (lba, size))
        if len(grain) != self.grain_bytes:
            raise Violation(at + 12, "grain lba %d inflates to %d bytes, not one grain (%d)"
                            % (lba, len(grain), self.grain_bytes))
        if not nonzero(grain):
            raise Violation(at, "grain lba %d is all zeros (zero grains must be skipped)" % lba)
        capacity_bytes = self.h["capacity"] * SECTOR
        start = lba * SECTOR
        valid = min(self.grain_bytes, capacity_bytes - start)
        if nonzero(grain[valid:]):
            raise Violation(at, "grain lba %d holds data past the capacity" % lba)
        if self.raw:
            self.check_raw_zero(self.raw_end, start, at)
            if grain[:valid] != self.raw_bytes(start, valid):
                raise Violation(at, "grain lba %d differs from the raw file at 0x%x" % (lba, start))
            self.raw_end = start + valid
        self.last_lba = lba
        self.open_table = table
        self.pending[index % 512] = at // SECTOR
        self.grains += 1

    def check_gt(self, num_sectors):
        at = self.pos - SECTOR
        if num_sectors != 4:
            raise Violation(at, "GT marker numSectors %d, expected 4" % num_sectors)
        if self.open_table is None:
            raise Violation(at, "GT marker without grains before it (empty tables are omitted)")
        gt_sector = self.pos // SECTOR
        entries = struct.unpack("<512I", self.read(4, "grain table"))
        for i, entry in enumerate(entries):
            want = self.pending.get(i, 0)
            if entry != want:
                raise Violation(gt_sector * SECTOR + 4 * i, "GT %d entry %d is %d, expected %d"
                                % (self.open_table, i, entry, want))
        self.gt_of[self.open_table] = gt_sector
        self.open_table = None
        self.pending = {}

    def check_gd(self, num_sectors):
        at = self.pos - SECTOR
        if self.open_table is not None:
            raise Violation(at, "GD marker before the GT of table %d" % self.open_table)
        if num_sectors != self.gd_sectors:
            raise Violation(at, "GD marker numSectors %d, expected %d" % (num_sectors, self.gd_sectors))
        self.gd_sector = self.pos // SECTOR
        data = self.read(num_sectors, "grain directory")
        for t in range(self.num_tables):
            entry = struct.unpack_from("<I", data, 4 * t)[0]
            want = self.gt_of.get(t, 0)
            if entry != want:
                raise Violation(self.gd_sector * SECTOR + 4 * t, "GD entry %d is %d, expected %d" % (t, entry, want))
        if nonzero(data[4 * self.num_tables:]):
            raise Violation(self.gd_sector * SECTOR + 4 * self.num_tables, "GD padding is not zero")

    def check_footer(self, num_sectors):
        at = self.pos - SECTOR
        if num_sectors != 1:
            raise Violation(at, "footer marker numSectors %d, expected 1" % num_sectors)
        footer = self.read(1, "footer")
        expected = bytearray(self.header_sector)
        struct.pack_into("<Q", expected, 56, self.gd_sector)
        if footer != bytes(expected):
            diff = next(i for i in range(SECTOR) if footer[i] != expected[i])
            raise Violation(at + SECTOR + diff, "footer differs from the header with gdOffset %d" % self.gd_sector)

    def walk(self):
        self.check_header()
        self.check_descriptor()
        if self.pos != self.h["overhead"] * SECTOR:
            raise Violation(self.pos, "first record is not at overHead")
        self.last_lba = None
        self.open_table = None
        self.pending = {}
        self.gt_of = {}
        self.grains = 0
        self.raw_end = 0
        self.gd_sector = None
        stage = "grains"  # grains -> gd -> footer -> eos
        while True:
            at = self.pos
            sector = self.read(1, "marker")
            value, size = struct.unpack_from("<QI", sector, 0)
            if size != 0:
                if stage != "grains":
                    raise Violation(at, "grain marker after the grain directory")
                self.check_grain(sector, value, size)
                continue
            mtype = struct.unpack_from("<I", sector, 12)[0]
            if nonzero(sector[16:]):
                raise Violation(at, "metadata marker padding is not zero")
            if mtype == 1 and stage == "grains":
                self.check_gt(value)
            elif mtype == 2 and stage == "grains":
                self.check_gd(value)
                stage = "gd"
            elif mtype == 3 and stage == "gd":
                self.check_footer(value)
                stage = "footer"
            elif mtype == 0 and stage == "footer":
                if value != 0:
                    raise Violation(at, "EOS marker numSectors %d, expected 0" % value)
                break
            else:
                raise Violation(at, "unexpected marker type %d (numSectors %d) in stage %s" % (mtype, value, stage))
        if self.pos != self.file_size:
            raise Violation(self.pos, "%d bytes follow the EOS marker" % (self.file_size - self.pos))
        capacity_bytes = self.h["capacity"] * SECTOR
        if self.raw:
            self.raw.seek(0, 2)
            raw_size = self.raw.tell()
            if raw_size != capacity_bytes:
                raise Violation(0, "raw file has 0x%x bytes, capacity is 0x%x" % (raw_size, capacity_bytes))
            self.check_raw_zero(self.raw_end, capacity_bytes, self.pos)
        return ("capacity %d sectors, grain %d sectors, %d grains in %d of %d tables, GD at sector %d, %d bytes"
                % (self.h["capacity"], self.grain_sectors, self.grains, len(self.gt_of), self.num_tables,
                   self.gd_sector, self.file_size))


def main():
    parser = argparse.ArgumentParser(description="check a streamOptimized VMDK against layout A")
    parser.add_argument("file")
    parser.add_argument("--raw", help="raw image the stream must hold")
    args = parser.parse_args()
    try:
        summary = Checker(args.file, args.raw).walk()
    except Violation as v:
        print("stream_layout: %s: at 0x%x: %s" % (args.file, v.offset, v.message))
        return 1
    except OSError as error:
        print("stream_layout: %s: %s" % (args.file, error))
        return 1
    print("stream_layout: %s: ok: %s" % (args.file, summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
