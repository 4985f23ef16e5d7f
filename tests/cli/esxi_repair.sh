#!/bin/bash
# repair of ESXi deltas (issue 6): damaged grain table and directory entries of a vmfsSparse (COWD)
# and a seSparse delta made by vmdkit are found by check at their offsets, cleared by repair (the
# ranges then read from the parent and are listed as lost), check calls the result clean, the disk
# reads as before outside the lost ranges, and --undo puts the damaged bytes back. (qemu-img check
# and qemu-img's reading of the repaired disks: tests/interop/esxi_repair_qemu.sh.)
# ctest-cost: 37
source "$(dirname "$0")/common.bash"
need sha256sum

# In a new folder $1 (entered): b.vmdk with 1 MiB written, its delta b-000001.vmdk of kind $2 with
# $3 written from 512K; before.raw and parent.raw hold what each reads; $extent is the delta's file.
make_delta() {
  mkdir -p "$1" && cd "$1" || exit 1
  "$VMDKIT" create -q --type vmfs --size 40M --seed 1 b.vmdk
  "$VMDKIT" write -q b.vmdk --offset 0 --length 1M --pattern 0x11
  "$VMDKIT" snapshot -q --seed 2 --delta-format "$2" b.vmdk >/dev/null
  "$VMDKIT" write -q b-000001.vmdk --offset 512K --length "$3" --pattern 0x22
  "$VMDKIT" cat b-000001.vmdk >before.raw
  "$VMDKIT" cat b.vmdk >parent.raw
  extent=$(ls b-000001-*.vmdk)
}

# After repair (repair.json, after.raw): two lost ranges; outside them the disk reads as before,
# inside them it reads the parent.
lost_ranges_read_the_parent() {
  "$PY" - repair.json before.raw after.raw parent.raw <<'PYEOF'
import json, sys
report = json.load(open(sys.argv[1]))
before, after, parent = (open(p, "rb").read() for p in sys.argv[2:5])
lost = [(r["offset"], r["length"]) for r in report["lost"]]
assert len(lost) == 2, lost
expect = bytearray(before)
for off, length in lost:
    expect[off:off + length] = parent[off:off + length]
assert bytes(expect) == after, "content differs"
PYEOF
}

for kind in vmfsSparse seSparse; do
  make_delta "$kind" "$kind" 20M
  # Damage: one table entry of an unknown kind, and a second directory entry naming the first's table.
  "$PY" - "$extent" "$kind" >damage.txt <<'PYEOF'
import struct, sys
path, kind = sys.argv[1], sys.argv[2]
d = bytearray(open(path, "rb").read())
if kind == "seSparse":
    gd, gt = struct.unpack_from("<Q", d, 128)[0] * 512, struct.unpack_from("<Q", d, 144)[0] * 512
    table0 = gt + (struct.unpack_from("<Q", d, gd)[0] & 0xffffffff) * 32768
    struct.pack_into("<Q", d, table0 + 8 * 200, 0x5000000000000000)  # grain 200: unknown type 5
    struct.pack_into("<Q", d, gd + 8, struct.unpack_from("<Q", d, gd)[0])  # entry 1 names table 0 too
    print(table0 + 8 * 200, gd + 8)
else:
    gd = struct.unpack_from("<I", d, 20)[0] * 512  # gdOffset
    table0 = struct.unpack_from("<I", d, gd)[0] * 512
    struct.pack_into("<I", d, table0 + 4 * 1500, 0x7fffffff)  # sector 1500: far past the end of the file
    struct.pack_into("<I", d, gd + 4, struct.unpack_from("<I", d, gd)[0])  # entry 1 names table 0 too
    print(table0 + 4 * 1500, gd + 4)
open(path, "wb").write(d)
PYEOF
  read -r entry_at dir_at <damage.txt
  damaged=$(sha256sum "$extent")
  expect_exit 2 "$kind: check finds the damage" -- "$VMDKIT" check --json b-000001.vmdk
  "$PY" - "$TEST_TMPDIR/out" "$extent" "$entry_at" "$dir_at" <<'PYEOF' && pass "$kind: findings at the damaged entries, repairable" || fail "$kind: findings: $(head -c 1500 "$TEST_TMPDIR/out")"
import json, sys
d = json.load(open(sys.argv[1]))
want = {(sys.argv[2], int(sys.argv[3])), (sys.argv[2], int(sys.argv[4]))}
got = {(f["file"], f["offset"]) for f in d["findings"]}
assert want <= got, (want, got)
assert all(f["repairable"] for f in d["findings"]), d["findings"]
PYEOF
  expect_exit 4 "$kind: repair (exit 4: ranges lost)" -- "$VMDKIT" repair --json b-000001.vmdk
  cp "$TEST_TMPDIR/out" repair.json
  expect_exit 0 "$kind: check is clean after repair" -- "$VMDKIT" check b-000001.vmdk
  "$VMDKIT" cat b-000001.vmdk >after.raw
  lost_ranges_read_the_parent && pass "$kind: same content outside the lost ranges, the parent's inside" || fail "$kind: content after repair"
  expect_exit 0 "$kind: undo" -- "$VMDKIT" repair --undo b-000001.vmdk
  [ "$damaged" = "$(sha256sum "$extent")" ] && pass "$kind: undo put the damaged bytes back" || fail "$kind: undo"
  cd ..
done

# Two table entries naming one grain (a cross-link: a write through either range would show in
# both): check lists both entries, repair clears both and loses exactly those two grains.
for kind in vmfsSparse seSparse; do
  make_delta "$kind-shared" "$kind" 2M
  "$PY" - "$extent" "$kind" >shared.txt <<'PYEOF'
import struct, sys
path, kind = sys.argv[1], sys.argv[2]
d = bytearray(open(path, "rb").read())
if kind == "seSparse":
    gd, gt = struct.unpack_from("<Q", d, 128)[0] * 512, struct.unpack_from("<Q", d, 144)[0] * 512
    table0 = gt + (struct.unpack_from("<Q", d, gd)[0] & 0xffffffff) * 32768
    size, fmt, allocated = 8, "<Q", lambda v: v >> 60 == 3
else:
    gd = struct.unpack_from("<I", d, 20)[0] * 512
    table0 = struct.unpack_from("<I", d, gd)[0] * 512
    size, fmt, allocated = 4, "<I", lambda v: v > 1
entries = [e for e in range(4096) if allocated(struct.unpack_from(fmt, d, table0 + e * size)[0])]
first, second = entries[0], entries[len(entries) // 2]
struct.pack_into(fmt, d, table0 + second * size, struct.unpack_from(fmt, d, table0 + first * size)[0])
open(path, "wb").write(d)
print(table0 + first * size, table0 + second * size)
PYEOF
  read -r first_at second_at <shared.txt
  expect_exit 2 "$kind: check finds the shared grain" -- "$VMDKIT" check --json b-000001.vmdk
  "$PY" - "$TEST_TMPDIR/out" "$first_at" "$second_at" <<'PYEOF' && pass "$kind: both entries listed as sharing a grain, repairable" || fail "$kind: shared-grain findings: $(head -c 1500 "$TEST_TMPDIR/out")"
import json, sys
d = json.load(open(sys.argv[1]))
got = sorted((f["code"], f["offset"], f["repairable"]) for f in d["findings"])
assert got == [("gt_entries_share_grain", int(sys.argv[2]), True), ("gt_entries_share_grain", int(sys.argv[3]), True)], got
PYEOF
  expect_exit 4 "$kind: repair of the shared grain (exit 4: ranges lost)" -- "$VMDKIT" repair --json b-000001.vmdk
  cp "$TEST_TMPDIR/out" repair.json
  "$PY" - repair.json <<'PYEOF' && pass "$kind: the shared grain is listed once as kept, naming both entries" || fail "$kind: kept: $(head -c 1500 repair.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["kept"]) == 1, r["kept"]
k = r["kept"][0]
assert k["virtual_offset"] is None and k["reason"].count(" entry ") == 2, k
PYEOF
  expect_exit 0 "$kind: check is clean after repairing the shared grain" -- "$VMDKIT" check b-000001.vmdk
  "$VMDKIT" cat b-000001.vmdk >after.raw
  lost_ranges_read_the_parent && pass "$kind: both grains read the parent, the rest as before" || fail "$kind: content after repairing the shared grain"
  cd ..
done
finish
