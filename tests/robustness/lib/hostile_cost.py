#!/usr/bin/python3
# Hostile inputs whose cost must follow their bytes, not their claims (issue 16, acceptance 4): each
# file is a few MB at most (sparse files where larger), each command must end in under 2 s with a
# peak RSS under 64 MiB plus the grains in flight, succeeding or failing with a clear error.
# The files are built here from the format (vmdk-format.md 2.1-2.5, 3, 1.6), never copied in.
#
# Under the sanitizers (VMDKIT_SANITIZED=1) the time bound is scaled by 10 and the memory bound is
# not checked: ASan's shadow memory and quarantine make RSS meaningless there.
import os
import resource
import struct
import subprocess
import sys
import time
import zlib

VMDKIT = os.path.abspath(os.environ["VMDKIT"])
TMP = os.path.abspath(os.environ["TEST_TMPDIR"])
SANITIZED = bool(os.environ.get("VMDKIT_SANITIZED"))
SECTOR = 512
MIB = 1 << 20
SECONDS = 20.0 if SANITIZED else 2.0
RSS_MIB = 64
KILL_AFTER = float(os.environ.get("HOSTILE_KILL_AFTER", "60"))  # a case that would run for hours fails here

failures = 0


def fail(message):
    global failures
    failures += 1
    print("FAIL: " + message, file=sys.stderr, flush=True)


def ok(message):
    print("ok: " + message, flush=True)


# --- building files ----------------------------------------------------------------------------

def sparse_header(capacity, grain, gd_offset, overhead, flags=0x1, descriptor=(0, 0), gtes=512, compress=0):
    """A KDMV header (vmdk-format.md 2.1), 512 bytes; descriptor is (offset, size) in sectors."""
    head = struct.pack("<IIIQQQQIQQQB4sH", 0x564D444B, 1 if compress == 0 else 3, flags, capacity, grain,
                       descriptor[0], descriptor[1], gtes, 0, gd_offset, overhead, 0, b"\n \r\n", compress)
    return head + bytes(SECTOR - len(head))


def embedded_descriptor(name, sectors, create_type="monolithicSparse", sectors_field=2):
    text = ("# Disk DescriptorFile\nversion=1\nCID=1234abcd\nparentCID=ffffffff\n"
            'createType="%s"\n\n# Extent description\nRW %d SPARSE "%s"\n' % (create_type, sectors, name))
    data = text.encode()
    return data + bytes(sectors_field * SECTOR - len(data))


def write_file(name, parts, size=None):
    """parts: (byte offset, bytes); size: the file's length (a sparse tail costs no space)."""
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        for at, data in parts:
            f.seek(at)
            f.write(data)
        if size is not None:
            f.truncate(size)
    return path


def aliased_directory(name, entries=1_000_000, one_grain=True):
    """Case a: a hosted sparse file whose `entries` directory entries all name one grain table; the
    table's 512 entries all name one grain (one_grain) or only its first entry does."""
    gd = 3
    gd_sectors = (entries * 4 + SECTOR - 1) // SECTOR
    gt = gd + gd_sectors
    overhead = (gt + 4 + 127) // 128 * 128
    capacity = entries * 512 * 128
    table = [overhead] * 512 if one_grain else [overhead] + [0] * 511
    parts = [
        (0, sparse_header(capacity, 128, gd, overhead, descriptor=(1, 2))),
        (SECTOR, embedded_descriptor(name, capacity)),
        (gd * SECTOR, struct.pack("<%dI" % entries, *([gt] * entries))),
        (gt * SECTOR, struct.pack("<512I", *table)),
        (overhead * SECTOR, b"\xa5" * (64 * 1024)),
    ]
    return write_file(name, parts), capacity


def big_grain_sparse(name, grain_sectors):
    """Case c: a hosted sparse disk whose grains are grain_sectors long, one table, no grain yet
    (the file is small: grains would be appended by a write)."""
    capacity = grain_sectors * 512
    gd, gt = 3, 4
    overhead = (gt + 4 + grain_sectors - 1) // grain_sectors * grain_sectors
    parts = [
        (0, sparse_header(capacity, grain_sectors, gd, overhead, descriptor=(1, 2))),
        (SECTOR, embedded_descriptor(name, capacity)),
        (gd * SECTOR, struct.pack("<I", gt)),
        (gt * SECTOR, bytes(512 * 4)),
    ]
    return write_file(name, parts, size=8 * SECTOR)


def big_grain_stream(name, grain_sectors, grains=4):
    """Case c: a streamOptimized file (directory in the header, vmdk-format.md 3) whose compressed
    grains each claim grain_sectors sectors; each holds a small deflate stream of zeros."""
    capacity = grain_sectors * grains
    gd, gt = 3, 4
    first = 8
    payload = zlib.compress(bytes(4 * MIB), 9)
    parts = []
    table = [0] * 512
    at = first
    for g in range(grains):
        marker = struct.pack("<QI", g * grain_sectors, len(payload)) + payload
        marker += bytes((-len(marker)) % SECTOR)
        parts.append((at * SECTOR, marker))
        table[g] = at
        at += len(marker) // SECTOR
    parts += [
        (0, sparse_header(capacity, grain_sectors, gd, first, flags=0x30001, descriptor=(1, 2), compress=1)),
        (SECTOR, embedded_descriptor(name, capacity, "streamOptimized")),
        (gd * SECTOR, struct.pack("<I", gt)),
        (gt * SECTOR, struct.pack("<512I", *table)),
    ]
    return write_file(name, parts)


def descriptor_file(name, lines, parent=None):
    text = "# Disk DescriptorFile\nversion=1\nCID=%08x\nparentCID=%s\ncreateType=\"%s\"\n" % (
        0x1000 + len(name), "ffffffff" if parent is None else parent[1], "monolithicSparse")
    if parent is not None:
        text += 'parentFileNameHint="%s"\n' % parent[0]
    text += "\n# Extent description\n" + "".join(line + "\n" for line in lines)
    return write_file(name, [(0, text.encode())])


def empty_sparse(name, capacity, grain=128):
    """A bare hosted sparse extent with a directory of zeros: every byte unallocated."""
    entries = (capacity + grain * 512 - 1) // (grain * 512)
    gd = 1
    gd_sectors = (entries * 4 + SECTOR - 1) // SECTOR
    overhead = (gd + gd_sectors + grain - 1) // grain * grain
    return write_file(name, [(0, sparse_header(capacity, grain, gd, overhead))], size=overhead * SECTOR)


def cid_of(name):
    return "%08x" % (0x1000 + len(name))


# --- running commands --------------------------------------------------------------------------

# Peak RSS comes from wait4 in a fresh, small Python (about 10 MiB) that forks and execs the
# command: Linux carries a process's peak RSS across fork and exec, so waiting for vmdkit directly
# from this script (which holds the built files) would report this script's peak instead.
# The launcher also times the command alone (a loaded machine takes a while to start Python).
LAUNCHER = """
import os, sys, time
start = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write("%d %f" % (usage.ru_maxrss, time.monotonic() - start))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def measure(args):
    """(exit code, seconds, peak RSS in MiB, stderr and start of stdout) of one command; killed
    after KILL_AFTER."""
    rss_file = os.path.join(TMP, "rss")
    if os.path.exists(rss_file):
        os.unlink(rss_file)
    start = time.monotonic()
    with open(os.path.join(TMP, "out"), "wb") as out, open(os.path.join(TMP, "err"), "wb") as err:
        p = subprocess.Popen([sys.executable, "-c", LAUNCHER, rss_file] + args, cwd=TMP, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = p.wait(timeout=KILL_AFTER)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            code = p.wait()
    seconds = time.monotonic() - start
    rss = 0.0
    if os.path.exists(rss_file):  # not there when the command was killed: the wall time counts
        with open(rss_file) as f:
            kib, alone = f.read().split()
        rss = int(kib) / 1024.0
        seconds = float(alone)
    with open(os.path.join(TMP, "err"), errors="replace") as f:
        text = f.read()
    with open(os.path.join(TMP, "out"), errors="replace") as f:
        text += f.read(1 << 16)
    return code, seconds, rss, text


def case(what, args, exits, grains_mib=0, says=None):
    """Runs vmdkit args; its exit code must be in exits, its time and memory under the bounds, and
    its messages (stderr, or the report for info and check) must contain every text of says."""
    code, seconds, rss, err = measure([VMDKIT] + args)
    figures = "exit %d, %.2f s, %.1f MiB" % (code, seconds, rss)
    good = True
    if code not in exits:
        fail("%s: %s, expected exit %s; stderr: %s" % (what, figures, exits, err[:400]))
        good = False
    if seconds > SECONDS:
        fail("%s: %s: over %.0f s" % (what, figures, SECONDS))
        good = False
    if not SANITIZED and rss > RSS_MIB + grains_mib:
        fail("%s: %s: over %d MiB" % (what, figures, RSS_MIB + grains_mib))
        good = False
    for text in says or []:
        if text not in err:
            fail("%s: the error does not say %r: %s" % (what, text, err[:400]))
            good = False
    if good:
        ok("%s (%s)" % (what, figures))
    return code


# --- the cases ---------------------------------------------------------------------------------

def directory_aliases():
    """a. a million directory entries naming one table."""
    aliased_directory("alias1.vmdk", one_grain=True)
    aliased_directory("alias2.vmdk", one_grain=False)
    case("a: info of a million entries naming one table", ["info", "--json", "alias1.vmdk"], [0])
    with open(os.path.join(TMP, "out")) as f:
        text = f.read()
    if '"allocated": 65536' in text.replace(" ", "").replace('":', '": '):
        ok("a: info counts the one grain once")
    else:
        fail("a: info does not report 64 KiB allocated: %s" % text[:300])
    case("a: check of it", ["check", "--json", "alias1.vmdk"], [0, 2, 3])
    case("a: info of a million entries naming one table of one grain", ["info", "alias2.vmdk"], [0])
    case("a: cat of its last MiB", ["cat", "--offset", str((1_000_000 * 32 - 1) * MIB), "--length", str(MIB),
                                    "alias2.vmdk"], [0])


def claims_past_the_file():
    """Neighbours of a: a directory of 32 Mi entries (1 PiB of capacity) in a 4 KiB file, and a
    descriptor line naming it: refused at open, naming the field, before anything is allocated."""
    capacity = (32 << 20) * 512 * 128
    write_file("claims.vmdk", [(0, sparse_header(capacity, 128, 3, 8, descriptor=(1, 2))),
                               (SECTOR, embedded_descriptor("claims.vmdk", capacity))], size=4096)
    for verb in (["info"], ["map", "--json"], ["check"], ["cat", "--length", "512"]):
        case("a': %s of a 4 KiB file claiming a 128 MiB directory" % verb[0], verb + ["claims.vmdk"], [0, 1, 2],
             says=["grain directory ends past end of file"])


def extent_aliases():
    """b. 500 descriptor lines naming one such extent file."""
    name, capacity = aliased_directory("shared.vmdk", one_grain=False)
    descriptor_file("lines500.vmdk", ['RW %d SPARSE "shared.vmdk"' % capacity] * 500)
    for verb in (["info"], ["info", "--json"], ["map", "--json"]):
        case("b: %s of 500 lines naming one sparse file" % " ".join(verb), verb + ["lines500.vmdk"], [0, 1])
    case("b: cat refuses it", ["cat", "--length", "512", "lines500.vmdk"], [1], says=["lines500.vmdk"])
    code = case("b: check reports the aliases", ["check", "--json", "lines500.vmdk"], [2])
    with open(os.path.join(TMP, "out")) as f:
        text = f.read()
    if code == 2 and "extents_share_file" in text:
        ok("b: check names extents_share_file")
    else:
        fail("b: check does not name extents_share_file: %s" % text[:300])
    # The same with sizes that differ line by line: nothing to share by size.
    descriptor_file("lines500b.vmdk", ['RW %d SPARSE "shared.vmdk"' % (capacity - k * 128) for k in range(500)])
    case("b: info of 500 lines of different sizes naming one file", ["info", "lines500b.vmdk"], [0, 1])


def huge_grains():
    """c. grains of 1 GiB: refused at open by every command, naming the header field."""
    big_grain_stream("stream1g.vmdk", 0x200000)
    big_grain_sparse("sparse1g.vmdk", 0x200000)
    says = ["grain size", "0x200000"]
    case("c: cat of a stream with 1 GiB grains", ["cat", "--length", str(MIB), "stream1g.vmdk"], [1], says=says)
    # info lists the extent as damaged with the reason, check reports it (header_invalid).
    case("c: info of it", ["info", "stream1g.vmdk"], [0], says=says)
    case("c: check of it", ["check", "stream1g.vmdk"], [2], says=says + ["header_invalid"])
    case("c: write of 1 byte into 1 GiB grains", ["write", "-q", "--offset", "0", "--pattern", "1", "--length", "1",
                                                  "sparse1g.vmdk"], [1], says=says)
    case("c: convert of it", ["convert", "-q", "--to", "raw", "sparse1g.vmdk", "out.raw"], [1], says=says)
    # The largest grain accepted still reads (16 MiB grains: one in flight per read).
    big_grain_stream("stream16m.vmdk", 0x8000)
    case("c: cat of a stream with 16 MiB grains", ["cat", "stream16m.vmdk"], [0], grains_mib=3 * 16)


def empty_expanses():
    """d, e. ZERO and unallocated expanses of any size are one range."""
    descriptor_file("zero63.vmdk", ["RW 18014398509481984 ZERO"])
    code = case("d: map of a 2^63-byte ZERO extent", ["map", "--json", "zero63.vmdk"], [0])
    with open(os.path.join(TMP, "out")) as f:
        text = f.read()
    if code == 0 and text.count('"offset"') <= 3:
        ok("d: map shows it as one range")
    else:
        fail("d: map shows %d ranges: %s" % (text.count('"offset"'), text[:300]))
    case("d: map (text) of it", ["map", "zero63.vmdk"], [0])
    case("d: info of it", ["info", "zero63.vmdk"], [0])
    descriptor_file("zero60.vmdk", ["RW 2251799813685248 ZERO"])
    case("e: check of a 2^60-byte disk", ["check", "zero60.vmdk"], [0])
    # Many ZERO lines and an unallocated sparse extent of 2 TiB under them.
    lines = []
    for k in range(4):
        empty_sparse("empty2t-%d.vmdk" % k, 1 << 32)
        lines += ["RW 4294967296 ZERO", 'RW 4294967296 SPARSE "empty2t-%d.vmdk"' % k]
    descriptor_file("mixed.vmdk", lines)
    case("d: map of 8 ZERO and unallocated extents of 2 TiB", ["map", "--json", "mixed.vmdk"], [0])
    # An extent line far larger than its sparse file's capacity (1 MiB): the rest is unallocated.
    empty_sparse("small.vmdk", 2048)
    descriptor_file("bigline.vmdk", ['RW 18014398509481984 SPARSE "small.vmdk"'])
    case("d: map of a 2^63-byte line over a 1 MiB sparse file", ["map", "--json", "bigline.vmdk"], [0])
    case("d: info of it", ["info", "bigline.vmdk"], [0])
    # A chain of six layers, each unallocated over 2 TiB, above a ZERO base of 2 TiB.
    descriptor_file("base.vmdk", ["RW 4294967296 ZERO"])
    parent = ("base.vmdk", cid_of("base.vmdk"))
    for depth in range(1, 7):
        empty_sparse("layer%d-s.vmdk" % depth, 1 << 32)
        name = "layer%d.vmdk" % depth
        descriptor_file(name, ['RW 4294967296 SPARSE "layer%d-s.vmdk"' % depth], parent=parent)
        parent = (name, cid_of(name))
    case("d: map of a 7-layer chain of empty 2 TiB layers", ["map", "--json", "layer6.vmdk"], [0])
    case("d: map of it (text, strips)", ["map", "layer6.vmdk"], [0])
    case("e: check of it", ["check", "layer6.vmdk"], [0])


def main():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    only = sys.argv[1:] or ["a", "a2", "b", "c", "d"]
    table = {"a": directory_aliases, "a2": claims_past_the_file, "b": extent_aliases, "c": huge_grains,
             "d": empty_expanses}
    for key in only:
        table[key]()
    if failures:
        print("%d failure(s)" % failures, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
