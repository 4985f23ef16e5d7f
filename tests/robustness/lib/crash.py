#!/usr/bin/python3
# Kill tests (issue 3, acceptance 5): runs `vmdkit write` and `vmdkit convert` and kills them with
# SIGKILL at random moments, then checks what is left: every grain of the written range reads its
# old or its new content, qemu-img check finds no corruption (leaks allowed), the chain's links
# hold; an interrupted convert leaves nothing (or a complete disk) under the destination name.
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time

MIB = 1 << 20
GRAIN = 64 * 1024


def run(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def timed_kill(argv, delay):
    """Starts argv, kills it after delay seconds (if still running). Returns True if it was killed."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True
    if proc.returncode != 0:
        raise SystemExit(f"crash: {argv} failed: {proc.stderr.read().decode()}")
    return False


def duration(argv, prepare):
    prepare()
    start = time.monotonic()
    run(argv, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def cat(vmdkit, disk):
    return run([vmdkit, "cat", disk], stdout=subprocess.PIPE).stdout


def qemu_check(disk):
    """qemu-img check: 0 clean, 3 leaks only; 2 (corruption) or anything else fails."""
    r = subprocess.run(["qemu-img", "check", "-f", "vmdk", disk], capture_output=True, text=True)
    return r.returncode in (0, 3), r.stdout + r.stderr


def scenario_write(args):
    rnd = random.Random(args.seed)
    setup = os.path.join(args.work, "setup")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(setup)
    v = args.vmdkit
    size = args.size_mib * MIB
    run([v, "create", os.path.join(setup, "base.vmdk"), "--size", str(size), "--seed", "1"], stdout=subprocess.DEVNULL)
    for off, n, byte in [(0, 3 * MIB, 0x11), (10 * MIB + 5, 7 * MIB, 0x12), (size - 2 * MIB, 2 * MIB, 0x13)]:
        run([v, "write", "-q", os.path.join(setup, "base.vmdk"), "--offset", str(off), "--length", str(n),
             "--pattern", str(byte)])
    run([v, "snapshot", os.path.join(setup, "base.vmdk"), "--seed", "2"], stdout=subprocess.DEVNULL)
    top_name = "base-000001.vmdk"
    run([v, "write", "-q", os.path.join(setup, top_name), "--offset", str(2 * MIB + 777), "--length",
         str(9 * MIB), "--pattern", "0x22"])
    old = cat(v, os.path.join(setup, top_name))
    # The write under test: unaligned at both ends, over parent data, own data and holes.
    w_off, w_len, w_byte = 1 * MIB + 3333, size - 3 * MIB, 0x5A
    new = bytearray(old)
    new[w_off:w_off + w_len] = bytes([w_byte]) * w_len
    new = bytes(new)
    base_sum = open(os.path.join(setup, "base.vmdk"), "rb").read()

    run_dir = os.path.join(args.work, "run")

    def prepare():
        shutil.rmtree(run_dir, ignore_errors=True)
        os.makedirs(run_dir)
        os.link(os.path.join(setup, "base.vmdk"), os.path.join(run_dir, "base.vmdk"))  # never written
        shutil.copyfile(os.path.join(setup, top_name), os.path.join(run_dir, top_name))

    top = os.path.join(run_dir, top_name)
    argv = [v, "write", "-q", top, "--offset", str(w_off), "--length", str(w_len), "--pattern", str(w_byte)]
    full = duration(argv, prepare)
    failures = 0
    killed = 0
    states = {"old": 0, "new": 0, "mixed": 0}
    for i in range(args.runs):
        prepare()
        delay = rnd.uniform(0.0, full * 1.1)
        killed += timed_kill(argv, delay)
        problems = []
        ok, text = qemu_check(top)
        if not ok:
            problems.append("qemu-img check: " + text.strip())
        chain = subprocess.run([v, "chain", top], capture_output=True, text=True)
        if chain.returncode != 0:
            problems.append("vmdkit chain: " + chain.stdout + chain.stderr)
        now = subprocess.run([v, "cat", top], capture_output=True)
        if now.returncode != 0:
            problems.append("vmdkit cat: " + now.stderr.decode())
        else:
            cur = now.stdout
            n_old = n_new = 0
            for g in range(0, len(cur), GRAIN):
                piece = cur[g:g + GRAIN]
                if piece == new[g:g + GRAIN]:
                    n_new += 1
                elif piece == old[g:g + GRAIN]:
                    n_old += 1
                else:
                    problems.append(f"grain at {g:#x} reads neither its old nor its new content")
                    break
            differs = sum(1 for g in range(0, len(cur), GRAIN) if old[g:g + GRAIN] != new[g:g + GRAIN])
            key = "new" if n_new >= differs and cur == new else "old" if cur == old else "mixed"
            states[key] += 1
        if open(os.path.join(run_dir, "base.vmdk"), "rb").read() != base_sum:
            problems.append("the base changed")
        tag = f"run {i + 1}: kill after {delay * 1000:.0f} ms"
        if problems:
            failures += 1
            print(f"FAIL: {tag}: " + "; ".join(problems))
        else:
            print(f"ok: {tag}")
    print(f"write: {args.runs} runs ({killed} killed mid-way, full run {full * 1000:.0f} ms); "
          f"afterwards old {states['old']}, new {states['new']}, partly written {states['mixed']}; failures {failures}")
    return failures


def scenario_convert(args):
    rnd = random.Random(args.seed)
    v = args.vmdkit
    src_dir = os.path.join(args.work, "src")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(src_dir)
    size = args.size_mib * MIB
    src = os.path.join(src_dir, "src.vmdk")
    run([v, "create", src, "--size", str(size), "--seed", "3"], stdout=subprocess.DEVNULL)
    with open(os.path.join(args.work, "data.bin"), "wb") as f:
        f.write(rnd.randbytes(size // 2))
    run([v, "write", "-q", src, "--offset", "4096", "--from", os.path.join(args.work, "data.bin")])
    reference = cat(v, src)
    src_bytes = open(src, "rb").read()
    out_dir = os.path.join(args.work, "out")
    types = ["streamOptimized", "twoGbMaxExtentSparse", "monolithicSparse", "raw"]
    fulls = {}
    for t in types:
        def prep():
            shutil.rmtree(out_dir, ignore_errors=True)
            os.makedirs(out_dir)
        fulls[t] = duration([v, "convert", "-q", src, os.path.join(out_dir, "dst.vmdk"), "--to", t], prep)
    failures = 0
    complete = 0
    for i in range(args.runs):
        t = types[i % len(types)]
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        dst = os.path.join(out_dir, "dst.vmdk")
        delay = rnd.uniform(0.0, fulls[t] * 1.3)
        was_killed = timed_kill([v, "convert", "-q", src, dst, "--to", t], delay)
        problems = []
        if os.path.exists(dst):
            complete += 1
            fmt = "raw" if t == "raw" else "vmdk"
            check_raw = os.path.join(args.work, "check.raw")
            got = subprocess.run(["qemu-img", "convert", "-f", fmt, "-O", "raw", dst, check_raw], capture_output=True)
            same = got.returncode == 0 and open(check_raw, "rb").read() == reference
            if os.path.exists(check_raw):
                os.remove(check_raw)
            if not same:
                problems.append("a file exists under the destination name but does not hold the whole disk")
        tag = f"run {i + 1}: {t}, kill after {delay * 1000:.0f} ms ({'killed' if was_killed else 'finished'})"
        if problems:
            failures += 1
            print(f"FAIL: {tag}: " + "; ".join(problems))
        else:
            print(f"ok: {tag}: destination {'complete' if os.path.exists(dst) else 'absent'}")
    if open(src, "rb").read() != src_bytes:
        failures += 1
        print("FAIL: the source changed")
    print(f"convert: {args.runs} runs, {complete} left a complete destination, the others none; failures {failures}")
    return failures


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["write", "convert"])
    p.add_argument("--vmdkit", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--runs", type=int, default=24)
    p.add_argument("--size-mib", type=int, default=96)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    failures = scenario_write(args) if args.scenario == "write" else scenario_convert(args)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
