#!/usr/bin/python3
# ESXi chains for tests/interop/esxi_read.sh, bytes laid out per vmdk-format.md 4.1-4.3: a vmfs
# base, vmfsSparse (COWD) and seSparse deltas on it, and the raw bytes each link must read as.
import random
import struct
import sys
from pathlib import Path

SECTOR = 512


def ceil_div(a, b):
    return -(-a // b)


def pattern(size, seed):
    return random.Random(seed).randbytes(size)


def cowd(capacity, grains):
    """COWD extent (4.2): grains = [(index, bytes)] in allocation order, 1-sector grains; each GT is
    appended before the first grain of its range (allocated on demand), data follows."""
    gd_entries = ceil_div(capacity, 4096)
    free = 4 + ceil_div(gd_entries * 4, SECTOR)
    gd = [0] * gd_entries
    tables = {}
    out = bytearray(free * SECTOR)
    for index, data in grains:
        table = index // 4096
        if gd[table] == 0:
            gd[table] = free
            tables[table] = [0] * 4096
            out += bytes(32 * SECTOR)
            free += 32
        tables[table][index % 4096] = free
        out += data.ljust(SECTOR, b"\0")
        free += 1
    out[0:32] = struct.pack("<4s7I", b"COWD", 1, 3, capacity, 1, 4, gd_entries, free)
    out[4 * SECTOR:4 * SECTOR + 4 * gd_entries] = struct.pack(f"<{gd_entries}I", *gd)
    for table, entries in tables.items():
        at = gd[table] * SECTOR
        out[at:at + 4 * 4096] = struct.pack("<4096I", *entries)
    return bytes(out)


def sesparse(capacity, grains):
    """SESparse extent (4.3): grains = [(index, bytes | "zero" | "unmapped")] in allocation order;
    GTs taken from the region in allocation order, grain slots likewise."""
    gd_entries = ceil_div(capacity, 32768)
    gd_size = max(1, ceil_div(gd_entries * 8, SECTOR))
    order = []
    for index, _ in grains:
        if index // 4096 not in order:
            order.append(index // 4096)
    gt_offset = 8 + gd_size
    gt_size = 64 * max(1, len(order))
    bitmap = gt_offset + gt_size
    grains_offset = bitmap + 2
    header = struct.pack("<26Q", 0xCAFEBABE, 0x200000001, capacity, 8, 64, 0, 0, 0, 0, 0,
                         1, 1, 2, 2, 4, 4, 8, gd_size, gt_offset, gt_size, bitmap, 1, bitmap + 1, 1,
                         grains_offset, capacity)
    out = bytearray(grains_offset * SECTOR)
    out[0:len(header)] = header
    out[SECTOR:SECTOR + 32] = struct.pack("<4Q", 0xCAFECAFE, len(order), 0, 0)
    for gt, table in enumerate(order):
        struct.pack_into("<Q", out, 8 * SECTOR + 8 * table, 0x1000000000000000 | gt)
    slot = 0
    for index, data in grains:
        if data == "zero":
            entry = 0x2000000000000000
        elif data == "unmapped":
            entry = 0x1000000000000000
        else:
            entry = 0x3000000000000000 | ((slot & 0xFFF) << 48) | (slot >> 12)
            at = (grains_offset + slot * 8) * SECTOR
            out[len(out):] = bytes(max(0, at + 4096 - len(out)))
            out[at:at + 4096] = data.ljust(4096, b"\0")
            slot += 1
        gt = order.index(index // 4096)
        struct.pack_into("<Q", out, (gt_offset + gt * 64) * SECTOR + 8 * (index % 4096), entry)
    return bytes(out)


def apply(raw, grains, grain_bytes):
    for index, data in grains:
        at = index * grain_bytes
        raw[at:at + grain_bytes] = bytes(grain_bytes) if isinstance(data, str) else data.ljust(grain_bytes, b"\0")


def descriptor(cid, parent_cid, create_type, line, hint=None):
    text = f'# Disk DescriptorFile\nversion=1\nencoding="UTF-8"\nCID={cid}\nparentCID={parent_cid}\n'
    text += f'createType="{create_type}"\n'
    if hint:
        text += f'parentFileNameHint="{hint}"\n'
    return text + f"\n# Extent description\n{line}\n\n# The Disk Data Base\n#DDB\n\n"


def main(folder):
    d = Path(folder)
    sectors = 49280  # 24 MiB + 64 KiB: 13 COWD tables, 2 SESparse tables (the second partial)
    size = sectors * SECTOR
    base = pattern(size, 1)
    (d / "base-flat.vmdk").write_bytes(base)
    (d / "base.vmdk").write_text(descriptor("0172e8a4", "ffffffff", "vmfs", f'RW {sectors} VMFS "base-flat.vmdk"'))

    # vmfsSparse: single sectors, runs, table boundaries (4095/4096), the last sector, LBA order
    # differing from allocation order.
    c1 = [(5000, pattern(512, 2)), (3, pattern(512, 3))] + [(i, pattern(512, i)) for i in range(100, 140)]
    c1 += [(4095, b"\x41" * 512), (4096, b"\x42" * 512), (sectors - 1, b"\x43" * 512), (99, b"\x44" * 512)]
    c2 = [(3, b"\x51" * 512), (120, b"\x52" * 512), (20000, b"\x53" * 512), (8191, pattern(512, 9))]
    raw = bytearray(base)
    for name, parent, cid, pcid, grains in (("cowd-000001", "base", "8f67ca74", "0172e8a4", c1),
                                            ("cowd-000002", "cowd-000001", "9a0b1c2d", "8f67ca74", c2)):
        (d / f"{name}-delta.vmdk").write_bytes(cowd(sectors, grains))
        (d / f"{name}.vmdk").write_text(descriptor(cid, pcid, "vmfsSparse",
                                                   f'RW {sectors} VMFSSPARSE "{name}-delta.vmdk"', f"{parent}.vmdk"))
        apply(raw, grains, 512)
        (d / f"{name}.raw").write_bytes(raw)

    # seSparse: allocated, zero and unmapped grains, both tables, the last grain.
    s1 = [(4096, pattern(4096, 20)), (0, pattern(4096, 21)), (1, pattern(4096, 22)), (2, "zero"), (3, "unmapped")]
    s1 += [(i, pattern(4096, i)) for i in range(10, 30)] + [(sectors // 8 - 1, b"\x61" * 4096)]
    s2 = [(1, "unmapped"), (4, b"\x71" * 4096), (11, "zero"), (4097, pattern(4096, 30)), (3, b"\x72" * 4096)]
    raw = bytearray(base)
    for name, parent, cid, pcid, grains in (("se-000001", "base", "3729b687", "0172e8a4", s1),
                                            ("se-000002", "se-000001", "4839c798", "3729b687", s2)):
        (d / f"{name}-sesparse.vmdk").write_bytes(sesparse(sectors, grains))
        (d / f"{name}.vmdk").write_text(descriptor(cid, pcid, "seSparse",
                                                   f'RW {sectors} SESPARSE "{name}-sesparse.vmdk"', f"{parent}.vmdk"))
        apply(raw, grains, 4096)
        (d / f"{name}.raw").write_bytes(raw)


if __name__ == "__main__":
    main(sys.argv[1])
