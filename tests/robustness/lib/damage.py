#!/usr/bin/python3
# Robustness driver: makes seeded, damaged copies of a disk (byte flips in sparse headers, grain
# directories and tables, stream markers and footers, descriptors, random places; truncations) and
# runs vmdkit info/chain/map/cat on each. Every run must end with exit 0, or exit 1 with a
# "vmdkit: error:" message: never a signal, a sanitizer report, a timeout or an unbounded allocation.
import argparse
import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import zlib

KDMV = b"KDMV"
SECTOR = 512
COMMANDS = (["info"], ["chain", "--json"], ["map", "--json"], ["cat"])


def is_sanitized(binary):
    if os.environ.get("VMDKIT_SANITIZED") == "1":
        return True
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def sparse_regions(data):
    """Byte ranges worth damaging in a hosted sparse (KDMV) file: header, embedded descriptor,
    both grain directories, the grain tables they point to, and for compressed (stream) files
    the first grain marker, the footer and the end of the stream."""
    regions = []
    headers = [0]
    # streamOptimized with the directory at the end: a footer (a header copy) in the second to
    # last sector, before the end-of-stream marker.
    if len(data) >= 3 * SECTOR and data[-2 * SECTOR:-2 * SECTOR + 4] == KDMV:
        headers.append(len(data) - 2 * SECTOR)
    compressed = False
    for h in headers:
        regions.append(("header", h, h + 79))
        if len(data) < h + 79:
            continue
        (_, _, flags, _, _, desc_off, desc_size, n_gte, rgd, gd, overhead) = struct.unpack_from(
            "<4sIIQQQQIQQQ", data, h)
        compressed = compressed or bool(flags & (1 << 16)) or struct.unpack_from("<H", data, h + 77)[0] != 0
        if 0 < desc_off < len(data) // SECTOR:
            text = data[desc_off * SECTOR:(desc_off + min(desc_size, 64)) * SECTOR]
            end = text.find(b"\0")
            regions.append(("descriptor", desc_off * SECTOR, desc_off * SECTOR + (end if end > 0 else len(text))))
        for name, gd_sector in (("grain directory", gd), ("redundant grain directory", rgd)):
            if gd_sector in (0, 0xFFFFFFFFFFFFFFFF) or gd_sector * SECTOR >= len(data):
                continue
            start = gd_sector * SECTOR
            regions.append((name, start, min(len(data), start + SECTOR)))
            # The grain tables of the first few directory entries.
            for k in range(4):
                if start + 4 * k + 4 > len(data):
                    break
                gt = struct.unpack_from("<I", data, start + 4 * k)[0]
                if 0 < gt and gt * SECTOR < len(data):
                    gt_bytes = n_gte * 4 if 0 < n_gte <= 4096 else 2048
                    regions.append((f"{name} table {k}", gt * SECTOR, min(len(data), gt * SECTOR + gt_bytes)))
        if compressed and 0 < overhead < len(data) // SECTOR:
            regions.append(("first grain marker", overhead * SECTOR, overhead * SECTOR + 64))
    if compressed:
        last = len(data)
        while last > 0 and data[last - 1] == 0:
            last -= 1
        regions.append(("stream tail", max(0, last - 4 * SECTOR), min(len(data), last + SECTOR)))
    return [r for r in regions if r[2] > r[1] and r[1] < len(data)]


def is_text_descriptor(data):
    return data[:4] != KDMV and len(data) < 64 * 1024 and b"createType" in data


def plan_case(rnd, files):
    """One mutation: (kind, file, description, function(bytes)->bytes)."""
    meta = [f for f in files if f[2] is not None]  # (name, size, regions|None)
    name, size, regions = rnd.choice(meta if meta and rnd.random() < 0.85 else files)
    if regions is None or rnd.random() < 0.2:
        # Truncation: a prefix, cut inside metadata or at a random point (also to 0 bytes).
        cut = rnd.choice([0, rnd.randrange(max(1, size)), max(0, size - SECTOR), size // 2,
                          rnd.randrange(min(size, 4 * SECTOR) + 1)])
        return name, f"truncate {name} to {cut:#x} bytes (of {size:#x})", ("truncate", cut)
    pokes = []
    region = rnd.choice(regions) if regions and rnd.random() < 0.8 else ("random", 0, size)
    rname, lo, hi = region
    count = rnd.choice([1, 1, 2, 4, 8])
    for _ in range(count):
        pos = rnd.randrange(lo, hi)
        mode = rnd.random()
        if mode < 0.6:
            pokes.append((pos, bytes([rnd.randrange(1, 256)]), "xor"))
        else:
            # An extreme value over a whole 4- or 8-byte field (aligned like header fields).
            width = rnd.choice([4, 8])
            pos -= pos % width
            val = rnd.choice([b"\xff", b"\x00", b"\x7f", b"\x80"]) * width
            pokes.append((pos, val, "set"))
    desc = ", ".join(f"{kind} {val.hex()} at {pos:#x}" for pos, val, kind in pokes)
    return name, f"{name} {rname}: {desc}", ("poke", pokes)


def apply_case(src_dir, dst_dir, target, action):
    shutil.rmtree(dst_dir, ignore_errors=True)
    os.makedirs(dst_dir)
    for entry in os.listdir(src_dir):
        s, d = os.path.join(src_dir, entry), os.path.join(dst_dir, entry)
        if entry != target:
            os.link(s, d)  # read-only commands never write, so sharing the bytes is safe
            continue
        if action[0] == "truncate":
            with open(s, "rb") as fi, open(d, "wb") as fo:
                fo.write(fi.read(action[1]))
        else:
            with open(s, "rb") as fi:
                data = bytearray(fi.read())
            for pos, val, kind in action[1]:
                for k, b in enumerate(val):
                    if pos + k < len(data):
                        data[pos + k] = data[pos + k] ^ b if kind == "xor" else b
            with open(d, "wb") as fo:
                fo.write(data)


def chain_report_broken(text):
    try:
        return json.loads(text).get("ok") is False
    except ValueError:
        return False


def limit_memory():
    limit = 2 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_case(args, sanitized, work, leaf, tally):
    problems = []
    for cmd in COMMANDS:
        argv = ["timeout", "-s", "KILL", str(args.timeout), args.vmdkit] + cmd + [os.path.join(work, leaf)]
        # Only `chain` output is kept: the others may print GiB (cat) that nobody reads.
        keep_out = cmd[0] == "chain"
        with open(os.path.join(work, "..", "stderr"), "w+b") as err, \
                open(os.path.join(work, "..", "stdout") if keep_out else os.devnull, "w+b") as out:
            rc = subprocess.call(argv, stdout=out, stderr=err,
                                 preexec_fn=None if sanitized else limit_memory)
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
            report = out.read().decode("utf-8", "replace") if keep_out and not out.seek(0) else ""
        if rc in (0, 1):
            tally[rc] += 1
        if rc == 0:
            continue
        if rc == 1 and "vmdkit: error:" in text:
            continue
        # `chain` reports a broken link (a damaged CID, a parent that no longer matches) as data:
        # exit 1 with the report on stdout saying "ok": false.
        if rc == 1 and keep_out and chain_report_broken(report):
            continue
        why = {124: "timeout", 137: "timeout (killed)", -9: "timeout (killed)"}.get(rc, f"exit {rc}")
        problems.append(f"vmdkit {' '.join(cmd)}: {why}; stderr: {text.strip()[:600]}")
    return problems


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vmdkit", required=True)
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--cases", type=int, default=12)
    p.add_argument("--sanitized-cases", type=int, default=None,
                   help="cases when the binary is built with ASan (each run costs ~0.2 s more)")
    p.add_argument("--timeout", type=int, default=20)
    p.add_argument("--work", required=True)
    p.add_argument("disk_dir", help="folder holding the disk's files (and nothing else)")
    p.add_argument("leaf", help="the file to open, inside disk_dir")
    args = p.parse_args()
    sanitized = is_sanitized(args.vmdkit)
    if sanitized and args.sanitized_cases is not None:
        args.cases = args.sanitized_cases
    files = []
    for entry in sorted(os.listdir(args.disk_dir)):
        path = os.path.join(args.disk_dir, entry)
        size = os.path.getsize(path)
        regions = None  # None: a data file (flat extent), only truncated
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
        if head[:4] == KDMV:
            with open(path, "rb") as f:
                regions = sparse_regions(f.read(min(size, 256 << 20))) or None
        elif size == len(head) and is_text_descriptor(head):
            regions = [("descriptor text", 0, size)]
        elif size <= 16 << 20 and entry.endswith(".vmdk"):
            # another binary extent kind (SESparse, ...): its header and anywhere
            regions = [("header", 0, min(size, 4096)), ("random", 0, size)]
        files.append((entry, size, regions))
    # One stream of cases per disk, reproducible from (seed, leaf name).
    rnd = random.Random(args.seed ^ zlib.crc32(args.leaf.encode()))
    failures = 0
    tally = {0: 0, 1: 0}
    for i in range(args.cases):
        target, desc, action = plan_case(rnd, files)
        work = os.path.join(args.work, "case")
        apply_case(args.disk_dir, work, target, action)
        problems = run_case(args, sanitized, work, args.leaf, tally)
        if problems:
            failures += 1
            keep = os.path.join(args.work, f"failed-{args.leaf}-{i}")
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(work, keep)
            print(f"FAIL {args.leaf} case {i} (seed {args.seed}): {desc}  [kept in {keep}]")
            for pr in problems:
                print("    " + pr)
    shutil.rmtree(os.path.join(args.work, "case"), ignore_errors=True)
    print(f"{args.leaf}: {args.cases} damaged copies x {len(COMMANDS)} commands: {tally[0]} exit 0, "
          f"{tally[1]} exit 1, {failures} copies failing"
          f"{' (sanitized build: no ulimit -v)' if sanitized else ''}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
