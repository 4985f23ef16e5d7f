#!/bin/bash
# Interop half of tests/cli/snapshot.sh: deltas vmdkit snapshot makes over a base qemu-io wrote (an
# independent writer's bytes) pass qemu-img check, read the same as the parent in qemu-img, chain
# in qemu-img (two and three images) and show the parent CID in vmdkinfo; a delta over a flat disk
# qemu-io wrote reads as its parent; deltas of every type pass qemu-img check with the parent's size
# (moved from tests/cli for issue 15).
# ctest-cost: 15
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img qemu-io

jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$@"; }

# A base with data (written by qemu-io, so it is an independent writer's bytes).
"$VMDKIT" create base.vmdk --size 64M --seed 1 >/dev/null || { echo "create failed" >&2; exit 1; }
qemu-io -f vmdk -c 'write -P 0xa1 1000 300000' -c 'write -P 0xa2 33550000 20000' base.vmdk >/dev/null ||
  { echo "qemu-io failed" >&2; exit 1; }

expect_exit 0 "snapshot of a base" -- "$VMDKIT" snapshot base.vmdk
"$VMDKIT" info --json base.vmdk >parent.json
qemu-img check -q base-000001.vmdk && pass "qemu-img check on the delta" || fail "qemu-img check on the delta"
qemu-img info --backing-chain base-000001.vmdk >qi.out 2>&1
grep -q '^backing file: base.vmdk' qi.out && [ "$(grep -c '^image:' qi.out)" = 2 ] && pass "qemu-img sees the chain" ||
  fail "qemu-img backing chain: $(cat qi.out)"
qemu-img compare -q base-000001.vmdk base.vmdk && pass "delta reads as the parent in qemu-img" || fail "qemu-img compare delta/parent"
if command -v vmdkinfo >/dev/null; then
  want=$(printf '0x%s' "$(jget parent.json cid)")
  vmdkinfo base-000001.vmdk 2>&1 | grep -q "Parent content identifier:.*$want" && pass "vmdkinfo sees the parent CID" ||
    fail "vmdkinfo parent CID"
fi

expect_exit 0 "snapshot of the delta" -- "$VMDKIT" snapshot --json base-000001.vmdk
qemu-img compare -q base-000002.vmdk base.vmdk && pass "second delta reads as the base in qemu-img" || fail "qemu compare 2"
[ "$(qemu-img info --backing-chain base-000002.vmdk | grep -c '^image:')" = 3 ] && pass "qemu-img chain of three" ||
  fail "qemu-img chain of three"

# In another folder, named by a path, over a flat disk qemu-io wrote.
mkdir -p vm
"$VMDKIT" create vm/disk.vmdk --size 8M --type monolithicFlat >/dev/null
qemu-io -f vmdk -c 'write -P 0x5c 4096 12288' vm/disk.vmdk >/dev/null
expect_exit 0 "snapshot by a path" -- "$VMDKIT" snapshot vm/disk.vmdk
(cd vm && qemu-img compare -q disk-000001.vmdk disk.vmdk) && pass "flat parent reads through the delta" || fail "flat parent compare"

# Every type can be a parent.
for type in twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized vmfs; do
  "$VMDKIT" create "p-$type.vmdk" --size 3G --type "$type" >/dev/null || fail "create $type"
  expect_exit 0 "snapshot of $type" -- "$VMDKIT" snapshot "p-$type.vmdk"
  child=$(tail -n 1 "$TEST_TMPDIR/out")
  qemu-img check -q "$child" && pass "$type: qemu-img check" || fail "$type: qemu-img check"
  [ "$(qemu-img info --output=json "$child" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = $((3 << 30)) ] &&
    pass "$type: delta size" || fail "$type: delta size"
done
finish
