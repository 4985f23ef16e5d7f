#!/usr/bin/python3
# vmdkit benchmark driver and data generator (not part of the test run). Builds, with qemu-img and
# qemu-io, a 1 GiB chain of depth 9 (base: half its grains written; 8 deltas: 5% each) and two
# chains with the same content at depth 2 and 33, and with vmdkit an 8 GiB vmfsThin disk holding
# 1 MiB; then times in one run, vmdkit and the other tool interleaved rep by rep, with the page cache
# cold (dropped before every run, where /proc/sys/vm/drop_caches is writable) and warm. Outputs go to
# --out, by default the work folder (the inputs' file system: what users see); --shm repeats the
# cases that write with outputs in /dev/shm as a second column (times reading, not the disk).
# Before every timed run that writes, the dirty pages of earlier runs are written back, untimed.
# Cases (--cases, comma-separated; default all):
#   raw          vmdkit convert --to raw  vs  qemu-img convert -O raw  vs  cp of that raw export (read
#                from the page cache) to a new file beside it, the limit "writing the bytes";
#                and vmdkit convert --to raw --sync  vs  qemu-img convert -O raw + sync of the file
#                (and its folder: `sync FILE DIR`, not a machine-wide sync that would pay for other
#                programs' writeback). Issue 16 goal: >= 3x qemu-img warm, >= 2x cold, or within
#                1.2x of cp, whichever is reached first; --sync no slower than qemu-img + sync.
#   thin         8 GiB vmfsThin (vmdkit create --type vmfsThin + vmdkit write of 1 MiB: the flat file
#                is sparse) to monolithicSparse and to raw, vmdkit vs qemu-img. Goal: <= 2x qemu-img.
#   depth        vmdkit cat of the depth-33 chain vs the depth-2 chain. Goal: <= 1.15x.
#   stream       vmdkit convert --to streamOptimized  vs  qemu-img convert -O vmdk -o
#                subformat=streamOptimized; also CPU time / wall time of each (vmdkit's goal >= 1.8:
#                both cores busy). Goal: >= 4x qemu-img, output <= 3% larger.
#   consolidate  vmdkit consolidate d9-000008.vmdk  vs  qemu-img commit -b base.vmdk d9-000008.vmdk,
#                each on its own copy of the depth-9 chain (made before every run, not timed). Goal:
#                >= 3x qemu-img commit, base file <= 2% larger.
# Every case prints the median wall time, the ratio its goal is about, and each command's peak RSS
# (ru_maxrss from wait4, as /usr/bin/time -v reports it). --baseline OLD_BINARY times every vmdkit
# command with an older binary too, interleaved, and prints the new/old ratio of the medians.
import argparse
import collections
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
THIN_DISK = 8 << 30
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
        path = os.path.join(work, entry)
        shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
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


def build_thin(vmdkit, work):
    """The 8 GiB vmfsThin disk with 1 MiB written at 1 GiB, made by vmdkit (its flat file is sparse)."""
    thin = os.path.join(work, "thin8.vmdk")
    if not os.path.exists(thin):
        print("bench: 8 GiB vmfsThin disk, 1 MiB written", flush=True)
        run([vmdkit, "create", "--type", "vmfsThin", "--size", "8G", "--seed", "1", "-q", thin])
        run([vmdkit, "write", thin, "--offset", "1G", "--length", "1M", "--pattern", "0x5a"],
            stdout=subprocess.DEVNULL)
    return thin


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


# One run of one command: wall seconds, CPU seconds (user + system of the command and its threads),
# peak resident set in bytes (ru_maxrss of the process, what /usr/bin/time -v prints).
Sample = collections.namedtuple("Sample", "wall cpu rss")


GNU_TIME = "/usr/bin/time"


def timed(argv, cold, stdout=subprocess.DEVNULL, cwd=None, then=None):
    """Runs argv (then the command `then`, inside the same timing: `sync FILE` after qemu-img).
    Linux keeps ru_maxrss across exec, so a child forked from this Python would report Python's own
    size: GNU time (small) runs the command and reports its peak RSS and CPU times."""
    if cold:
        drop_caches()
    usage_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"vmdkit-bench-usage-{os.getpid()}")
    wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", usage_file] + argv if os.access(GNU_TIME, os.X_OK) else argv
    t0 = time.perf_counter()
    proc = subprocess.Popen(wrapped, stdout=stdout, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), argv)
    if then:
        run(then, cwd=cwd)
    wall = time.perf_counter() - t0
    if wrapped is argv:
        return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)
    with open(usage_file) as f:
        rss_kib, user, system = f.read().split()[-3:]
    os.remove(usage_file)
    return Sample(wall, float(user) + float(system), int(rss_kib) * 1024)


def timed_write(argv, cold, output, cwd=None, then=None):
    """A run that writes output: the file of an earlier run is removed and every dirty page written
    back first, untimed, so that no run pays for another's writeback."""
    for path in (output if isinstance(output, list) else [output]):
        if os.path.exists(path):
            os.remove(path)
    os.sync()
    return timed(argv, cold, cwd=cwd, then=then)


D9_FILES = ["base.vmdk"] + [f"d9-{i:06d}.vmdk" for i in range(1, 9)]


def allocated(path):
    return int(subprocess.run(["du", "-B1", path], capture_output=True, text=True, check=True).stdout.split()[0])


def consolidate_once(vmdkit, work, scratch, cold, baseline=None):
    """One timed run of each merger of the depth-9 chain into its base, each on a fresh copy of the
    chain (copying is not timed), then both bases checked against the original leaf. Returns
    (qemu Sample, vmdkit Sample, {"qemu"|"vmdkit": (file size, allocated bytes) of the base},
    baseline vmdkit Sample or None)."""
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


med = statistics.median


def fmt(samples):
    walls = [s.wall for s in samples]
    return f"{med(walls):.3f} s (min {min(walls):.3f}, max {max(walls):.3f})"


def peak_rss(samples):
    return f"peak RSS {max(s.rss for s in samples) / 2**20:.0f} MiB"


def wall(samples):
    return med([s.wall for s in samples])


def cpu_per_wall(samples):
    return med([s.cpu / s.wall for s in samples])


def verdict(met):
    return "met" if met else "MISSED"


class Runs:
    """The samples of one page-cache phase: runs[label] for every command, and old[label] for the
    --baseline binary's run of the same vmdkit command (made right after it)."""

    def __init__(self, baseline):
        self.baseline = baseline
        self.runs = collections.defaultdict(list)
        self.old = collections.defaultdict(list)

    def add(self, label, sample):
        self.runs[label].append(sample)

    def vmdkit(self, label, vmdkit, argv, cold, output, cwd=None):
        """vmdkit argv writing output; with --baseline the old binary runs next (output + '.old')."""
        outs = output if isinstance(output, list) else [output]
        self.add(label, timed_write([vmdkit] + argv, cold, outs, cwd=cwd))
        if self.baseline:
            old_argv = [a + ".old" if a in outs else a for a in argv]
            self.old[label].append(timed_write([self.baseline] + old_argv, cold, [o + ".old" for o in outs], cwd=cwd))

    def line(self, label, text):
        print(f"  {text:44s} {fmt(self.runs[label])}, {peak_rss(self.runs[label])}")


def warm_file(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def rep_raw(r, vmdkit, d9, out, cold, tag):
    """One rep of the raw case with outputs in folder out."""
    q, v, c = os.path.join(out, "bench-qemu.raw"), os.path.join(out, "bench-vmdkit.raw"), os.path.join(out, "bench-cp.raw")
    r.add(f"raw-q{tag}", timed_write(["qemu-img", "convert", "-f", "vmdk", "-O", "raw", d9, q], cold, q))
    r.vmdkit(f"raw-v{tag}", vmdkit, ["convert", d9, v, "--to", "raw", "-q"], cold, v)
    warm_file(q)  # cp reads the raw export from the page cache: only writing the bytes is timed
    r.add(f"raw-cp{tag}", timed_write(["cp", q, c], False, c))
    r.add(f"raw-qs{tag}", timed_write(["qemu-img", "convert", "-f", "vmdk", "-O", "raw", d9, q], cold, q,
                                      then=["sync", q, out]))
    r.vmdkit(f"raw-vs{tag}", vmdkit, ["convert", d9, v, "--to", "raw", "--sync", "-q"], cold, v)


def report_raw(r, cold, tag, where):
    print(f"  raw export of the depth-9 chain, outputs in {where}")
    r.line(f"raw-q{tag}", "qemu-img convert -O raw")
    r.line(f"raw-v{tag}", "vmdkit convert --to raw")
    r.line(f"raw-cp{tag}", "cp of the raw export (from page cache)")
    vs_q = wall(r.runs[f"raw-q{tag}"]) / wall(r.runs[f"raw-v{tag}"])
    vs_cp = wall(r.runs[f"raw-v{tag}"]) / wall(r.runs[f"raw-cp{tag}"])
    need = 2 if cold else 3
    met = vs_q >= need or vs_cp <= 1.2
    print(f"  speed-up vs qemu-img {vs_q:.2f}x, vmdkit / cp {vs_cp:.2f}x   "
          f"(goal >= {need}x qemu-img or <= 1.2x cp: {verdict(met)})")
    r.line(f"raw-qs{tag}", "qemu-img convert -O raw + sync FILE DIR")
    r.line(f"raw-vs{tag}", "vmdkit convert --to raw --sync")
    synced = wall(r.runs[f"raw-vs{tag}"]) / wall(r.runs[f"raw-qs{tag}"])
    print(f"  vmdkit --sync / (qemu-img + sync) {synced:.2f}x   (goal <= 1x: {verdict(synced <= 1)})")
    return met and synced <= 1


def rep_thin(r, vmdkit, thin, out, cold):
    for to, qemu_to in (("monolithicSparse", ["-O", "vmdk", "-o", "subformat=monolithicSparse"]),
                        ("raw", ["-O", "raw"])):
        q, v = os.path.join(out, f"bench-thin-qemu.{to}"), os.path.join(out, f"bench-thin-vmdkit.{to}")
        r.add(f"thin-q-{to}", timed_write(["qemu-img", "convert", "-f", "vmdk"] + qemu_to + [thin, q], cold, q))
        r.vmdkit(f"thin-v-{to}", vmdkit, ["convert", thin, v, "--to", to, "-q"], cold, v)


def report_thin(r):
    ok = True
    for to in ("monolithicSparse", "raw"):
        print(f"  8 GiB vmfsThin holding 1 MiB to {to}")
        r.line(f"thin-q-{to}", "qemu-img convert")
        r.line(f"thin-v-{to}", "vmdkit convert")
        ratio = wall(r.runs[f"thin-v-{to}"]) / wall(r.runs[f"thin-q-{to}"])
        ok = ok and ratio <= 2
        print(f"  vmdkit / qemu-img {ratio:.2f}x   (goal <= 2x: {verdict(ratio <= 2)})")
    return ok


def rep_depth(r, vmdkit, d33, d2, cold):
    r.add("cat33", timed([vmdkit, "cat", d33], cold))
    if r.baseline:
        r.old["cat33"].append(timed([r.baseline, "cat", d33], cold))
    r.add("cat2", timed([vmdkit, "cat", d2], cold))
    if r.baseline:
        r.old["cat2"].append(timed([r.baseline, "cat", d2], cold))


def report_depth(r):
    r.line("cat33", "vmdkit cat > /dev/null, depth 33")
    r.line("cat2", "vmdkit cat > /dev/null, depth 2")
    cost = wall(r.runs["cat33"]) / wall(r.runs["cat2"])
    print(f"  depth 33 / depth 2 {cost:.2f}x   (goal <= 1.15x: {verdict(cost <= 1.15)})")
    return cost <= 1.15


def rep_stream(r, vmdkit, d9, out, cold, tag):
    q, v = os.path.join(out, "bench-qemu-stream.vmdk"), os.path.join(out, "bench-vmdkit-stream.vmdk")
    r.add(f"stream-q{tag}", timed_write(["qemu-img", "convert", "-f", "vmdk", "-O", "vmdk", "-o",
                                         "subformat=streamOptimized", d9, q], cold, q))
    r.vmdkit(f"stream-v{tag}", vmdkit, ["convert", d9, v, "--to", "streamOptimized", "-q"], cold, v)


def report_stream(r, out, tag, where):
    q, v = os.path.join(out, "bench-qemu-stream.vmdk"), os.path.join(out, "bench-vmdkit-stream.vmdk")
    print(f"  streamOptimized export of the depth-9 chain, outputs in {where}")
    r.line(f"stream-q{tag}", "qemu-img -> streamOptimized")
    r.line(f"stream-v{tag}", "vmdkit -> streamOptimized")
    speedup = wall(r.runs[f"stream-q{tag}"]) / wall(r.runs[f"stream-v{tag}"])
    busy_v, busy_q = cpu_per_wall(r.runs[f"stream-v{tag}"]), cpu_per_wall(r.runs[f"stream-q{tag}"])
    growth = os.path.getsize(v) / os.path.getsize(q) - 1
    print(f"  speed-up vs qemu-img {speedup:.2f}x   (goal >= 4x: {verdict(speedup >= 4)})")
    print(f"  CPU time / wall time: vmdkit {busy_v:.2f}, qemu-img {busy_q:.2f}   "
          f"(goal >= 1.8 on a quiet machine: {verdict(busy_v >= 1.8)})")
    print(f"  output size vs qemu-img {growth * 100:+.1f}%   (goal <= +3%: {verdict(growth <= 0.03)})")
    return speedup >= 4 and growth <= 0.03


def report_consolidate(r, sizes):
    r.line("com-q", "qemu-img commit -b base (depth 9)")
    r.line("com-v", "vmdkit consolidate (depth 9)")
    speedup = wall(r.runs["com-q"]) / wall(r.runs["com-v"])
    (file_q, alloc_q), (file_v, alloc_v) = sizes["qemu"], sizes["vmdkit"]
    growth, alloc_growth = file_v / file_q - 1, alloc_v / alloc_q - 1
    print(f"  speed-up vs qemu-img {speedup:.2f}x   (goal >= 3x: {verdict(speedup >= 3)})")
    print(f"  base after: qemu-img file {file_q / 2**20:.1f} MiB, allocated {alloc_q / 2**20:.1f} MiB; "
          f"vmdkit file {file_v / 2**20:.1f} MiB, allocated {alloc_v / 2**20:.1f} MiB")
    print(f"  base file size vs qemu-img {growth * 100:+.1f}%   (goal <= +2%: {verdict(growth <= 0.02)}; "
          f"allocated {alloc_growth * 100:+.1f}%); both bases read as the original leaf")
    return speedup >= 3 and growth <= 0.02


def check_outputs(args, cases, work, outs):
    """Same bytes first: both converters of each case, and the two same-content chains."""
    d9, out = os.path.join(work, "d9-000008.vmdk"), outs[0][0]
    ref = os.path.join(out, "bench-qemu.raw")
    if cases & {"raw", "stream"}:
        run(["qemu-img", "convert", "-f", "vmdk", "-O", "raw", d9, ref])
        mine = os.path.join(out, "bench-vmdkit.raw")
        run([args.vmdkit, "convert", d9, mine, "--to", "raw", "-q"])
        run([args.vmdkit, "compare", ref, mine], stdout=subprocess.DEVNULL)
        print(f"bench: raw outputs identical; {allocated(mine) / 2**20:.0f} MiB of data in the raw export")
        os.remove(mine)
    if "stream" in cases:
        sv = os.path.join(out, "bench-vmdkit-stream.vmdk")
        run([args.vmdkit, "convert", d9, sv, "--to", "streamOptimized", "-q"])
        run([args.vmdkit, "compare", sv, ref], stdout=subprocess.DEVNULL)
        run(["qemu-img", "compare", "-f", "vmdk", "-F", "raw", sv, ref], stdout=subprocess.DEVNULL)
        os.remove(sv)
    if "depth" in cases:
        run([args.vmdkit, "compare", os.path.join(work, "d33-000032.vmdk"), os.path.join(work, "d2-000001.vmdk")],
            stdout=subprocess.DEVNULL)
    if "thin" in cases:
        thin, tv = os.path.join(work, "thin8.vmdk"), os.path.join(out, "bench-thin-check.vmdk")
        run([args.vmdkit, "convert", thin, tv, "--to", "monolithicSparse", "-q"])
        run(["qemu-img", "compare", "-f", "vmdk", "-F", "vmdk", thin, tv], stdout=subprocess.DEVNULL)
        os.remove(tv)


def phase(args, cases, work, outs, cold):
    """Every rep of every case in one page-cache state, interleaved; prints the report."""
    d9 = os.path.join(work, "d9-000008.vmdk")
    d33, d2 = os.path.join(work, "d33-000032.vmdk"), os.path.join(work, "d2-000001.vmdk")
    r = Runs(args.baseline)
    sizes = None
    if not cold and "depth" in cases:
        # Untimed first reads: the first read of a file decides the size of its page-cache folios.
        for _ in range(2):
            timed([args.vmdkit, "cat", d33], False)
            timed([args.vmdkit, "cat", d2], False)
    for _ in range(args.reps):
        for out, tag in outs:
            if "raw" in cases:
                rep_raw(r, args.vmdkit, d9, out, cold, tag)
            if "stream" in cases:
                rep_stream(r, args.vmdkit, d9, out, cold, tag)
        if "thin" in cases:
            rep_thin(r, args.vmdkit, os.path.join(work, "thin8.vmdk"), outs[0][0], cold)
        if "depth" in cases:
            rep_depth(r, args.vmdkit, d33, d2, cold)
        if "consolidate" in cases:
            t_q, t_v, sizes, t_b = consolidate_once(args.vmdkit, work, args.scratch, cold, args.baseline)
            r.add("com-q", t_q)
            r.add("com-v", t_v)
            if t_b is not None:
                r.old["com-v"].append(t_b)
    print()
    print(f"{'COLD' if cold else 'WARM'} page cache, {args.reps} runs each, median wall time")
    ok = True
    for out, tag in outs:
        where = out if tag == "" else f"{out} (second column)"
        if "raw" in cases:
            ok = report_raw(r, cold, tag, where) and ok
        if "stream" in cases:
            ok = report_stream(r, out, tag, where) and ok
    if "thin" in cases:
        ok = report_thin(r) and ok
    if "depth" in cases:
        ok = report_depth(r) and ok
    if "consolidate" in cases:
        ok = report_consolidate(r, sizes) and ok
    if args.baseline:
        print(f"  new / baseline ({args.baseline}), medians, interleaved:")
        for label, old in sorted(r.old.items()):
            print(f"    {label:22s} new {fmt(r.runs[label])}  old {fmt(old)}  ratio {wall(r.runs[label]) / wall(old):.3f}")
    return ok


ALL_CASES = "raw,thin,depth,stream,consolidate"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vmdkit", required=True)
    p.add_argument("--work", required=True, help="folder for the chains (kept between runs)")
    p.add_argument("--out", help="folder for the outputs (default: the work folder, the inputs' file system)")
    p.add_argument("--shm", action="store_true",
                   help="also run the cases that write with outputs in /dev/shm, as a second column")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scratch", default=None,
                   help="folder for the copies of the chain that consolidate and qemu-img commit modify "
                        "(default: WORK/scratch; its qemu/ and vmdkit/ subfolders are removed at the end)")
    p.add_argument("--baseline", help="an older vmdkit binary: every vmdkit command is also timed with it, "
                                      "interleaved, and the new/old ratio of the medians is printed")
    p.add_argument("--cases", default=ALL_CASES, help=f"comma-separated subset of: {ALL_CASES}")
    p.add_argument("--warm-only", action="store_true", help="skip the cold page-cache phase")
    args = p.parse_args()
    cases = set(args.cases.split(","))
    unknown = cases - set(ALL_CASES.split(","))
    if unknown:
        p.error(f"unknown cases: {', '.join(sorted(unknown))}")
    work = os.path.abspath(args.work)
    args.vmdkit = os.path.abspath(args.vmdkit)  # some cases run in scratch folders
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)
    args.scratch = os.path.abspath(args.scratch or os.path.join(work, "scratch"))
    outs = [(os.path.abspath(args.out or work), "")]
    if args.shm:
        outs.append(("/dev/shm", "@shm"))
    build(work, args.seed)
    if "thin" in cases:
        build_thin(args.vmdkit, work)
    can_drop = drop_caches() and not args.warm_only
    print(f"bench: nproc {os.cpu_count()}; outputs in {', '.join(o for o, _ in outs)}; page cache: "
          f"{'cold (dropped before every run) and warm' if can_drop else 'warm only'}")
    check_outputs(args, cases, work, outs)
    ok = True
    try:
        for cold in ([True, False] if can_drop else [False]):
            ok = phase(args, cases, work, outs, cold) and ok
    finally:
        for out, _ in outs:
            for name in os.listdir(out):
                if name.startswith("bench-"):
                    os.remove(os.path.join(out, name))
        for sub in ("qemu", "vmdkit", "baseline"):  # only what consolidate_once made
            shutil.rmtree(os.path.join(args.scratch, sub), ignore_errors=True)
        if os.path.isdir(args.scratch) and not os.listdir(args.scratch):
            os.rmdir(args.scratch)
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
