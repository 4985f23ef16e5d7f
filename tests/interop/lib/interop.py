#!/usr/bin/python3
# Helpers for the interop shell tests: hashing, patterned raw data, and the comparison of
# `vmdkit map --json` with `qemu-img map --output=json` over every byte of a disk.
import argparse
import fcntl
import hashlib
import json
import os
import random
import sys


def sha256_stream(f):
    h = hashlib.sha256()
    buf = bytearray(4 << 20)
    view = memoryview(buf)
    n = 0
    while True:
        got = f.readinto(buf)
        if not got:
            break
        h.update(view[:got])
        n += got
    return h.hexdigest(), n


def cmd_sha256(args):
    if args.file == "-":
        digest, n = sha256_stream(sys.stdin.buffer.raw)
    else:
        with open(args.file, "rb", buffering=0) as f:
            digest, n = sha256_stream(f)
    print(digest, n)


def data_extents(fd, size):
    """[(start, end)] of the parts of a file that are not holes (SEEK_DATA/SEEK_HOLE)."""
    out = []
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:  # ENXIO: only a hole remains
            break
        end = os.lseek(fd, start, os.SEEK_HOLE)
        out.append((start, end))
        pos = end
    return out


def read_pipe(fd, n):
    parts, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def cmd_cmp(args):
    """Byte-for-byte comparison of a (sparse) file with stdin. Reads the pipe in large blocks and
    reads only the file's data, comparing its holes with zeros: cmp(1) reads a pipe 4 KiB at a
    time and every hole byte, which takes minutes on GiB-sized disks."""
    try:
        fcntl.fcntl(0, 1031, 1 << 20)  # F_SETPIPE_SZ: fewer, larger pipe transfers
    except OSError:
        pass
    block = 8 << 20
    fd = os.open(args.file, os.O_RDONLY)
    size = os.fstat(fd).st_size
    extents = data_extents(fd, size)
    pos = 0
    while True:
        got = read_pipe(0, block)
        want = bytearray(min(block, size - pos))
        for start, end in extents:
            lo, hi = max(start, pos), min(end, pos + len(want))
            if lo < hi:
                os.preadv(fd, [memoryview(want)[lo - pos:hi - pos]], lo)
        if got != want:
            n = min(len(got), len(want))
            k = next((i for i in range(n) if got[i] != want[i]), n)
            if k < n:
                what = "bytes differ"
            elif len(got) < len(want):
                what = f"stdin ends there, {args.file} has {size} bytes"
            else:
                what = f"stdin goes on past the end of {args.file}"
            print(f"first difference at byte {pos + k} ({pos + k:#x}): {what}")
            sys.exit(1)
        if not got:
            break
        pos += len(got)
    print(f"same {pos} bytes")


def cmd_sha256_slice(args):
    with open(args.file, "rb") as f:
        f.seek(args.offset)
        data = f.read(args.length)
    print(hashlib.sha256(data).hexdigest(), len(data))


def cmd_pattern(args):
    """A raw file of args.size bytes: runs of patterned bytes (low entropy, so deflate has work to
    do but still shrinks them), all-zero runs that sparse writers must skip, and random bytes."""
    rnd = random.Random(args.seed)
    with open(args.file, "wb") as f:
        pos = 0
        while pos < args.size:
            run = min(args.size - pos, rnd.choice([4096, 65536, 100000, 300000, 1 << 20]))
            kind = rnd.random()
            if kind < 0.3:
                f.write(bytes(run))
            elif kind < 0.8:
                word = rnd.getrandbits(64).to_bytes(8, "little")
                f.write((word * (run // 8 + 1))[:run])
            else:
                f.write(rnd.randbytes(run))
            pos += run


def qemu_ranges(doc):
    for r in doc:
        yield (r["start"], r["length"], {
            "present": r["present"], "zero": r["zero"], "data": r["data"], "depth": r["depth"],
            "offset": r.get("offset")})


def vmdkit_ranges(doc):
    for r in doc["ranges"]:
        off = r.get("offset") if r.get("data") else None
        yield (r["start"], r["length"], {
            "present": r["present"], "zero": r["zero"], "data": r["data"], "depth": r["depth"],
            "offset": off, "file": r.get("file")})


def checked_intervals(name, ranges, capacity):
    """The ranges sorted by start; they must tile [0, capacity) exactly (no gap, no overlap)."""
    out = sorted(ranges, key=lambda r: r[0])
    pos = 0
    for start, length, attrs in out:
        if start != pos or length <= 0:
            raise SystemExit(f"{name}: ranges do not tile the disk at {pos:#x} (next range {start:#x}+{length:#x})")
        pos = start + length
    if pos != capacity:
        raise SystemExit(f"{name}: ranges end at {pos:#x}, capacity is {capacity:#x}")
    return out


def cmd_mapcmp(args):
    with open(args.qemu) as f:
        qdoc = json.load(f)
    with open(args.vmdkit) as f:
        vdoc = json.load(f)
    capacity = vdoc["capacity"]
    q = checked_intervals("qemu-img map", qemu_ranges(qdoc), capacity)
    v = checked_intervals("vmdkit map", vmdkit_ranges(vdoc), capacity)
    # Walk both interval lists together: each step is a piece where neither side changes, so
    # comparing pieces is the same as comparing every byte.
    errors = []
    i = j = 0
    pos = 0
    while pos < capacity:
        qs, ql, qa = q[i]
        vs, vl, va = v[j]
        end = min(qs + ql, vs + vl)
        for key in ("present", "data", "depth"):
            if qa[key] != va[key]:
                errors.append(f"[{pos:#x}, {end:#x}): {key}: qemu-img {qa[key]}, vmdkit {va[key]}")
        # qemu-img asks the host file system about holes inside FLAT extents and reports them as
        # data+zero; sparse extents never give data+zero there, so only that case is relaxed.
        if qa["zero"] != va["zero"] and not (qa["data"] and qa["zero"]):
            errors.append(f"[{pos:#x}, {end:#x}): zero: qemu-img {qa['zero']}, vmdkit {va['zero']}")
        # qemu-img gives the host offset of uncompressed data; vmdkit must name the same bytes.
        if args.offsets and qa["offset"] is not None and qa["data"]:
            qoff = qa["offset"] + (pos - qs)
            voff = None if va["offset"] is None else va["offset"] + (pos - vs)
            if qoff != voff:
                errors.append(f"[{pos:#x}, {end:#x}): host offset: qemu-img {qoff:#x}, vmdkit {voff if voff is None else hex(voff)}")
        if args.layers is not None and va["data"]:
            want = args.layers[va["depth"]] if va["depth"] < len(args.layers) else None
            if want is not None and va["file"] is not None and not va["file"].endswith(want):
                errors.append(f"[{pos:#x}, {end:#x}): depth {va['depth']} data names file {va['file']}, expected *{want}")
        pos = end
        if pos == qs + ql:
            i += 1
        if pos == vs + vl:
            j += 1
    if errors:
        print(f"map mismatch ({len(errors)} pieces):", file=sys.stderr)
        for e in errors[:40]:
            print("  " + e, file=sys.stderr)
        sys.exit(1)
    print(f"map agrees: {len(q)} qemu-img ranges, {len(v)} vmdkit ranges, {capacity} bytes")


def cmd_pyvmdk_sha256(args):
    import pyvmdk  # Debian's python3-libvmdk; loads in the system interpreter only
    handles = []
    for path in args.images:  # leaf first, then each parent
        h = pyvmdk.handle()
        h.open(path)
        h.open_extent_data_files()
        handles.append(h)
    for child, parent in zip(handles, handles[1:]):
        child.set_parent(parent)
    top = handles[0]
    size = top.get_media_size()
    h = hashlib.sha256()
    pos = 0
    while pos < size:
        n = min(size - pos, 8 << 20)
        data = top.read_buffer_at_offset(n, pos)
        if len(data) != n:
            raise SystemExit(f"pyvmdk: short read at {pos:#x}")
        h.update(data)
        pos += n
    print(h.hexdigest(), size)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sha256")
    s.add_argument("file")
    s.set_defaults(func=cmd_sha256)
    s = sub.add_parser("cmp")
    s.add_argument("file")
    s.set_defaults(func=cmd_cmp)
    s = sub.add_parser("sha256-slice")
    s.add_argument("file")
    s.add_argument("offset", type=int)
    s.add_argument("length", type=int)
    s.set_defaults(func=cmd_sha256_slice)
    s = sub.add_parser("pattern")
    s.add_argument("file")
    s.add_argument("size", type=int)
    s.add_argument("--seed", type=int, default=1)
    s.set_defaults(func=cmd_pattern)
    s = sub.add_parser("mapcmp")
    s.add_argument("qemu")
    s.add_argument("vmdkit")
    s.add_argument("--offsets", action="store_true", help="also compare host offsets of data")
    s.add_argument("--layers", type=lambda x: x.split(","), default=None,
                   help="file names by depth; data ranges must name the file of their depth")
    s.set_defaults(func=cmd_mapcmp)
    s = sub.add_parser("pyvmdk-sha256")
    s.add_argument("images", nargs="+")
    s.set_defaults(func=cmd_pyvmdk_sha256)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
