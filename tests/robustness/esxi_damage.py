#!/usr/bin/python3
# Damaged ESXi deltas (issue 6, acceptance 4): a vmfs base with a vmfsSparse (COWD) delta written by
# vmdkit, and a vmfs base with a SESparse delta laid out per vmdk-format.md 4.3 (by
# tests/interop/lib/esxi_images.py), both holding data. Each damage of a header field, the volatile
# header, a directory entry, a table entry, or a truncation is applied to a copy of the delta; then
#   vmdkit info, map and cat exit 1 with "vmdkit: error:" naming the damaged file and an offset
#     (info instead exits 0 when it lists the extent as "error" or "unsupported" with that message,
#     as docs/cli.md says: the descriptor and the other extents are still shown),
#   vmdkit check --json exits 2 with a finding of the expected code at the damaged file and the byte
#     offset of the damaged structure itself (docs/json-output.md).
# Never a signal, a sanitizer report, a timeout, or exit 0 with zeros in place of the data.
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys

VMDKIT = os.path.abspath(os.environ["VMDKIT"])
TMP = os.path.abspath(os.environ["TEST_TMPDIR"])
SOURCE_DIR = os.path.abspath(os.environ["SOURCE_DIR"])
SANITIZED = os.environ.get("VMDKIT_SANITIZED") == "1"
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "interop", "lib"))
import esxi_images  # noqa: E402  (the SESparse layout shared with tests/interop/esxi_read.sh)

SECTOR = 512
MIB = 1 << 20
CAPACITY = 64 * MIB
SECTORS = CAPACITY // SECTOR
TIMEOUT = 300 if SANITIZED else 60
HEX = re.compile(r"0x[0-9a-f]+")


# --- helpers -------------------------------------------------------------------------------------

def run(args, cwd, stdout=subprocess.PIPE):
    p = subprocess.run([VMDKIT] + args, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, timeout=TIMEOUT)
    return p.returncode, (p.stdout or b"").decode(errors="replace"), p.stderr.decode(errors="replace")


def must(args, cwd):
    rc, out, err = run(args, cwd)
    if rc != 0:
        raise SystemExit(f"set-up failed: vmdkit {' '.join(args)}: exit {rc}: {err.strip()}")
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def poke(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def truncate(path, size):
    os.truncate(path, size)


def cat_sha(folder, leaf):
    """sha256 of `vmdkit cat` (exit status, digest) without keeping 64 MiB around."""
    p = subprocess.Popen([VMDKIT, "cat", leaf], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h = hashlib.sha256()
    for block in iter(lambda: p.stdout.read(MIB), b""):
        h.update(block)
    err = p.stderr.read().decode(errors="replace")
    return p.wait(timeout=TIMEOUT), h.hexdigest(), err


def cid_of(descriptor):
    return re.search(r"^CID=([0-9a-f]{8})", read(descriptor).decode(), re.M).group(1)


# --- the two chains ------------------------------------------------------------------------------

def make_base(folder):
    """A 64 MiB vmfs base with data; returns its bytes (what a delta's unallocated grains read)."""
    os.makedirs(folder)
    must(["create", "--type", "vmfs", "--size", "64M", "base.vmdk"], folder)
    model = bytearray(CAPACITY)
    for offset, length, byte in ((0, MIB, 0x11), (17 * MIB + 5, 3 * MIB, 0x22), (60 * MIB, 4 * MIB, 0x33)):
        must(["write", "-q", "--offset", str(offset), "--length", str(length), "--pattern", hex(byte), "base.vmdk"],
             folder)
        model[offset:offset + length] = bytes([byte]) * length
    return model


def make_cowd_chain(folder):
    model = make_base(folder)
    out = must(["snapshot", "-q", "--delta-format", "vmfsSparse", "--seed", "6", "base.vmdk"], folder)
    leaf = os.path.basename(out.strip().splitlines()[-1])
    # Ranges in several 2 MiB tables, unaligned ends, a run over a table boundary, the last sector.
    for offset, length, byte in ((4096, 64 * 1024, 0x5a), (5 * MIB + 123, 100 * 1000, 0x6b),
                                 (4 * MIB - 1000, 3000, 0x7c), (40 * MIB, 300 * 1024, 0x8d),
                                 (CAPACITY - 512, 512, 0x9e)):
        must(["write", "-q", "--offset", str(offset), "--length", str(length), "--pattern", hex(byte), leaf], folder)
        model[offset:offset + length] = bytes([byte]) * length
    return leaf, leaf.replace(".vmdk", "-delta.vmdk"), model


def make_sesparse_chain(folder):
    model = make_base(folder)
    g = 4096
    per_table = 4096  # grains per table: 16 MiB
    # Allocation order differs from LBA order; tables of directory entries 1, 0 and 3 (2 has none).
    grains = [(per_table + 5, esxi_images.pattern(g, 1)), (0, esxi_images.pattern(g, 2)),
              (1, esxi_images.pattern(g, 3)), (2, "zero"), (3, "unmapped")]
    grains += [(i, esxi_images.pattern(g, i)) for i in range(100, 140)]
    grains += [(3 * per_table + 4095, b"\xa5" * g), (per_table + 6, b"\xb6" * g)]
    leaf, extent = "base-000001.vmdk", "base-000001-sesparse.vmdk"
    with open(os.path.join(folder, extent), "wb") as f:
        f.write(esxi_images.sesparse(SECTORS, grains))
    with open(os.path.join(folder, leaf), "w") as f:
        f.write(esxi_images.descriptor("5e5e0001", cid_of(os.path.join(folder, "base.vmdk")), "seSparse",
                                       f'RW {SECTORS} SESPARSE "{extent}"', "base.vmdk"))
    esxi_images.apply(model, grains, g)
    return leaf, extent, model


class Cowd:
    """Where the structures of a COWD file are (vmdk-format.md 4.2.1, 4.2.2)."""

    def __init__(self, path):
        data = read(path)
        self.size = len(data)
        (self.magic, self.version, self.flags, self.num_sectors, self.grain_size, self.gd_offset, self.gd_count,
         self.free_sector) = struct.unpack_from("<4s7I", data, 0)
        assert self.magic == b"COWD", path
        self.gd = list(struct.unpack_from(f"<{self.gd_count}I", data, self.gd_offset * SECTOR))
        self.tables = {i: struct.unpack_from("<4096I", data, s * SECTOR) for i, s in enumerate(self.gd) if s}
        # Allocated grains: (sector, table, entry).
        self.grains = sorted((s, i, e) for i, t in self.tables.items() for e, s in enumerate(t) if s > 1)
        self.used = sorted(self.tables)

    def gde(self, i):
        return self.gd_offset * SECTOR + 4 * i

    def gte(self, i, e):
        return self.gd[i] * SECTOR + 4 * e


class Se:
    """Where the structures of a SESparse file are (vmdk-format.md 4.3.1-4.3.3)."""
    FIELDS = ("magic version capacity grain_size grain_table_size flags reserved1 reserved2 reserved3 reserved4 "
              "volatile_header_offset volatile_header_size journal_header_offset journal_header_size journal_offset "
              "journal_size grain_dir_offset grain_dir_size grain_tables_offset grain_tables_size free_bitmap_offset "
              "free_bitmap_size backmap_offset backmap_size grains_offset grains_size").split()

    def __init__(self, path):
        data = read(path)
        self.size = len(data)
        self.h = dict(zip(self.FIELDS, struct.unpack_from("<26Q", data, 0)))
        assert self.h["magic"] == 0xCAFEBABE, path
        self.vol = self.h["volatile_header_offset"] * SECTOR
        n = -(-self.h["capacity"] // 32768)
        self.gd = list(struct.unpack_from(f"<{n}Q", data, self.h["grain_dir_offset"] * SECTOR))
        self.used = [i for i, e in enumerate(self.gd) if e]
        self.tables = {i: struct.unpack_from("<4096Q", data, self.table_at(i)) for i in self.used}
        self.gt_count = self.h["grain_tables_size"] // 64
        # Allocated grains: (slot, directory index, entry).
        self.grains = sorted((((v >> 48) & 0xFFF) | ((v & 0xFFFFFFFFFFFF) << 12), i, e)
                             for i, t in self.tables.items() for e, v in enumerate(t) if v >> 60 == 3)

    def field(self, name):
        return 8 * self.FIELDS.index(name)

    def table_at(self, i):
        return (self.h["grain_tables_offset"] + (self.gd[i] & 0xFFFFFFFF) * 64) * SECTOR

    def gde(self, i):
        return self.h["grain_dir_offset"] * SECTOR + 8 * i

    def gte(self, i, e):
        return self.table_at(i) + 8 * e

    def grain_end(self, slot):
        return (self.h["grains_offset"] + (slot + 1) * 8) * SECTOR


# --- the damages ---------------------------------------------------------------------------------
# Each case: (name, damage(path, parsed), expected code, expected offset, unsupported), the damage
# applied to the delta's extent file; unsupported: a valid value this reader refuses (info lists it).

def cowd_cases(c):
    first, second, last = c.used[0], c.used[1], c.used[-1]
    grain = c.grains[len(c.grains) // 2]  # (sector, table, entry) of a grain in the middle
    last_grain = c.grains[-1]
    return [
        ("header magic", lambda p: poke(p, 0, b"COWE"), "header_invalid", 0, False),
        ("header version 2", lambda p: poke(p, 4, u32(2)), "header_unsupported", 4, True),
        ("grain size 3 sectors", lambda p: poke(p, 16, u32(3)), "header_invalid", 16, False),
        ("capacity below the descriptor line", lambda p: poke(p, 12, u32(SECTORS - 1)),
         "header_capacity_mismatch", 12, False),
        ("too few directory entries", lambda p: poke(p, 24, u32(c.gd_count - 1)), "header_invalid", 24, False),
        ("directory inside the header", lambda p: poke(p, 20, u32(2)), "header_invalid", 20, False),
        ("directory past end of file", lambda p: poke(p, 20, u32(c.size // SECTOR)), "header_invalid", 20, False),
        ("header cut short", lambda p: truncate(p, 1000), "header_truncated", 0, False),
        ("directory entry past end of file", lambda p: poke(p, c.gde(second), u32(c.size // SECTOR + 7)),
         "gd_entry_past_eof", c.gde(second), False),
        ("directory entry into the metadata", lambda p: poke(p, c.gde(first), u32(c.gd_offset)),
         "gd_entry_into_metadata", c.gde(first), False),
        ("two directory entries, one table", lambda p: poke(p, c.gde(last), u32(c.gd[first])),
         "gd_entries_share_table", c.gde(last), False),
        ("table entry past end of file", lambda p: poke(p, c.gte(grain[1], grain[2]), u32(c.size // SECTOR + 100)),
         "gt_entry_past_eof", c.gte(grain[1], grain[2]), False),
        ("table entry into the header", lambda p: poke(p, c.gte(grain[1], grain[2]), u32(2)),
         "gt_entry_into_metadata", c.gte(grain[1], grain[2]), False),
        ("table entry into a grain table", lambda p: poke(p, c.gte(grain[1], grain[2]), u32(c.gd[last] + 3)),
         "gt_entry_into_metadata", c.gte(grain[1], grain[2]), False),
        ("file cut before its last grain", lambda p: truncate(p, last_grain[0] * SECTOR),
         "gt_entry_past_eof", c.gte(last_grain[1], last_grain[2]), False),
        ("file cut inside its last grain table", lambda p: truncate(p, c.gd[last] * SECTOR + 8192),
         "gd_entry_past_eof", c.gde(last), False),
    ]


def se_cases(s):
    first, last = s.used[0], s.used[-1]
    unused = next(i for i in range(len(s.gd)) if not s.gd[i])
    slot, gi, ge = s.grains[len(s.grains) // 2]
    last_slot = s.grains[-1]
    zero_entry = next((i, e) for i, t in s.tables.items() for e, v in enumerate(t) if v == 0)
    f = s.field
    return [
        ("header magic", lambda p: poke(p, 0, u64(0xCAFEBABF)), "header_invalid", 0, False),
        ("header version 2.2", lambda p: poke(p, f("version"), u64(0x200000002)), "header_unsupported",
         f("version"), True),
        ("reserved field set", lambda p: poke(p, f("reserved2"), u64(1)), "header_invalid", f("reserved2"), False),
        ("capacity below the descriptor line", lambda p: poke(p, f("capacity"), u64(SECTORS - 8)),
         "header_capacity_mismatch", f("capacity"), False),
        ("grain directory of 0 sectors", lambda p: poke(p, f("grain_dir_size"), u64(0)), "header_invalid",
         f("grain_dir_size"), False),
        ("free bitmap over the directory", lambda p: poke(p, f("free_bitmap_offset"), u64(s.h["grain_dir_offset"])),
         "header_invalid", f("free_bitmap_offset"), False),
        ("header padding not zero", lambda p: poke(p, 300, b"\x01"), "header_invalid", 208, False),
        ("header cut short", lambda p: truncate(p, 300), "header_truncated", 0, False),
        ("volatile header magic", lambda p: poke(p, s.vol, u64(0xCAFEBABE)), "header_invalid", s.vol, False),
        ("journal to replay", lambda p: poke(p, s.vol + 24, u64(1)), "journal_replay_needed", s.vol + 24, True),
        ("directory entry of the wrong form", lambda p: poke(p, s.gde(first), u64(0x2000000000000000)),
         "gd_entry_invalid", s.gde(first), False),
        ("directory entry past the tables region", lambda p: poke(p, s.gde(unused), u64(0x1000000000000000 | s.gt_count)),
         "gd_entry_invalid", s.gde(unused), False),
        ("two directory entries, one table", lambda p: poke(p, s.gde(unused), u64(s.gd[first])),
         "gd_entries_share_table", s.gde(max(first, unused)), False),
        ("file cut inside the grain tables", lambda p: truncate(p, s.table_at(last) + 4096),
         "gd_entry_past_eof", s.gde(last), False),
        ("table entry of unknown type 4", lambda p: poke(p, s.gte(gi, ge), u64(0x4000000000000000)),
         "gt_entry_invalid", s.gte(gi, ge), False),
        ("unallocated table entry not 0", lambda p: poke(p, s.gte(*zero_entry), u64(5)),
         "gt_entry_invalid", s.gte(*zero_entry), False),
        ("table entry past the grains region",
         lambda p: poke(p, s.gte(gi, ge), u64(esxi_images_entry(s.h["grains_size"] // 8))),
         "gt_entry_invalid", s.gte(gi, ge), False),
        ("table entry past end of file", lambda p: poke(p, s.gte(gi, ge), u64(esxi_images_entry(slot + 5000))),
         "gt_entry_past_eof", s.gte(gi, ge), False),
        ("file cut before its last grain", lambda p: truncate(p, s.grain_end(last_slot[0]) - 4096),
         "gt_entry_past_eof", s.gte(last_slot[1], last_slot[2]), False),
    ]


def sample_cases(s):
    """Damages of the real ESXi file (its regions laid out as ESXi does, 4.3.1; one full table)."""
    first = s.used[0]
    slot, gi, ge = s.grains[len(s.grains) // 2]
    last_slot = s.grains[-1]
    return [
        ("journal to replay", lambda p: poke(p, s.vol + 24, u64(1)), "journal_replay_needed", s.vol + 24, True),
        ("directory entry of the wrong form", lambda p: poke(p, s.gde(first), u64(0x2000000000000000)),
         "gd_entry_invalid", s.gde(first), False),
        ("table entry of unknown type 4", lambda p: poke(p, s.gte(gi, ge), u64(0x4000000000000000)),
         "gt_entry_invalid", s.gte(gi, ge), False),
        ("file cut before its last grain", lambda p: truncate(p, s.grain_end(last_slot[0]) - 4096),
         "gt_entry_past_eof", s.gte(last_slot[1], last_slot[2]), False),
    ]


def make_sample_chain(folder):
    """The real SESparse sample ($SAMPLES/esxi, read at test time, never copied into the project)."""
    import gzip
    os.makedirs(folder)
    src = os.path.join(os.environ["SAMPLES"], "esxi")
    with gzip.open(os.path.join(src, "disk-sesparse.vmdk.gz")) as f, \
            open(os.path.join(folder, "disk-sesparse.vmdk"), "wb") as out:
        shutil.copyfileobj(f, out)
    shutil.copyfile(os.path.join(src, "sesparse.vmdk"), os.path.join(folder, "sesparse.vmdk"))
    return "sesparse.vmdk", "disk-sesparse.vmdk", None


def has_sample():
    d = os.path.join(os.environ.get("SAMPLES", ""), "esxi")
    return all(os.path.isfile(os.path.join(d, n)) for n in ("disk-sesparse.vmdk.gz", "sesparse.vmdk"))


def esxi_images_entry(slot):
    """The SESparse encoding of an allocated grain in slot `slot` (4.3.3)."""
    return 0x3000000000000000 | ((slot & 0xFFF) << 48) | (slot >> 12)


# --- running a case ------------------------------------------------------------------------------

def copy_chain(src, dst, damaged):
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    for name in os.listdir(src):
        if name == damaged:
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
        else:
            os.link(os.path.join(src, name), os.path.join(dst, name))  # read-only commands only


def names_damage(text, extent):
    return extent in text and HEX.search(text) is not None


def run_case(folder, leaf, extent, case):
    name, _, code, offset, unsupported = case
    problems = []
    for cmd in (["info"], ["map", "--json"], ["cat"]):
        if cmd == ["cat"]:
            rc, _, err = cat_sha(folder, leaf)
            out = ""
        else:
            rc, out, err = run(cmd + [leaf], folder)
        if rc < 0 or rc > 1:
            problems.append(f"vmdkit {cmd[0]}: exit {rc} (a signal or a sanitizer report?): {err.strip()[:400]}")
        elif rc == 1:
            if not (err.startswith("vmdkit: error:") and names_damage(err, extent)):
                problems.append(f"vmdkit {cmd[0]}: the message does not name {extent} and an offset: {err.strip()}")
        elif cmd == ["info"] and ("unsupported" in out or ": error (" in out) and names_damage(out, extent):
            pass  # info lists the extent as not readable, with the reader's message
        else:
            problems.append(f"vmdkit {cmd[0]}: exit 0 on a damaged delta")
    rc, out, err = run(["check", "--json", leaf], folder)
    if rc != 2:
        problems.append(f"vmdkit check: exit {rc}, expected 2: {err.strip()[:400]}")
    try:
        report = json.loads(out)
    except ValueError:
        problems.append(f"vmdkit check --json printed no JSON: {out[:200]!r}")
        return problems
    findings = report.get("findings", [])
    hits = [f for f in findings if f["code"] == code and os.path.basename(f["file"]) == extent and f["offset"] == offset]
    if not hits:
        got = [(f["code"], os.path.basename(f["file"]), f["offset"]) for f in findings]
        problems.append(f"vmdkit check: no {code} finding in {extent} at {offset:#x}; found {got}")
    elif hits[0]["severity"] != "corruption" or not hits[0]["message"]:
        problems.append(f"vmdkit check: the {code} finding is not a corruption with a message: {hits[0]}")
    others = [f for f in findings if os.path.basename(f["file"]) != extent]
    if others:
        problems.append(f"vmdkit check: findings in undamaged files: {others}")
    if report.get("corruptions", 0) < 1:
        problems.append("vmdkit check: corruptions is 0")
    return problems


def main():
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(TMP)
    failures = 0
    total = 0
    kinds = [("vmfsSparse (COWD)", make_cowd_chain, Cowd, cowd_cases),
             ("seSparse", make_sesparse_chain, Se, se_cases)]
    if has_sample():
        kinds.append(("ESXi-sample seSparse", make_sample_chain, Se, sample_cases))
    else:
        print("note: no $SAMPLES/esxi SESparse sample: its cases are skipped")
    for kind, make, parse, cases in kinds:
        clean = os.path.join(TMP, kind.split()[0] + "-clean")
        leaf, extent, model = make(clean)
        # The undamaged chain: check is clean and cat reads the model (the set-up is right).
        rc, out, err = run(["check", "--json", leaf], clean)
        if rc != 0:
            raise SystemExit(f"{kind}: check of the undamaged chain exits {rc}: {out} {err}")
        if model is not None:
            rc, digest, err = cat_sha(clean, leaf)
            if rc != 0 or digest != hashlib.sha256(model).hexdigest():
                raise SystemExit(f"{kind}: the undamaged chain does not read as written (exit {rc}) {err}")
        parsed = parse(os.path.join(clean, extent))
        assert model is None or len(parsed.used) >= 3, f"{kind}: the delta should use three grain tables"
        all_cases = cases(parsed)
        # Under the sanitizers every run costs more: every other case (header, directory, table and
        # truncation cases each keep some).
        chosen = all_cases[::2] if SANITIZED else all_cases
        work = os.path.join(TMP, "case")
        for case in chosen:
            total += 1
            copy_chain(clean, work, extent)
            case[1](os.path.join(work, extent))
            problems = run_case(work, leaf, extent, case)
            if problems:
                failures += 1
                keep = os.path.join(TMP, f"failed-{kind.split()[0]}-{case[0].replace(' ', '-')}")
                shutil.rmtree(keep, ignore_errors=True)
                shutil.copytree(work, keep)
                print(f"FAIL {kind}: {case[0]}  [kept in {keep}]")
                for p in problems:
                    print("    " + p)
            else:
                print(f"ok   {kind}: {case[0]} -> {case[2]} at {case[3]:#x}")
        shutil.rmtree(work, ignore_errors=True)
    print(f"{total} damaged deltas, {failures} failing{' (sanitized build: every other case)' if SANITIZED else ''}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
