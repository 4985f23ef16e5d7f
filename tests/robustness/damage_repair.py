#!/usr/bin/python3
# Damage suite of check and repair (issue 5, acceptance 1): real structures of a qemu-made chain, of
# our own chain and of streamOptimized files are damaged (vmdk-format.md 2.1-2.7, 3.2, 3.5, 1.10);
# each case checks the finding (exit status, code, file, byte offset), the repair (exit 4 when it
# lists lost ranges; grains it cannot prove garbage kept unchanged), qemu-img check, the content
# outside the ranges repair reports as lost, and that --undo restores every byte.
import concurrent.futures
import fcntl
import hashlib
import json
import mmap
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

VMDKIT = os.path.abspath(os.environ["VMDKIT"])
TMP = os.path.abspath(os.environ["TEST_TMPDIR"])
SANITIZED = bool(os.environ.get("VMDKIT_SANITIZED"))
SECTOR = 512
MIB = 1 << 20
CAPACITY = 64 * MIB
CHUNK = 4 * MIB
TIMEOUT = 300 if SANITIZED else 60


# --- small helpers -----------------------------------------------------------------------------

def run(args, cwd, timeout=TIMEOUT):
    p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def must(args, cwd):
    rc, out, err = run(args, cwd)
    text = out.decode(errors="replace")
    if rc != 0 or "error" in text.lower() or "failed" in text.lower():
        raise SystemExit(f"set-up failed: {' '.join(args)}: exit {rc}: {err.strip()} {text.strip()[:400]}")
    return out


def read(path, offset=0, length=None):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read() if length is None else f.read(length)


def poke(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def poke_u32(path, offset, value):
    poke(path, offset, struct.pack("<I", value))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


def state(folder):
    """{file name: sha256} of every file in folder, hidden ones (undo logs) included."""
    return {name: sha256(os.path.join(folder, name)) for name in sorted(os.listdir(folder))}


def short(names):
    return ", ".join(sorted(names))


class Kdmv:
    """The parts of a hosted sparse file (vmdk-format.md 2.1, 2.4, 2.6) the damages aim at."""

    def __init__(self, path):
        data = read(path)
        (self.magic, self.version, self.flags, self.capacity, self.grain_size, self.desc_offset,
         self.desc_size, self.gtes, self.rgd, self.gd, self.overhead) = struct.unpack_from("<IIIQQQQIQQQ", data, 0)
        assert self.magic == 0x564D444B, f"{path}: no KDMV magic"
        self.size = len(data)
        self.grain_bytes = self.grain_size * SECTOR
        self.n = -(-self.capacity // (self.gtes * self.grain_size))
        if self.gd == 0xFFFFFFFFFFFFFFFF:  # a stream with its directory at the end: not needed here
            self.gd_entries = self.rgd_entries = self.tables = self.rtables = self.grains = []
            return
        self.gd_entries = list(struct.unpack_from(f"<{self.n}I", data, self.gd * SECTOR))
        self.rgd_entries = list(struct.unpack_from(f"<{self.n}I", data, self.rgd * SECTOR)) if self.rgd else []
        self.tables = [list(struct.unpack_from(f"<{self.gtes}I", data, s * SECTOR)) for s in self.gd_entries]
        self.rtables = [list(struct.unpack_from(f"<{self.gtes}I", data, s * SECTOR)) for s in self.rgd_entries]
        # Allocated grains (table, entry, sector), in table order; both copies agree in a sound file.
        self.grains = [(i, e, s) for i, t in enumerate(self.tables) for e, s in enumerate(t) if s > 1]

    def gd_entry(self, i, redundant=False):
        return (self.rgd if redundant else self.gd) * SECTOR + 4 * i

    def gte(self, i, e, redundant=False):
        return (self.rgd_entries if redundant else self.gd_entries)[i] * SECTOR + 4 * e

    def virtual(self, i, e):
        return (i * self.gtes + e) * self.grain_bytes


def descriptor_text(path):
    k = Kdmv(path)
    area = read(path, k.desc_offset * SECTOR, k.desc_size * SECTOR)
    return k.desc_offset * SECTOR, len(area), area.split(b"\0", 1)[0].decode()


def edit_descriptor(path, edit):
    """Rewrites the embedded descriptor in place: same area, NUL padded (vmdk-format.md 2.9)."""
    at, size, text = descriptor_text(path)
    new = edit(text).encode()
    assert len(new) < size, f"{path}: the edited descriptor does not fit"
    poke(path, at, new + bytes(size - len(new)))


def descriptor_key_offset(path, key):
    """Byte offset in path of the descriptor line that sets key."""
    at, _, text = descriptor_text(path)
    pos = 0
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(key) and stripped[len(key):].lstrip().startswith("="):
            return at + pos + (len(line) - len(stripped))
        pos += len(line) + 1
    raise AssertionError(f"{path}: no {key} line")


def descriptor_value(path, key):
    for line in descriptor_text(path)[2].split("\n"):
        if line.strip().startswith(key) and "=" in line:
            name, value = line.split("=", 1)
            if name.strip() == key:
                return value.strip().strip('"')
    return None


def set_descriptor_value(text, key, value):
    out = []
    for line in text.split("\n"):
        if line.split("=", 1)[0].strip() == key and "=" in line:
            line = f"{key}={value}"
        out.append(line)
    return "\n".join(out)


# --- the images --------------------------------------------------------------------------------

def grainwise(writes, first_pattern):
    """qemu-io write commands, split at grain boundaries, each piece with its own pattern byte, so
    that a grain moved to the wrong place cannot go unnoticed."""
    cmds, p = [], first_pattern
    for off, length in writes:
        end = off + length
        while off < end:
            piece = min(end, (off // 65536 + 1) * 65536) - off
            cmds += ["-c", f"write -P {p} {off} {piece}"]
            p = p + 1 if p < 0xfe else 0x10
            off += piece
    return cmds


def make_qemu_chain(d):
    os.makedirs(d)
    must(["qemu-img", "create", "-q", "-f", "vmdk", "base.vmdk", "64M"], d)
    # Grains 0-1, 76, 511-512 (across the 32 MiB table boundary) and the last grain of the disk.
    must(["qemu-io", "-f", "vmdk", "-t", "unsafe"] + grainwise(
        [(0, 100000), (5000000, 3000), (33488896, 131072), (CAPACITY - 65536, 65536)], 0x11) + ["base.vmdk"], d)
    must(["qemu-img", "create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "top.vmdk"], d)
    must(["qemu-io", "-f", "vmdk", "-t", "unsafe"] + grainwise(
        [(65536, 70000), (33550000, 10000), (40000000, 4096), (CAPACITY - 8864, 8864)], 0x81) + ["top.vmdk"], d)


def make_own_chain(d, data):
    os.makedirs(d)
    rnd = random.Random(5)

    def write(disk, offset, length, seed):
        src = os.path.join(data, f"w{seed}.bin")
        with open(src, "wb") as f:
            f.write(rnd.randbytes(length))
        must([VMDKIT, "write", disk, "--offset", str(offset), "--from", src, "--seed", str(seed), "-q"], d)

    must([VMDKIT, "create", "own.vmdk", "--size", "64M", "--seed", "11", "-q"], d)
    write("own.vmdk", 0, 200000, 12)
    write("own.vmdk", 5000000, 3000, 13)
    write("own.vmdk", 33500000, 120000, 14)  # across the 32 MiB table boundary
    write("own.vmdk", CAPACITY - 65536, 65536, 15)  # the last grain
    must([VMDKIT, "snapshot", "own.vmdk", "--seed", "16", "-q"], d)
    write("own-000001.vmdk", 100000, 70000, 17)
    write("own-000001.vmdk", 33554000, 1000, 18)
    write("own-000001.vmdk", 50000000, 4096, 19)
    write("own-000001.vmdk", CAPACITY - 864, 864, 20)


def make_streams(qdir, vdir, data):
    """The same 40 MiB raw file as a qemu stream (layout C: tables up front, no footer) and as a
    vmdkit stream (layout A: grains, tables, directory, footer, end-of-stream marker)."""
    raw = os.path.join(data, "stream.raw")
    rnd = random.Random(9)
    with open(raw, "wb") as f:
        for g in range(40 * 16):
            if g % 3 == 2:
                f.write(bytes(65536))
            else:
                f.write(rnd.randbytes(8) * 8192)
    os.makedirs(qdir)
    os.makedirs(vdir)
    must(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw,
          "stream.vmdk"], qdir)
    must([VMDKIT, "convert", "--from", "raw", raw, "stream.vmdk", "--to", "streamOptimized", "--seed", "21", "-q"],
         vdir)


# --- damages -----------------------------------------------------------------------------------
# Each takes the case and returns an Expect; c.target is the file damaged, c.k its parsed header.

class Expect:
    def __init__(self, code, file, offset, exit=2, severity="corruption", lost=(), also=(), repair_args=(),
                 xfail=None, xfail_check=False):
        self.codes = code if isinstance(code, tuple) else (code,)  # any of these codes will do
        self.code, self.file, self.offset, self.exit, self.severity = self.codes[0], file, offset, exit, severity
        self.lost = lost              # [(file, offset, length)] exactly, or "any"
        self.also = list(also)        # more (code, file, offset) that must be found
        self.repair_args = list(repair_args)
        self.xfail = xfail            # a known library bug: failures after check are expected
        self.xfail_check = xfail_check  # ... and already in check
        self.reference_is_damaged = False


def far_sector(k):
    return k.size // SECTOR + 4096


def d_gd_past_eof(c):
    i = c.k.n - 1
    poke_u32(c.target, c.k.gd_entry(i), far_sector(c.k))
    return Expect("gd_entry_past_eof", c.target, c.k.gd_entry(i))


def d_rgd_past_eof(c):
    i = c.k.n - 1
    poke_u32(c.target, c.k.gd_entry(i, True), 0xFFFFFF00)
    return Expect("gd_entry_past_eof", c.target, c.k.gd_entry(i, True))


def d_gd_both_past_eof(c):
    # No copy of table 1 can be found: its whole 32 MiB range is lost (a delta reads its parent there).
    i = c.k.n - 1
    for redundant in (False, True):
        poke_u32(c.target, c.k.gd_entry(i, redundant), 0x7FFFFFFF)
    coverage = c.k.gtes * c.k.grain_bytes
    return Expect("gd_entry_past_eof", c.target, c.k.gd_entry(i),
                  also=[("gd_entry_past_eof", c.target, c.k.gd_entry(i, True))],
                  lost=[(c.target, i * coverage, min(coverage, c.k.capacity * SECTOR - i * coverage))])


def d_gd_into_other_copy(c):
    # The primary directory names a table of the redundant set: both claimers are distrusted and
    # each table restored from its other copy (nothing lost).
    poke_u32(c.target, c.k.gd_entry(1), c.k.rgd_entries[0])
    return Expect(("gd_entry_into_metadata", "gd_entries_share_table", "gd_rgd_share_table"), c.target,
                  c.k.gd_entry(1))


def d_gt_entry_into_table(c):
    # A redundant table moved behind the grains (a valid layout, as after a repair that relocates a
    # table), then a grain entry (both copies) pointing at it: the entry points into metadata.
    rt = c.k.rgd_entries[-1]
    table = read(c.target, rt * SECTOR, c.k.gtes * 4)
    moved = c.k.size // SECTOR
    with open(c.target, "ab") as f:
        f.write(table + bytes(c.k.grain_bytes - len(table)))
    poke_u32(c.target, c.k.gd_entry(c.k.n - 1, True), moved)
    i, e, _ = c.k.grains[0]
    for redundant in (False, True):
        poke_u32(c.target, c.k.gte(i, e, redundant), moved)
    return Expect("gt_entry_into_metadata", c.target, c.k.gte(i, e),
                  lost=[(c.target, c.k.virtual(i, e), c.k.grain_bytes)])


def d_all_grains_lost(c):
    # Every grain entry past the end in both copies: every grain is lost and leaked, so reclaiming
    # the leaks may cut the file, but never below overHead (the header promises that much metadata).
    for i, e, _ in c.k.grains:
        for redundant in (False, True):
            poke_u32(c.target, c.k.gte(i, e, redundant), 0x7FFF0000)
    i, e, _ = c.k.grains[0]
    return Expect("gt_entry_past_eof", c.target, c.k.gte(i, e),
                  lost=[(c.target, c.k.virtual(i, e), c.k.grain_bytes) for i, e, _ in c.k.grains])


def d_gd_into_metadata(c):
    poke_u32(c.target, c.k.gd_entry(0), 1)  # sector 1: the embedded descriptor
    return Expect("gd_entry_into_metadata", c.target, c.k.gd_entry(0))


def d_gd_share_table(c):
    poke_u32(c.target, c.k.gd_entry(1), c.k.gd_entries[0])
    return Expect("gd_entries_share_table", c.target, c.k.gd_entry(1),
                  also=[("gd_entries_share_table", c.target, c.k.gd_entry(0))])


def d_gd_rgd_share_table(c):
    poke_u32(c.target, c.k.gd_entry(0, True), c.k.gd_entries[0])
    return Expect("gd_rgd_share_table", c.target, c.k.gd_entry(0, True))


def d_gd_entry_zeroed(c):
    poke_u32(c.target, c.k.gd_entry(1), 0)
    return Expect("gd_copies_differ", c.target, c.k.gd_entry(1))


def d_gt_past_eof_primary(c):
    i, e, _ = c.k.grains[0]
    poke_u32(c.target, c.k.gte(i, e), far_sector(c.k))
    return Expect("gt_entry_past_eof", c.target, c.k.gte(i, e))  # the redundant copy is sound: nothing lost


def d_gt_past_eof_both(c):
    i, e, _ = next(g for g in c.k.grains if g[0] == c.k.n - 1)
    for redundant in (False, True):
        poke_u32(c.target, c.k.gte(i, e, redundant), 0x7FFF0000)
    return Expect("gt_entry_past_eof", c.target, c.k.gte(i, e),
                  lost=[(c.target, c.k.virtual(i, e), c.k.grain_bytes)])


def d_gt_into_metadata(c):
    i, e, _ = c.k.grains[1]
    poke_u32(c.target, c.k.gte(i, e), c.k.gd)  # the grain directory's sector
    return Expect("gt_entry_into_metadata", c.target, c.k.gte(i, e))


def d_gt_share_grain(c):
    (ai, ae, _), (bi, be, bs) = c.k.grains[0], c.k.grains[-1]
    for redundant in (False, True):
        poke_u32(c.target, c.k.gte(ai, ae, redundant), bs)
    return Expect("gt_entries_share_grain", c.target, c.k.gte(ai, ae),
                  also=[("gt_entries_share_grain", c.target, c.k.gte(bi, be))],
                  lost=[(c.target, c.k.virtual(ai, ae), c.k.grain_bytes),
                        (c.target, c.k.virtual(bi, be), c.k.grain_bytes)])


def d_gt_copies_differ(c):
    i, e, _ = c.k.grains[-1]
    poke_u32(c.target, c.k.gte(i, e, True), 0)
    return Expect("gt_copies_differ", c.target, c.k.gte(i, e, True))


def d_rgt_garbage(c):
    rnd = random.Random(c.name)
    words = [rnd.getrandbits(32) | 0x80000000 for _ in range(c.k.gtes)]  # all far past the end
    poke(c.target, c.k.gte(0, 0, True), struct.pack(f"<{c.k.gtes}I", *words))
    return Expect("gt_entry_past_eof", c.target, c.k.gte(0, 0, True))


def d_grain_truncated(c):
    i, e, s = max(c.k.grains, key=lambda g: g[2])
    assert s * SECTOR + c.k.grain_bytes == c.k.size, "the highest grain does not end the file"
    os.truncate(c.target, s * SECTOR + c.k.grain_bytes // 2 + 1000)
    return Expect("grain_truncated", c.target, c.k.gte(i, e), lost=[(c.target, c.k.virtual(i, e), c.k.grain_bytes)])


def d_unclean_shutdown(c):
    poke(c.target, 72, b"\x01")
    return Expect("unclean_shutdown", c.target, 72, exit=0, severity="warning")


def d_leak_appended(c):
    with open(c.target, "ab") as f:
        f.write(random.Random(c.name).randbytes(c.k.grain_bytes))
    return Expect("leaked_grains", c.target, c.k.size, exit=3, severity="leak")


def d_leak_rewrite(c):
    # vmdkit writes redirect-on-write: the second write of a grain leaks the first copy.
    for n, pattern in enumerate((0x5a, 0xa5)):
        must([VMDKIT, "write", os.path.basename(c.target), "--offset", str(20 * MIB), "--pattern", str(pattern),
              "--length", "65536", "--seed", str(30 + n), "-q"], c.dir)
        if n == 0:
            first = Kdmv(c.target).tables[0][20 * MIB // 65536]
    x = Expect("leaked_grains", c.target, first * SECTOR, exit=3, severity="leak")
    x.reference_is_damaged = True  # the writes are data, not damage: the chain must keep them
    return x


def d_cid_mismatch(c):
    edit_descriptor(c.target, lambda t: set_descriptor_value(t, "parentCID", "0badc0de"))
    return Expect("cid_mismatch", c.target, descriptor_key_offset(c.target, "parentCID"),
                  repair_args=["--accept-cid-mismatch"])


def d_parent_missing(c):
    old = c.files[c.parent_of(c.target)]
    new = "moved-" + old
    os.rename(os.path.join(c.dir, old), os.path.join(c.dir, new))
    c.rename(old, new)
    return Expect("parent_missing", c.target, descriptor_key_offset(c.target, "parentFileNameHint"))


def d_hint_absolute(c):
    parent = c.files[c.parent_of(c.target)]
    edit_descriptor(c.target, lambda t: set_descriptor_value(
        t, "parentFileNameHint", f'"/vmfs/volumes/datastore1/vm/{parent}"'))
    return Expect("parent_hint_absolute", c.target, descriptor_key_offset(c.target, "parentFileNameHint"), exit=0,
                  severity="warning")


def stream_walk(path, cut):
    """Sector after the last grain record that ends at or before cut, and the LBA end (bytes) of
    that grain: what a salvage keeps (vmdk-format.md 3.2, 3.5 sequential access)."""
    k = Kdmv(path)
    data = read(path)
    pos, lba_end = k.overhead * SECTOR, 0
    while pos + SECTOR <= len(data):
        lba, size = struct.unpack_from("<QI", data, pos)
        if size:
            end = pos + 12 + size
            if end > cut:
                break
            lba_end = (lba + k.grain_size) * SECTOR
            pos = -(-end // SECTOR) * SECTOR
            continue
        kind = struct.unpack_from("<I", data, pos + 12)[0]
        if kind == 0:
            break
        pos += (1 + lba) * SECTOR if kind in (1, 2, 3) else SECTOR
    return lba_end


def d_stream_cut(c):
    size = c.k.size
    cut = size // 2 + 100
    lost_from = stream_walk(c.target, cut)
    os.truncate(c.target, cut)
    # check expects footer marker, footer, end of stream in the last three sectors of what is left
    return Expect("stream_footer_invalid", c.target, cut - 3 * SECTOR,
                  lost=[(c.target, lost_from, c.k.capacity * SECTOR - lost_from)])


def d_qemu_stream_cut(c):
    cut = c.k.size // 2 + 100
    os.truncate(c.target, cut)
    first = next((i, e) for i, e, s in c.k.grains if s * SECTOR + 12 > cut)
    return Expect("gt_entry_past_eof", c.target, c.k.gte(*first), lost="any")


SPARSE = [d_gd_past_eof, d_rgd_past_eof, d_gd_both_past_eof, d_gd_into_metadata, d_gd_share_table,
          d_gd_rgd_share_table, d_gd_entry_zeroed, d_gt_past_eof_primary, d_gt_past_eof_both, d_gt_into_metadata,
          d_gt_share_grain, d_gt_copies_differ, d_rgt_garbage, d_grain_truncated, d_unclean_shutdown,
          d_leak_appended]
# Damages that once hid bugs (a directory entry naming the other directory's table, an entry
# pointing at a table among the grains, every grain lost): one base and one delta each.
FOUND_BUGS = [d_gd_into_other_copy, d_gt_entry_into_table, d_all_grains_lost]
LINKS = [d_cid_mismatch, d_parent_missing, d_hint_absolute]


# --- one case ----------------------------------------------------------------------------------

class Case:
    def __init__(self, name, chain, files, target, damage):
        self.name, self.chain, self.damage = name, chain, damage
        self.files = dict(files)           # role -> file name: "top", "base" (or "disk")
        self.target_role = target
        self.dir = os.path.join(TMP, "cases", name)
        self.target = os.path.join(self.dir, self.files[target])
        self.lines, self.failures, self.xfails = [], 0, 0
        self.xfail = None

    def parent_of(self, path):
        return "base" if os.path.basename(path) == self.files.get("top") else None

    def rename(self, old, new):
        for role, name in self.files.items():
            if name == old:
                self.files[role] = new

    def layers(self):
        """(role, file) from the top down."""
        return [(r, self.files[r]) for r in ("top", "base", "disk") if r in self.files]

    def ok(self, what):
        self.lines.append(f"ok: {self.name}: {what}")

    def fail(self, what):
        if self.xfail:
            self.xfails += 1
            self.lines.append(f"xfail: {self.name}: {what} [expected failure: {self.xfail}]")
        else:
            self.failures += 1
            self.lines.append(f"FAIL: {self.name}: {what}")

    def expect(self, cond, what, detail=""):
        if cond:
            self.ok(what)
        else:
            self.fail(f"{what}: {detail}" if detail else what)
        return cond

    def norm(self, name):
        return os.path.normpath(os.path.join(self.dir, name))


def findings_text(doc, limit=6):
    items = [f"{f['code']}@{os.path.basename(f['file'])}+{f['offset']}" for f in doc.get("findings", [])]
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def json_of(case, what, args):
    rc, out, err = run([VMDKIT] + args, case.dir)
    try:
        return rc, json.loads(out), err
    except ValueError:
        case.fail(f"{what}: exit {rc}, no JSON on stdout; stderr: {err.strip()[:300]}")
        return rc, None, err


def cat_compare(case, disk, reference, lost):
    """`vmdkit cat disk` equals reference outside the lost ranges [(start, end)]. Returns an error
    text or None."""
    with tempfile.TemporaryFile() as errf, open(reference, "rb") as rf, \
            mmap.mmap(rf.fileno(), 0, access=mmap.ACCESS_READ) as ref:
        size = len(ref)
        p = subprocess.Popen([VMDKIT, "cat", "-q", disk], cwd=case.dir, stdout=subprocess.PIPE, stderr=errf,
                             bufsize=0)
        try:
            fcntl.fcntl(p.stdout.fileno(), 1031, MIB)  # F_SETPIPE_SZ: fewer, larger pipe transfers
        except OSError:
            pass
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        pos, bad, problem = 0, [], None
        while True:
            n = 0
            while n < CHUNK:
                got = p.stdout.readinto(view[n:])
                if not got:
                    break
                n += got
            if n == 0:
                break
            if pos + n > size:
                problem = f"cat gives more than the {size} bytes of the original"
                break
            got, want = (buf if n == CHUNK else bytes(view[:n])), ref[pos:pos + n]
            if got != want:
                for s in range(0, n, SECTOR):
                    if got[s:s + SECTOR] != want[s:s + SECTOR]:
                        a = pos + s
                        if not any(lo <= a and a + SECTOR <= hi for lo, hi in lost):
                            bad.append(a)
            pos += n
        p.stdout.close()
        rc = p.wait(timeout=TIMEOUT)
        errf.seek(0)
        err = errf.read().decode(errors="replace").strip()
    if rc != 0:
        return f"vmdkit cat {disk} exit {rc}: {err[:300]}"
    if problem:
        return problem
    if pos != size:
        return f"cat gave {pos} bytes, the original has {size}"
    if bad:
        return f"{len(bad)} sectors outside the lost ranges differ from the original, first at {bad[0]:#x}"
    return None


def cat_range(case, disk, offset, length):
    rc, out, err = run([VMDKIT, "cat", "-q", disk, "--offset", str(offset), "--length", str(length)], case.dir)
    return out if rc == 0 else None


def run_case(case, references):
    try:
        _run_case(case, references)
    except Exception as error:  # a broken case must not hide the others
        case.xfail = None
        case.fail(f"aborted: {type(error).__name__}: {error}")
    return case


def _run_case(case, references):
    shutil.copytree(os.path.join(TMP, "pristine", case.chain), case.dir)
    if case.target_role in case.files and case.target.endswith(".vmdk"):
        case.k = Kdmv(case.target)
    x = case.damage(case)
    top = case.layers()[0][1]
    damaged = state(case.dir)
    refs = dict(references[case.chain])
    if x.reference_is_damaged:
        for role, name in case.layers():
            path = os.path.join(TMP, "refs", f"{case.name}.{role}.raw")
            with open(path, "wb") as f:
                subprocess.run([VMDKIT, "cat", "-q", name], cwd=case.dir, stdout=f, check=True, timeout=TIMEOUT)
            refs[role] = path

    # check: exit status and the finding at the damaged file and offset
    if x.xfail_check:
        case.xfail = x.xfail
    rc, doc, err = json_of(case, "check", ["check", top, "--json"])
    if doc is None:
        return
    case.expect(rc == x.exit, f"check exits {x.exit}", f"exit {rc}; findings: {findings_text(doc)}; {err[:200]}")
    for codes, file, offset in [(x.codes, x.file, x.offset)] + [((c,), f, o) for c, f, o in x.also]:
        hit = [f for f in doc["findings"]
               if f["code"] in codes and case.norm(f["file"]) == file and f["offset"] == offset]
        case.expect(hit, f"check finds {' or '.join(codes)} at {os.path.basename(file)}+{offset:#x}",
                    f"findings: {findings_text(doc)}")
        if hit and codes == x.codes:
            case.expect(hit[0]["severity"] == x.severity, f"{hit[0]['code']} is a {x.severity}", hit[0]["severity"])
    case.xfail = x.xfail

    # a CID mismatch is left alone unless the user asserts the parent
    if "--accept-cid-mismatch" in x.repair_args:
        rc, doc, _ = json_of(case, "repair without --accept-cid-mismatch", ["repair", top, "--json"])
        if doc is not None:
            case.expect(rc == 2, "repair without --accept-cid-mismatch exits 2", f"exit {rc}")
            case.expect(any(f["code"] == "cid_mismatch" for f in doc["unrepaired"]),
                        "repair without --accept-cid-mismatch lists cid_mismatch as unrepaired",
                        f"unrepaired: {findings_text({'findings': doc['unrepaired']})}")
        case.expect(state(case.dir) == damaged, "repair without --accept-cid-mismatch changes no file",
                    short(n for n, h in state(case.dir).items() if damaged.get(n) != h))

    # repair: exit 4 when it lists lost ranges, else 0 (issue 14)
    damaged_copy = os.path.join(TMP, "refs", f"{case.name}.damaged")
    shutil.copy(case.target, damaged_copy)
    rc, doc, err = json_of(case, "repair", ["repair", top, "--json"] + x.repair_args)
    if doc is None:
        return
    after = doc.get("after") or {}
    want_rc = 4 if x.lost else 0
    if not case.expect(rc == want_rc, f"repair exits {want_rc}",
                       f"exit {rc}; actions: {[a['code'] for a in doc['actions']]}; unrepaired: "
                       f"{findings_text({'findings': doc['unrepaired']})}; {err[:200]}"):
        return
    # Grains no table references after a damage are kept in place, not reclaimed: check still sees
    # them as leaks, and each such leak lies in a kept grain that holds the bytes it held before.
    kept = doc.get("kept", [])

    def in_kept(f):
        return f["code"] == "leaked_grains" and any(
            case.norm(k["file"]) == case.norm(f["file"]) and k["offset"] <= f["offset"] < k["offset"] + k["length"]
            for k in kept)

    case.expect(after.get("corruptions") == 0 and after.get("warning_count") == 0 and
                all(in_kept(f) for f in after.get("findings", [])) and not doc["unrepaired"],
                "repair's own check afterwards is clean but for kept grains", findings_text(after))
    for k in kept:
        if case.norm(k["file"]) == case.target:
            same = read(case.target, k["offset"], k["length"]) == read(damaged_copy, k["offset"], k["length"])
            case.expect(same, f"kept {os.path.basename(k['file'])}[{k['offset']:#x}+{k['length']:#x}] is unchanged")
    os.remove(damaged_copy)
    lost = [(case.norm(r["disk"]), r["offset"], r["length"]) for r in doc["lost"]]
    if x.lost == "any":
        case.expect(lost, "repair lists lost ranges", "none")
    else:
        want = sorted((os.path.normpath(f), o, n) for f, o, n in x.lost)
        case.expect(sorted(lost) == want, "lost ranges: " + (", ".join(
            f"{os.path.basename(f)}[{o:#x}+{n:#x}]" for f, o, n in want) or "none"),
            f"repair reports {[(os.path.basename(f), hex(o), hex(n)) for f, o, n in lost]}")

    # afterwards: vmdkit check, qemu-img check, the content
    rc, out, err = run([VMDKIT, "check", top, "--json"], case.dir)
    try:
        again = json.loads(out)
    except ValueError:
        again = {}
    findings = again.get("findings", [None])
    want_rc = 3 if findings else 0
    case.expect(rc == want_rc and all(f and in_kept(f) for f in findings),
                f"check after repair: exit {want_rc}, no finding but kept grains",
                f"exit {rc}: {findings_text(again)} {err[:200]}")
    for role, name in case.layers():
        rc, out, err = run(["qemu-img", "check", "-f", "vmdk", name], case.dir)
        case.expect(rc == 0, f"qemu-img check {name} after repair", f"exit {rc}: {(out.decode() + err).strip()[:300]}")
    spans = [(o, o + n) for _, o, n in lost]
    for role, name in case.layers():
        if role != "top" and role != "disk" and case.target_role != role:
            continue  # an undamaged base: the top's content covers what it shows
        own = spans if role in ("top", "disk") else [(o, o + n) for f, o, n in lost if f == case.norm(name)]
        problem = cat_compare(case, name, refs[role], own)
        case.expect(problem is None, f"vmdkit cat {name} = original outside the lost ranges", problem or "")
    # what a lost range reads now: the parent's bytes in a delta, zeros in a base
    for f, o, n in lost:
        layer = os.path.basename(f)
        role = next((r for r, name in case.layers() if name == layer), None)
        got = cat_range(case, layer, o, n)
        below = case.files.get(case.parent_of(f)) if role == "top" else None
        want = cat_range(case, below, o, n) if below else bytes(n)
        case.expect(got is not None and got == want,
                    f"lost {layer}[{o:#x}+{n:#x}] reads {'from ' + below if below else 'zeros'}")
    if x.code == "parent_missing" or x.code == "parent_hint_absolute":
        hint = descriptor_value(case.target, "parentFileNameHint")
        case.expect(hint == case.files["base"], f"parentFileNameHint is now \"{case.files['base']}\"", hint or "")
    if x.code == "cid_mismatch":
        want = descriptor_value(os.path.join(case.dir, case.files["base"]), "CID")
        got = descriptor_value(case.target, "parentCID")
        # compared as numbers: qemu writes CIDs without leading zeros, vmdkit with eight digits
        case.expect(got is not None and want is not None and int(got, 16) == int(want, 16),
                    f"parentCID is now the parent's CID {want}", f"{got} (the parent's CID is {want})")

    # undo puts every damaged byte back and removes its log
    rc, out, err = run([VMDKIT, "repair", "--undo", top], case.dir)
    case.expect(rc == 0, "repair --undo exits 0", f"exit {rc}: {err.strip()[:300]}")
    now = state(case.dir)
    changed = [n for n in damaged if now.get(n) != damaged[n]]
    case.expect(not changed, "repair --undo restores every file byte for byte", f"differ: {short(changed)}")
    extra = [n for n in now if n not in damaged]
    case.expect(not extra, "repair --undo leaves no extra file", short(extra))


# --- the suite ---------------------------------------------------------------------------------

def build_cases():
    chains = {
        "qemu": {"top": "top.vmdk", "base": "base.vmdk"},
        "own": {"top": "own-000001.vmdk", "base": "own.vmdk"},
    }
    cases = []
    for n, damage in enumerate(SPARSE):
        label = damage.__name__[2:]
        layers = [("qemu", "base"), ("qemu", "top"), ("own", "base"), ("own", "top")]
        if SANITIZED:  # fewer repetitions, every damage: once, on a base or a delta of either chain in turn
            layers = [layers[n % len(layers)]]
        for chain, role in layers:
            cases.append(Case(f"{label}.{chain}-{role}", chain, chains[chain], role, damage))
    cases.append(Case("leak_rewrite.own-top", "own", chains["own"], "top", d_leak_rewrite))
    for n, damage in enumerate(FOUND_BUGS):
        pairs = [("qemu", "base"), ("own", "top")]
        if SANITIZED:  # each once, on either chain in turn
            pairs = [pairs[n % len(pairs)]]
        for chain, role in pairs:
            cases.append(Case(f"{damage.__name__[2:]}.{chain}-{role}", chain, chains[chain], role, damage))
    for n, damage in enumerate(LINKS):
        for chain in (["qemu", "own"][n % 2],) if SANITIZED else ("qemu", "own"):
            cases.append(Case(f"{damage.__name__[2:]}.{chain}-top", chain, chains[chain], "top", damage))
    cases.append(Case("stream_cut.vmdkit-stream", "vstream", {"disk": "stream.vmdk"}, "disk", d_stream_cut))
    cases.append(Case("stream_cut.qemu-stream", "qstream", {"disk": "stream.vmdk"}, "disk", d_qemu_stream_cut))
    return cases


def main():
    started = time.monotonic()
    shutil.rmtree(TMP, ignore_errors=True)
    for sub in ("pristine", "cases", "refs", "data"):
        os.makedirs(os.path.join(TMP, sub))
    pristine = os.path.join(TMP, "pristine")
    data = os.path.join(TMP, "data")
    make_qemu_chain(os.path.join(pristine, "qemu"))
    make_own_chain(os.path.join(pristine, "own"), data)
    make_streams(os.path.join(pristine, "qstream"), os.path.join(pristine, "vstream"), data)

    # The originals must be sound, and vmdkit must read them as qemu-img does: they are the reference.
    failures = 0
    references = {}
    layouts = {"qemu": {"top": "top.vmdk", "base": "base.vmdk"},
               "own": {"top": "own-000001.vmdk", "base": "own.vmdk"},
               "qstream": {"disk": "stream.vmdk"}, "vstream": {"disk": "stream.vmdk"}}
    for chain, roles in layouts.items():
        d = os.path.join(pristine, chain)
        top = roles.get("top", roles.get("disk"))
        rc, out, _ = run([VMDKIT, "check", top, "--json"], d)
        if rc != 0:
            print(f"FAIL: original {chain} chain does not check clean: exit {rc}: {findings_text(json.loads(out))}")
            failures += 1
        references[chain] = {}
        for role, name in roles.items():
            path = os.path.join(TMP, "refs", f"{chain}.{role}.raw")
            with open(path, "wb") as f:
                subprocess.run([VMDKIT, "cat", "-q", name], cwd=d, stdout=f, check=True, timeout=TIMEOUT)
            qemu = path + ".qemu"
            must(["qemu-img", "convert", "-f", "vmdk", "-O", "raw", name, qemu], d)
            same = sha256(path) == sha256(qemu)
            os.remove(qemu)
            print(f"{'ok' if same else 'FAIL'}: original {chain}/{name}: vmdkit cat = qemu-img convert -O raw")
            failures += 0 if same else 1
            references[chain][role] = path
    for chain in ("qemu", "own"):
        k = Kdmv(os.path.join(pristine, chain, layouts[chain]["base"]))
        assert k.n == 2 and k.rgd and all(k.tables), f"{chain}: expected 2 grain tables with a redundant copy"

    cases = build_cases()
    workers = 2 if (os.cpu_count() or 1) >= 2 else 1
    xfails = 0
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for case in pool.map(lambda c: run_case(c, references), cases):
            print("\n".join(case.lines), flush=True)
            failures += case.failures
            xfails += case.xfails
            if case.xfail and not case.xfails and not case.failures:
                print(f"note: {case.name} passes now: remove its expected-failure mark ({case.xfail})")
            if not case.failures:
                shutil.rmtree(case.dir, ignore_errors=True)
    distinct = len({c.name.split(".")[0] for c in cases})
    print(f"{len(cases)} cases of {distinct} distinct damages, "
          f"{failures} failure(s), {xfails} expected failure(s), "
          f"{time.monotonic() - started:.1f} s")
    if failures == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
