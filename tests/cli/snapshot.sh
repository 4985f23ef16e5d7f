#!/bin/bash
# vmdkit snapshot: deltas link to their parent (parentCID, relative hint), read the same as the
# parent, chain in vmdkit; naming -000001, -000002...; children and lock folders refuse unless
# --force; the parent is never modified; the last stdout line is the path. (The same deltas in
# qemu-img and vmdkinfo, over a base qemu-io wrote: tests/interop/snapshot_qemu.sh.)
# ctest-cost: 20
source "$(dirname "$0")/common.bash"

jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$@"; }

# A base with data.
"$VMDKIT" create base.vmdk --size 64M --seed 1 >/dev/null || { echo "create failed" >&2; exit 1; }
"$VMDKIT" write -q --seed 2 base.vmdk --offset 1000 --length 300000 --pattern 0xa1 &&
  "$VMDKIT" write -q --seed 3 base.vmdk --offset 33550000 --length 20000 --pattern 0xa2 || { echo "write failed" >&2; exit 1; }
sum_before=$(sha256sum base.vmdk)

expect_exit 0 "snapshot of a base" -- "$VMDKIT" snapshot base.vmdk
[ "$(tail -n 1 "$TEST_TMPDIR/out")" = "base-000001.vmdk" ] && pass "last line is the new path" ||
  fail "last line: $(tail -n 1 "$TEST_TMPDIR/out")"
[ "$(sha256sum base.vmdk)" = "$sum_before" ] && pass "parent unchanged" || fail "snapshot modified the parent"

"$VMDKIT" info --json base.vmdk >parent.json && "$VMDKIT" info --json base-000001.vmdk >delta.json
[ "$(jget delta.json parent_cid)" = "$(jget parent.json cid)" ] && pass "delta parentCID = parent CID" ||
  fail "parentCID $(jget delta.json parent_cid) != $(jget parent.json cid)"
[ "$(jget delta.json parent_hint)" = "base.vmdk" ] && pass "hint is relative" || fail "hint $(jget delta.json parent_hint)"
[ "$(jget delta.json capacity)" = $((64 << 20)) ] && pass "delta has the parent's capacity" || fail "delta capacity"
[ "$(jget delta.json create_type)" = monolithicSparse ] && pass "delta is monolithicSparse" || fail "delta type"
[ "$(jget delta.json allocated)" = 0 ] && pass "delta holds no data" || fail "delta allocated $(jget delta.json allocated)"
grep -a -q 'parentFileNameHint="base.vmdk"' base-000001.vmdk && pass "hint spelled for qemu" || fail "hint text"

expect_exit 0 "vmdkit chain on the delta" -- "$VMDKIT" chain --json base-000001.vmdk
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and [l["link"] for l in d["layers"]] == ["ok","base"], d' \
  "$TEST_TMPDIR/out" && pass "chain ok, 2 layers" || fail "chain: $(cat "$TEST_TMPDIR/out")"
expect_exit 0 "check on the delta" -- "$VMDKIT" check base-000001.vmdk
expect_exit 0 "delta reads as the parent" -- "$VMDKIT" compare base-000001.vmdk base.vmdk

# A second snapshot of the base would fork the chain: refused, naming the child, unless --force.
expect_exit 1 "snapshot of a disk that has a child" -- "$VMDKIT" snapshot base.vmdk
contains "$TEST_TMPDIR/err" "base-000001.vmdk" "refusal names the child"
contains "$TEST_TMPDIR/err" "child" "refusal says why"
[ ! -e base-000002.vmdk ] && pass "refused snapshot wrote nothing" || fail "refused snapshot left a file"

# Snapshot of the delta: -000002, hint names the delta, the chain has three layers.
expect_exit 0 "snapshot of the delta" -- "$VMDKIT" snapshot --json base-000001.vmdk
[ "$(jget "$TEST_TMPDIR/out" path)" = base-000002.vmdk ] && [ "$(jget "$TEST_TMPDIR/out" parent_hint)" = base-000001.vmdk ] &&
  [ "$(jget "$TEST_TMPDIR/out" parent_cid)" = "$(jget delta.json cid)" ] && pass "second delta named and linked" ||
  fail "second delta: $(cat "$TEST_TMPDIR/out")"
expect_exit 0 "chain of three" -- "$VMDKIT" chain base-000002.vmdk
contains "$TEST_TMPDIR/out" "ok, 3 layers" "vmdkit chain says ok"
expect_exit 0 "second delta reads as the base" -- "$VMDKIT" compare base-000002.vmdk base.vmdk

# --force forks: the next free number.
expect_exit 0 "forced snapshot of a disk with a child" -- "$VMDKIT" snapshot --force base.vmdk
[ "$(tail -n 1 "$TEST_TMPDIR/out")" = base-000003.vmdk ] && pass "forced snapshot takes the next number" ||
  fail "forced: $(tail -n 1 "$TEST_TMPDIR/out")"
[ "$(sha256sum base.vmdk)" = "$sum_before" ] && pass "parent still unchanged" || fail "parent changed"

# A VMware lock folder refuses unless --force.
mkdir base-000002.vmdk.lck
expect_exit 1 "snapshot of a locked disk" -- "$VMDKIT" snapshot base-000002.vmdk
contains "$TEST_TMPDIR/err" "base-000002.vmdk.lck" "refusal names the lock"
expect_exit 0 "forced snapshot of a locked disk" -- "$VMDKIT" snapshot --force base-000002.vmdk
[ "$(tail -n 1 "$TEST_TMPDIR/out")" = base-000004.vmdk ] && pass "locked + forced -> -000004" || fail "locked forced name"

# In another folder, named by a path: the new path keeps the folder, the hint stays a file name.
mkdir -p vm
"$VMDKIT" create vm/disk.vmdk --size 8M --type monolithicFlat >/dev/null
"$VMDKIT" write -q --seed 4 vm/disk.vmdk --offset 4096 --length 12288 --pattern 0x5c
expect_exit 0 "snapshot by a path" -- "$VMDKIT" snapshot vm/disk.vmdk
[ "$(tail -n 1 "$TEST_TMPDIR/out")" = vm/disk-000001.vmdk ] && pass "path keeps the folder" || fail "path $(tail -n 1 "$TEST_TMPDIR/out")"
grep -a -q 'parentFileNameHint="disk.vmdk"' vm/disk-000001.vmdk && pass "hint relative to the delta's folder" || fail "hint in vm/"
(cd vm && "$VMDKIT" compare -q disk-000001.vmdk disk.vmdk >/dev/null) && pass "flat parent reads through the delta" || fail "flat parent compare"

# Every type can be a parent.
for type in twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized vmfs; do
  "$VMDKIT" create "p-$type.vmdk" --size 3G --type "$type" >/dev/null || fail "create $type"
  expect_exit 0 "snapshot of $type" -- "$VMDKIT" snapshot "p-$type.vmdk"
  child=$(tail -n 1 "$TEST_TMPDIR/out")
  [ "$child" = "p-$type-000001.vmdk" ] && pass "$type: name" || fail "$type: name $child"
  "$VMDKIT" chain "$child" >/dev/null 2>&1 && pass "$type: chain ok" || fail "$type: chain"
  "$VMDKIT" check "$child" >/dev/null 2>&1 && pass "$type: check" || fail "$type: check"
  [ "$("$VMDKIT" info --json "$child" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["capacity"])')" = $((3 << 30)) ] &&
    pass "$type: delta size" || fail "$type: delta size"
done

# Options: zeroed grains, seeds.
"$VMDKIT" create z.vmdk --size 1M >/dev/null
expect_exit 0 "snapshot --zeroed-grains" -- "$VMDKIT" snapshot --zeroed-grains z.vmdk
"$VMDKIT" info --json z-000001.vmdk >z.json
[ "$(jget z.json extents 0 header version)" = 2 ] && pass "zeroed grains: header version 2" || fail "zeroed grains header"
mkdir -p a b
"$VMDKIT" create a/s.vmdk --size 1M --seed 5 >/dev/null && cp a/s.vmdk b/s.vmdk
"$VMDKIT" snapshot --seed 9 a/s.vmdk >/dev/null && "$VMDKIT" snapshot --seed 9 b/s.vmdk >/dev/null
cmp -s a/s-000001.vmdk b/s-000001.vmdk && pass "same seed, identical delta" || fail "seeded deltas differ"
rm b/s-000001.vmdk && "$VMDKIT" snapshot --seed 10 b/s.vmdk >/dev/null
[ "$("$VMDKIT" info --json a/s-000001.vmdk | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cid"])')" != \
  "$("$VMDKIT" info --json b/s-000001.vmdk | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cid"])')" ] &&
  pass "another seed, another CID" || fail "seeds 9 and 10 gave one CID"

# A broken chain is refused: the delta of a missing parent.
mkdir -p broken && cp base-000001.vmdk broken/
expect_exit 1 "snapshot of a delta whose parent is missing" -- "$VMDKIT" snapshot broken/base-000001.vmdk
contains "$TEST_TMPDIR/err" "base.vmdk" "refusal names the missing parent"
[ ! -e broken/base-000002.vmdk ] && pass "nothing written for a broken chain" || fail "broken chain got a delta"
expect_exit 1 "snapshot of a missing file" -- "$VMDKIT" snapshot nothing.vmdk
ls -a . vm | grep -q vmdkit-tmp && fail "temporary files left behind" || pass "no temporary files left behind"

finish
