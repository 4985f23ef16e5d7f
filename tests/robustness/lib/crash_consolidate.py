#!/usr/bin/python3
# Kill test of `vmdkit consolidate` (issue 4, acceptance 4): a chain base + d1 + d2 + d3 (TOP) with a
# child d4 above TOP, copied afresh for every run; `vmdkit consolidate TOP` is killed with SIGKILL at
# a random moment (then 7 more runs killed at stage copy, at switch, once TOP is deleted). Afterwards
# TOP's chain or ANCESTOR (the base) reads the original content; a re-run on a remaining file (TOP,
# else ANCESTOR or the re-linked child d4) completes: the base reads the original, d4 reads its own
# original through the new link, the merged files and the journal are gone, qemu-img check accepts
# the base and d4.
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

MIB = 1 << 20
TIMEOUT = 600  # seconds for any one command: a hang is a failure, not a stuck test suite
NAMES = ["base.vmdk", "base-000001.vmdk", "base-000002.vmdk", "base-000003.vmdk", "base-000004.vmdk"]
TOP, CHILD, ANCESTOR = NAMES[3], NAMES[4], NAMES[0]
MERGED = NAMES[1:4]


def run(argv, **kw):
    return subprocess.run(argv, check=True, timeout=TIMEOUT, **kw)


def reads_as(vmdkit, disk, reference):
    """True when DISK, read through its chain, equals the raw file REFERENCE (`vmdkit compare`: only
    ranges that hold data on either side are read, so a mostly empty 1 GiB disk is quick). False
    when it differs or does not open."""
    r = subprocess.run([vmdkit, "compare", disk, reference], capture_output=True, timeout=TIMEOUT)
    return r.returncode == 0


def qemu_check(disk):
    """qemu-img check: 0 clean, 3 leaked clusters only (space lost by a killed run); else a failure."""
    r = subprocess.run(["qemu-img", "check", "-f", "vmdk", disk], capture_output=True, text=True, timeout=TIMEOUT)
    return r.returncode, (r.stdout + r.stderr).strip()


JOURNAL = f".{ANCESTOR}.vmdkit-consolidate"  # beside ANCESTOR; written to a temporary name, then renamed


def journals(folder):
    """The journal and anything named after it (a temporary copy left by a kill while it was written)."""
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if "vmdkit-consolidate" in n)


def journal_stage(folder):
    """The stage recorded in the journal (its "stage"/"state"/"phase" key when it is JSON), "present"
    when it has no such key, None when there is no journal (a temporary copy does not count: the run
    had not begun)."""
    path = os.path.join(folder, JOURNAL)
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8", "replace"))
        for key in ("stage", "state", "phase", "step"):
            if isinstance(doc, dict) and key in doc:
                return str(doc[key])
    except (OSError, ValueError):
        pass
    return "present"


def build(args, setup):
    """The chain in SETUP: 1 GiB (or --size-mib) sparse base with data and three deltas (the middle
    one with zeroed-grain entries), random data at unaligned offsets, zero writes, and a small child
    d4 above TOP. The allocated data scales with the size and --data-scale (1.0: a quarter of it)."""
    v = args.vmdkit
    rnd = random.Random(args.seed)
    size = args.size_mib * MIB
    u = size // 1024  # 1 MiB on a 1 GiB disk: places the writes
    w = max(65536, int(u * args.data_scale))  # the unit of their lengths
    data_dir = os.path.join(args.work, "data")
    os.makedirs(data_dir)
    counter = [0]

    def from_random(disk, off, n):
        counter[0] += 1
        path = os.path.join(data_dir, f"r{counter[0]}.bin")
        with open(path, "wb") as f:
            f.write(rnd.randbytes(n))
        run([v, "write", "-q", os.path.join(setup, disk), "--offset", str(off), "--from", path])
        os.remove(path)

    def pattern(disk, off, n, byte):
        run([v, "write", "-q", os.path.join(setup, disk), "--offset", str(off), "--length", str(n),
             "--pattern", str(byte)])

    def zero(disk, off, n):
        run([v, "write", "-q", os.path.join(setup, disk), "--offset", str(off), "--length", str(n), "--zero"])

    def snapshot(disk, seed, *extra):
        run([v, "snapshot", "-q", os.path.join(setup, disk), "--seed", str(seed), *extra], stdout=subprocess.DEVNULL)

    run([v, "create", "-q", os.path.join(setup, NAMES[0]), "--size", str(size), "--seed", "1"])
    for off in (4096, 200 * u + 777, 500 * u, size - 40 * u - 512):
        from_random(NAMES[0], off, 40 * w)
    snapshot(NAMES[0], 2)
    from_random(NAMES[1], 10 * u + 333, 10 * w)
    from_random(NAMES[1], 198 * u, 20 * w)            # over the start of a base range and into it
    pattern(NAMES[1], 600 * u, 10 * w, 0x21)
    zero(NAMES[1], 5 * u + 1000, 2 * w)                # zeros over base data, no zeroed-grain entries
    snapshot(NAMES[1], 3, "--zeroed-grains")
    from_random(NAMES[2], 20 * u + 5, 10 * w)
    zero(NAMES[2], 0, 4 * w)                           # whole grains: zeroed-grain entries
    from_random(NAMES[2], 700 * u, 10 * w)
    zero(NAMES[2], 505 * u + 3, 3 * w)
    snapshot(NAMES[2], 4)
    from_random(NAMES[3], 15 * u, 10 * w)
    from_random(NAMES[3], 800 * u + 12345, 20 * w)
    pattern(NAMES[3], size - u, w, 0x41)
    zero(NAMES[3], 210 * u, u)
    snapshot(NAMES[3], 5)                              # d4: TOP's child, re-linked by the merge
    pattern(NAMES[4], 16 * u, w, 0x51)
    from_random(NAMES[4], 900 * u + 7, u)
    shutil.rmtree(data_dir)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vmdkit", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--data-scale", type=float, default=0.25,
                   help="lengths of the writes in MiB per GiB of disk (1.0: about a quarter of the disk allocated)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    v = args.vmdkit
    rnd = random.Random(args.seed)
    shutil.rmtree(args.work, ignore_errors=True)
    setup = os.path.join(args.work, "setup")
    run_dir = os.path.join(args.work, "run")
    os.makedirs(setup)
    build(args, setup)
    # The original content as sparse raw files, made before anything is merged.
    want_top, want_child = os.path.join(args.work, "top.raw"), os.path.join(args.work, "child.raw")
    run([v, "convert", "-q", os.path.join(setup, TOP), want_top, "--to", "raw"])
    run([v, "convert", "-q", os.path.join(setup, CHILD), want_child, "--to", "raw"])
    digest = hashlib.sha256(open(want_top, "rb").read()).hexdigest()
    alloc = sum(os.stat(os.path.join(setup, n)).st_blocks * 512 for n in NAMES)
    print(f"chain: {args.size_mib} MiB virtual, {alloc / MIB:.0f} MiB allocated in {len(NAMES)} files; "
          f"TOP {TOP} sha256 {digest[:16]}..")

    def prepare():
        # Every file is copied (sparse), none hard-linked: consolidate writes the base and the child
        # and may touch the others before deleting them.
        shutil.rmtree(run_dir, ignore_errors=True)
        os.makedirs(run_dir)
        for n in NAMES:
            run(["cp", "--reflink=auto", "--sparse=always", os.path.join(setup, n), os.path.join(run_dir, n)])

    def path(n):
        return os.path.join(run_dir, n)

    argv = [v, "consolidate", path(TOP), "-q", "--seed", "77"]
    failures = 0

    def final_state(problems):
        """The state after a completed run: the base holds TOP's content, d4 its own through the new
        link, only those two files are left, qemu-img accepts both."""
        if not reads_as(v, path(ANCESTOR), want_top):
            problems.append(f"{ANCESTOR} does not read TOP's original content")
        if not reads_as(v, path(CHILD), want_child):
            problems.append(f"{CHILD} (re-linked) does not read its original content")
        left = sorted(os.listdir(run_dir))
        if left != sorted([ANCESTOR, CHILD]):
            problems.append(f"files left {left}, want {[ANCESTOR, CHILD]}")
        leaks = False
        for n in (ANCESTOR, CHILD):
            rc, text = qemu_check(path(n))
            if rc == 3:
                leaks = True
            elif rc != 0:
                problems.append(f"qemu-img check {n} (exit {rc}): {text}")
        chain = subprocess.run([v, "chain", path(CHILD), "--json"], capture_output=True, text=True, timeout=TIMEOUT)
        try:
            doc = json.loads(chain.stdout)
            if not doc["ok"] or len(doc["layers"]) != 2:
                problems.append(f"vmdkit chain {CHILD}: not ok with 2 layers: {chain.stdout}")
        except (ValueError, KeyError):
            problems.append(f"vmdkit chain {CHILD} --json: {chain.stdout} {chain.stderr}")
        return leaks

    # Calibrate on an uninterrupted run, which must itself end in the final state.
    prepare()
    start = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    full = time.monotonic() - start
    problems = []
    if r.returncode != 0:
        problems.append(f"uninterrupted run failed: {r.stderr.strip()}")
    else:
        final_state(problems)
    if problems:
        print("FAIL: uninterrupted run: " + "; ".join(problems))
        print("consolidate: the uninterrupted run fails, kill runs skipped")
        return 1
    print(f"ok: uninterrupted run: {full * 1000:.0f} ms, final state right")

    states = {}
    reran_on = {}
    leaked = 0
    missed = 0
    # The acceptance runs: kills at uniform random moments. Then targeted runs: killed as soon as the
    # journal shows a stage, and re-run on ANCESTOR or on the re-linked child rather than on TOP (a
    # uniform kill rarely lands in the short switch stage).
    schedule = [("uniform", None, None)] * args.runs
    schedule += [("at stage", st, tgt) for st in ("copy", "switch", "TOP removed") for tgt in (ANCESTOR, CHILD)]
    schedule += [("at stage", "copy", MERGED[0])]  # a merged layer is a remaining file of the chain too
    for i, (kind, at_stage, forced_target) in enumerate(schedule):
        prepare()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        problems = []
        killed = False
        if kind == "uniform":
            delay = rnd.uniform(0.0, full * 1.2)
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                killed = True
            when = f"kill after {delay * 1000:.0f} ms"
        else:
            deadline = time.monotonic() + TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline:
                now = journal_stage(run_dir)
                if now == at_stage or (at_stage == "TOP removed" and now == "switch" and not os.path.exists(path(TOP))):
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.0002)
            when = f"kill at journal stage {at_stage}"
        proc.wait()
        err = proc.stderr.read().decode(errors="replace").strip()
        if not killed and proc.returncode != 0:
            problems.append(f"the run failed on its own: {err}")
        stage = journal_stage(run_dir)
        if kind != "uniform" and stage != at_stage.replace("TOP removed", "switch"):
            missed += 1  # the run passed that stage before the poll saw it: checked all the same
        # Right after the kill: TOP's chain (while it opens) or else ANCESTOR reads the original.
        top_reads = os.path.exists(path(TOP)) and reads_as(v, path(TOP), want_top)
        anc_reads = not top_reads and reads_as(v, path(ANCESTOR), want_top)
        if not top_reads and not anc_reads:
            problems.append("neither TOP's chain nor ANCESTOR reads the original content")
        if stage is None:
            state = "before the journal" if top_reads else "after the end"
        else:
            state = f"stage {stage}, {'TOP' if top_reads else 'ANCESTOR'} reads the original"
        if kind == "uniform":
            states[state] = states.get(state, 0) + 1
        # Re-run on a remaining file unless the run had finished: TOP if it is there, else ANCESTOR
        # or the re-linked child, alternately (the targeted runs: the file they name).
        target = None
        if stage is not None and forced_target is not None:
            target = forced_target
        elif os.path.exists(path(TOP)):
            target = TOP
        elif stage is not None:
            target = ANCESTOR if i % 2 == 0 else CHILD
        elif any(os.path.exists(path(n)) for n in MERGED):
            target = ANCESTOR  # no journal but merged files left: final_state reports them
        if target is not None:
            reran_on[target] = reran_on.get(target, 0) + 1
            r = subprocess.run([v, "consolidate", path(target), "-q"], capture_output=True, text=True, timeout=TIMEOUT)
            if r.returncode != 0:
                problems.append(f"re-run on {target} failed: {r.stderr.strip()}")
        if journals(run_dir):
            problems.append(f"journal (or its temporary copy) left: {journals(run_dir)}")
        leaked += final_state(problems)
        tag = (f"run {i + 1} ({kind}): {when} ({'killed' if killed else 'finished'}, {state})"
               f"{', re-run on ' + target if target else ''}")
        if problems:
            failures += 1
            print(f"FAIL: {tag}: " + "; ".join(problems))
        else:
            print(f"ok: {tag}")
    summary = ", ".join(f"{k} {n}" for k, n in sorted(states.items()))
    print(f"consolidate: {args.runs} runs killed at random of {args.size_mib} MiB (full run {full * 1000:.0f} ms): "
          f"{summary}; {len(schedule) - args.runs} runs killed at a journal stage ({missed} passed it first); "
          f"re-runs on {reran_on or '{}'}; leaked space in {leaked}; failures {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
