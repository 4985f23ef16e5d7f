#!/usr/bin/python3
# vmdkit benchmark driver and data generator (not part of the test run). Builds, with qemu-img and
# qemu-io, a 1 GiB chain of depth 9 (base: half its grains written; 8 deltas: 5% each) and two
# chains with the same content at depth 2 and 33, then times, in the same run:
#   vmdkit convert --to raw   vs  qemu-img convert -O raw     (depth-9 chain)
#   vmdkit cat (depth 33)     vs  vmdkit cat (depth 2)
#   vmdkit convert --to streamOptimized  vs  qemu-img convert -O vmdk -o subformat=streamOptimized
#   vmdkit consolidate d9-000008.vmdk    vs  qemu-img commit -b base.vmdk d9-000008.vmdk
#     (each on its own copy of the depth-9 chain, made before every run and not timed)
# Goals: issue 2: vmdkit >= 2x faster than qemu-img to raw; depth 33 <= 1.2x depth 2.
#        issue 3: streamOptimized export >= 2.5x faster than qemu-img, output <= 3% larger.
#        issue 4: consolidate >= 2x faster than qemu-img commit, base file size <= 2% larger.
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

GRAIN = 64 * 1024
DISK = 1 << 30
GRAINS = DISK // GRAIN
SOURCES = 16


def semi_compressible(rnd, size):
    """Half of every 4 KiB block random, half a repeated short phrase: deflate gets about 2:1."""
    out = bytearray()
    while len(out) < size:
        out += rnd.randbytes(2048)
        phrase = rnd.randbytes(rnd.choice([4, 8, 16, 61]))
        out += (phrase * (2048 // len(phrase) + 1))[:2048]
    return bytes(out[:size])


def run(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def qemu_write(img, writes, sources):
    """writes: [(grain index, source index)], written in LBA order in one qemu-io session."""
    script = "".join(f"write -s {sources[s]} {g * GRAIN} {GRAIN}\n" for g, s in sorted(writes))
    run(["qemu-io", "-f", "vmdk", "-t", "unsafe", img], input=script.encode(), stdout=subprocess.DEVNULL)


def make_delta(work, parent, child):
    run(["qemu-img", "create", "-q", "-f", "vmdk", "-b", parent, "-F", "vmdk", child], cwd=work)


def build(work, seed):
    os.makedirs(work, exist_ok=True)
    stamp = os.path.join(work, f"built-{seed}")
    if os.path.exists(stamp):
        return
    for entry in os.listdir(work):
        os.remove(os.path.join(work, entry))
    rnd = random.Random(seed)
    sources = []
    for k in range(SOURCES):
        path = os.path.join(work, f"src{k}.bin")
        with open(path, "wb") as f:
            f.write(semi_compressible(rnd, GRAIN))
        sources.append(path)
    pick = lambda fraction: [(g, rnd.randrange(SOURCES)) for g in rnd.sample(range(GRAINS), int(GRAINS * fraction))]

    print("bench: base, 1 GiB, half its grains written", flush=True)
    run(["qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicSparse", "base.vmdk", "1G"], cwd=work)
    qemu_write(os.path.join(work, "base.vmdk"), pick(0.5), sources)

    print("bench: depth-9 chain: 8 deltas with 5% of the grains each", flush=True)
    parent = "base.vmdk"
    for i in range(1, 9):
        child = f"d9-{i:06d}.vmdk"
        make_delta(work, parent, child)
        qemu_write(os.path.join(work, child), pick(0.05), sources)
        parent = child

    print("bench: depth-33 chain (32 deltas, 1% each) and depth-2 chain with the same content", flush=True)
    final = {}
    parent = "base.vmdk"
    for i in range(1, 33):
        child = f"d33-{i:06d}.vmdk"
        make_delta(work, parent, child)
        writes = pick(0.01)
        qemu_write(os.path.join(work, child), writes, sources)
        final.update(dict(writes))  # the topmost write of a grain wins
        parent = child
    make_delta(work, "base.vmdk", "d2-000001.vmdk")
    qemu_write(os.path.join(work, "d2-000001.vmdk"), list(final.items()), sources)
    open(stamp, "w").close()


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def timed(argv, cold, stdout=subprocess.DEVNULL, cwd=None):
    if cold:
        drop_caches()
    t0 = time.perf_counter()
    run(argv, stdout=stdout, cwd=cwd)
    return time.perf_counter() - t0


D9_FILES = ["base.vmdk"] + [f"d9-{i:06d}.vmdk" for i in range(1, 9)]


def allocated(path):
    return int(subprocess.run(["du", "-B1", path], capture_output=True, text=True, check=True).stdout.split()[0])


def consolidate_once(vmdkit, work, scratch, cold, baseline=None):
    """One timed run of each merger of the depth-9 chain into its base, each on a fresh copy of the
    chain (copying is not timed), then both bases checked against the original leaf. Returns
    (qemu seconds, vmdkit seconds, {"qemu"|"vmdkit": (file size, allocated bytes) of the base},
    baseline vmdkit seconds or None)."""
    dirs = {"qemu": os.path.join(scratch, "qemu"), "vmdkit": os.path.join(scratch, "vmdkit")}
    if baseline:
        dirs["baseline"] = os.path.join(scratch, "baseline")
    for d in dirs.values():
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name in D9_FILES:  # real copies: both tools write the base in place
            run(["cp", "--sparse=always", os.path.join(work, name), os.path.join(d, name)])
    # The copies' dirty pages are written back now, untimed: otherwise the first consolidate's fsync
    # would pay for writing back every copy (the order of the runs decided who paid).
    os.sync()
    # qemu-img commit -b BASE: the whole chain down to BASE in one go (-b implies -d: the layers
    # above are left as they are, not emptied; vmdkit removes them, which is part of its time).
    t_q = timed(["qemu-img", "commit", "-q", "-f", "vmdk", "-b", "base.vmdk", "d9-000008.vmdk"], cold, cwd=dirs["qemu"])
    # Each timed run starts with nothing dirty: qemu-img does not fsync, and the writeback of its
    # 683 MiB would otherwise land on the fsyncs of whichever vmdkit runs next.
    os.sync()
    t_v = timed([vmdkit, "consolidate", "d9-000008.vmdk", "-q"], cold, cwd=dirs["vmdkit"])
    t_b = None
    if baseline:
        os.sync()
        t_b = timed([baseline, "consolidate", "d9-000008.vmdk", "-q"], cold, cwd=dirs["baseline"])
    leaf = os.path.join(work, "d9-000008.vmdk")
    sizes = {}
    for who, d in dirs.items():
        base = os.path.join(d, "base.vmdk")
        run([vmdkit, "compare", base, leaf], stdout=subprocess.DEVNULL)  # exit 1 (different) raises
        sizes[who] = (os.path.getsize(base), allocated(base))
    for who in ("vmdkit", "baseline") if baseline else ("vmdkit",):
        left = sorted(os.listdir(dirs[who]))
        if left != ["base.vmdk"]:
            raise SystemExit(f"bench: {who} consolidate left {left}")
    return t_q, t_v, sizes, t_b


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vmdkit", required=True)
    p.add_argument("--work", required=True, help="folder for the chains (kept between runs)")
    p.add_argument("--out", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                   help="folder for the raw outputs (default /dev/shm: times reading, not the disk)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scratch", default=f"/tmp/vmdkit-bench-scratch-{os.getpid()}",
                   help="folder for the copies of the chain that consolidate and qemu-img commit modify "
                        "(its qemu/ and vmdkit/ subfolders are removed at the end)")
    p.add_argument("--baseline", help="an older vmdkit binary: every vmdkit command is also timed with it, "
                                      "interleaved, and the new/old ratio of the medians is printed")
    p.add_argument("--cases", default="raw,depth,stream,consolidate",
                   help="comma-separated subset of: raw (convert to raw), depth (cat 33 vs 2), stream, "
                        "consolidate (vmdkit consolidate vs qemu-img commit)")
    args = p.parse_args()
    cases = set(args.cases.split(","))
    work = os.path.abspath(args.work)
    args.vmdkit = os.path.abspath(args.vmdkit)  # some cases run in scratch folders
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)
    out_dir = args.out or work
    build(work, args.seed)
    d9 = os.path.join(work, "d9-000008.vmdk")
    d33 = os.path.join(work, "d33-000032.vmdk")
    d2 = os.path.join(work, "d2-000001.vmdk")
    can_drop = drop_caches()
    print(f"bench: nproc {os.cpu_count()}; page cache: "
          f"{'cold (dropped before every run) and warm' if can_drop else 'warm only (drop_caches not permitted here)'}")

    # Same bytes first: both converters, and the two same-content chains.
    out_q, out_v = os.path.join(out_dir, "bench-qemu.raw"), os.path.join(out_dir, "bench-vmdkit.raw")
    if cases & {"raw", "stream"}:
        run(["qemu-img", "convert", "-f", "vmdk", "-O", "raw", d9, out_q])
        run([args.vmdkit, "convert", d9, out_v, "--to", "raw", "-q"])
        run([args.vmdkit, "compare", out_q, out_v], stdout=subprocess.DEVNULL)
    if "depth" in cases:
        run([args.vmdkit, "compare", d33, d2], stdout=subprocess.DEVNULL)
    sq, sv = os.path.join(out_dir, "bench-qemu-stream.vmdk"), os.path.join(out_dir, "bench-vmdkit-stream.vmdk")
    if "stream" in cases:
        run(["qemu-img", "convert", "-f", "vmdk", "-O", "vmdk", "-o", "subformat=streamOptimized", d9, sq])
        run([args.vmdkit, "convert", d9, sv, "--to", "streamOptimized", "-q"])
        run([args.vmdkit, "compare", sv, out_q], stdout=subprocess.DEVNULL)
        run(["qemu-img", "compare", "-f", "vmdk", "-F", "raw", sv, out_q], stdout=subprocess.DEVNULL)
    if cases & {"raw", "stream"}:
        print(f"bench: outputs identical; depth-9 chain 1 GiB virtual, "
              f"{allocated(out_v) / 2**20:.0f} MiB of data in the raw output")

    ok = True
    for cold in ([True, False] if can_drop else [False]):
        conv_q, conv_v, cat33, cat2, str_q, str_v, com_q, com_v = [], [], [], [], [], [], [], []
        # The baseline's times of the same commands, each run right after the new binary's.
        old = {"raw": [], "cat33": [], "cat2": [], "stream": [], "consolidate": []}
        base_timed = lambda key, argv: old[key].append(timed([args.baseline] + argv, cold)) if args.baseline else None
        com_sizes = None
        if not cold and "depth" in cases:
            # Untimed first reads: the cold phase ends with the page cache dropped, and the first
            # read of a file decides the size of its page-cache folios, which later reads pay for.
            for _ in range(2):
                timed([args.vmdkit, "cat", d33], False)
                timed([args.vmdkit, "cat", d2], False)
        for _ in range(args.reps):  # interleaved, so drift in the machine's load hits both sides
            for path in (out_q, out_v, sq, sv, out_v + ".old", sv + ".old"):
                if os.path.exists(path):
                    os.remove(path)
            if "raw" in cases:
                conv_q.append(timed(["qemu-img", "convert", "-f", "vmdk", "-O", "raw", d9, out_q], cold))
                conv_v.append(timed([args.vmdkit, "convert", d9, out_v, "--to", "raw", "-q"], cold))
                base_timed("raw", ["convert", d9, out_v + ".old", "--to", "raw", "-q"])
            if "depth" in cases:
                cat33.append(timed([args.vmdkit, "cat", d33], cold))
                base_timed("cat33", ["cat", d33])
                cat2.append(timed([args.vmdkit, "cat", d2], cold))
                base_timed("cat2", ["cat", d2])
            if "stream" in cases:
                str_q.append(timed(["qemu-img", "convert", "-f", "vmdk", "-O", "vmdk", "-o",
                                    "subformat=streamOptimized", d9, sq], cold))
                str_v.append(timed([args.vmdkit, "convert", d9, sv, "--to", "streamOptimized", "-q"], cold))
                base_timed("stream", ["convert", d9, sv + ".old", "--to", "streamOptimized", "-q"])
            if "consolidate" in cases:
                t_q, t_v, com_sizes, t_b = consolidate_once(args.vmdkit, work, args.scratch, cold, args.baseline)
                com_q.append(t_q)
                com_v.append(t_v)
                if t_b is not None:
                    old["consolidate"].append(t_b)
        med = statistics.median
        fmt = lambda xs: f"{med(xs):.3f} s (min {min(xs):.3f}, max {max(xs):.3f})"
        print()
        print(f"{'COLD' if cold else 'WARM'} page cache, {args.reps} runs each, median")
        if "raw" in cases:
            speedup = med(conv_q) / med(conv_v)
            ok = ok and speedup >= 2
            print(f"  qemu-img convert -O raw (depth 9)  {fmt(conv_q)}")
            print(f"  vmdkit convert --to raw (depth 9)  {fmt(conv_v)}")
            print(f"  speed-up vs qemu-img               {speedup:.2f}x   (goal >= 2x: {'met' if speedup >= 2 else 'MISSED'})")
        if "depth" in cases:
            depth_cost = med(cat33) / med(cat2)
            ok = ok and depth_cost <= 1.2
            print(f"  vmdkit cat > /dev/null, depth 33   {fmt(cat33)}")
            print(f"  vmdkit cat > /dev/null, depth 2    {fmt(cat2)}")
            print(f"  depth 33 / depth 2                 {depth_cost:.2f}x   (goal <= 1.2x: {'met' if depth_cost <= 1.2 else 'MISSED'})")
        if "stream" in cases:
            speedup = med(str_q) / med(str_v)
            size_q, size_v = os.path.getsize(sq), os.path.getsize(sv)
            growth = size_v / size_q - 1
            ok = ok and speedup >= 2.5 and growth <= 0.03
            print(f"  qemu-img -> streamOptimized        {fmt(str_q)}, {size_q / 2**20:.1f} MiB")
            print(f"  vmdkit -> streamOptimized          {fmt(str_v)}, {size_v / 2**20:.1f} MiB")
            print(f"  speed-up vs qemu-img               {speedup:.2f}x   (goal >= 2.5x: {'met' if speedup >= 2.5 else 'MISSED'})")
            print(f"  output size vs qemu-img            {growth * 100:+.1f}%   (goal <= +3%: {'met' if growth <= 0.03 else 'MISSED'})")
        if "consolidate" in cases:
            speedup = med(com_q) / med(com_v)
            (file_q, alloc_q), (file_v, alloc_v) = com_sizes["qemu"], com_sizes["vmdkit"]
            growth, alloc_growth = file_v / file_q - 1, alloc_v / alloc_q - 1
            ok = ok and speedup >= 2 and growth <= 0.02
            print(f"  qemu-img commit -b base (depth 9)  {fmt(com_q)}")
            print(f"  vmdkit consolidate (depth 9)       {fmt(com_v)}")
            print(f"  speed-up vs qemu-img               {speedup:.2f}x   (goal >= 2x: {'met' if speedup >= 2 else 'MISSED'})")
            print(f"  base after, qemu-img commit        file {file_q / 2**20:.1f} MiB, allocated (du -B1) {alloc_q / 2**20:.1f} MiB")
            print(f"  base after, vmdkit consolidate     file {file_v / 2**20:.1f} MiB, allocated (du -B1) {alloc_v / 2**20:.1f} MiB")
            print(f"  base file size vs qemu-img         {growth * 100:+.1f}%   (goal <= +2% on the file size: "
                  f"{'met' if growth <= 0.02 else 'MISSED'}; allocated {alloc_growth * 100:+.1f}%)")
            print(f"  both bases read as the original leaf (vmdkit compare)")
        if args.baseline:
            print(f"  new / baseline ({args.baseline}), medians, interleaved:")
            for key, new in (("raw", conv_v), ("cat33", cat33), ("cat2", cat2), ("stream", str_v),
                             ("consolidate", com_v)):
                if old[key]:
                    print(f"    {key:12s} new {fmt(new)}  old {fmt(old[key])}  ratio {med(new) / med(old[key]):.3f}")
    for path in (out_q, out_v, sq, sv, out_v + ".old", sv + ".old"):
        if os.path.exists(path):
            os.remove(path)
    for sub in ("qemu", "vmdkit", "baseline"):  # only what consolidate_once made: --scratch may be a shared folder
        shutil.rmtree(os.path.join(args.scratch, sub), ignore_errors=True)
    if os.path.isdir(args.scratch) and not os.listdir(args.scratch):
        os.rmdir(args.scratch)
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
