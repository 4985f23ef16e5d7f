#!/bin/bash
# Interop half of tests/cli/esxi_repair.sh: the vmfsSparse (COWD) and seSparse deltas that repair
# fixed (damaged grain table and directory entries, two entries sharing a grain) pass qemu-img check,
# and qemu-img reads the repaired disk as vmdkit does (moved from tests/cli for issue 15).
# ctest-cost: 35
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img sha256sum

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
  expect_exit 2 "$kind: check finds the damage" -- "$VMDKIT" check --json b-000001.vmdk
  expect_exit 4 "$kind: repair (exit 4: ranges lost)" -- "$VMDKIT" repair --json b-000001.vmdk
  cp "$TEST_TMPDIR/out" repair.json
  expect_exit 0 "$kind: check is clean after repair" -- "$VMDKIT" check b-000001.vmdk
  qemu-img check -q -f vmdk b-000001.vmdk && pass "$kind: qemu-img check clean" || fail "$kind: qemu-img check"
  "$VMDKIT" cat b-000001.vmdk >after.raw
  qemu-img convert -f vmdk -O raw b-000001.vmdk q.raw && cmp -s q.raw after.raw && pass "$kind: qemu-img reads the repaired disk the same" || fail "$kind: qemu-img reads differently"
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
  expect_exit 4 "$kind: repair of the shared grain (exit 4: ranges lost)" -- "$VMDKIT" repair --json b-000001.vmdk
  cp "$TEST_TMPDIR/out" repair.json
  expect_exit 0 "$kind: check is clean after repairing the shared grain" -- "$VMDKIT" check b-000001.vmdk
  qemu-img check -q -f vmdk b-000001.vmdk && pass "$kind: qemu-img check clean (shared grain)" || fail "$kind: qemu-img check (shared grain)"
  "$VMDKIT" cat b-000001.vmdk >after.raw
  cd ..
done
finish
