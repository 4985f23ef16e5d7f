#!/bin/bash
# vmdkit create: every type at a few sizes passes check, reads as zeros, opens in vmdkit info with
# the right size; seeds repeat byte for byte; bad input is refused. (qemu-img check, qemu-img's
# size and zeros and vmdkinfo on the same disks: tests/interop/create_qemu.sh.)
# ctest-cost: 60
source "$(dirname "$0")/common.bash"

json_field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

types="monolithicSparse twoGbMaxExtentSparse monolithicFlat twoGbMaxExtentFlat streamOptimized vmfs"
for type in $types; do
  sizes="1M 100M"
  case $type in twoGb*) sizes="1M 100M 5G" ;; esac
  for size in $sizes; do
    bytes=$("$PY" -c "print(int('$size'[:-1]) << {'M': 20, 'G': 30}['$size'[-1]])")
    name="$type-$size"
    expect_exit 0 "create $type $size" -- "$VMDKIT" create --json "$name.vmdk" --size "$size" --type "$type"
    [ "$(json_field "$TEST_TMPDIR/out" capacity)" = "$bytes" ] && [ "$(json_field "$TEST_TMPDIR/out" create_type)" = "$type" ] &&
      pass "$name: report" || fail "$name: report $(cat "$TEST_TMPDIR/out")"
    if [ "$size" = 5G ]; then
      count=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["files"]))' "$TEST_TMPDIR/out")
      [ "$count" = 4 ] && pass "$name: descriptor and 3 parts" || fail "$name: $count files"
    fi
    "$VMDKIT" check "$name.vmdk" >check.out 2>&1 && pass "$name: check" || fail "$name: check: $(cat check.out)"
    "$VMDKIT" info --json "$name.vmdk" >info.out 2>&1 && [ "$(json_field info.out capacity)" = "$bytes" ] &&
      pass "$name: vmdkit info capacity" || fail "$name: vmdkit info: $(head -c 300 info.out)"
    # (Not at 5G: compare reads every byte of a flat extent, about a minute on a loaded CI machine;
    # create_qemu.sh has qemu-img compare every size.)
    if [ "$size" != 5G ]; then
      truncate -s "$bytes" zero.raw
      "$VMDKIT" compare -q "$name.vmdk" zero.raw >/dev/null && pass "$name: reads as zeros" || fail "$name: compare with zeros"
      rm -f zero.raw
    fi
  done
done

# The DDB follows the options: adapter, geometry, hardware version; grain size in the header.
expect_exit 0 "create with options" -- "$VMDKIT" create opt.vmdk --size 40G --adapter ide --hw-version 13 --grain-size 256K --zeroed-grains
"$VMDKIT" info --json opt.vmdk >info.out
"$PY" - info.out <<'PY' && pass "options reach the descriptor and header" || fail "options: $(head -c 1500 info.out)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["capacity"] == 40 << 30
ddb = d["ddb"]
assert ddb["ddb.adapterType"] == "ide", ddb
# IDE geometry (vmdk-format.md 1.8): 16 heads, 63 sectors, cylinders uncapped (40 GiB -> 83220).
assert (ddb["ddb.geometry.cylinders"], ddb["ddb.geometry.heads"], ddb["ddb.geometry.sectors"]) == ("83220", "16", "63"), ddb
assert ddb["ddb.virtualHWVersion"] == "13", ddb
e = d["extents"][0]
assert e["grain_size"] == 256 << 10, e
assert e["header"]["version"] == 2 and e["header"]["flags"] & 4, e["header"]
PY
"$VMDKIT" check opt.vmdk >/dev/null && pass "options disk passes check" || fail "options disk check"

# Seeds: the same seed gives byte-identical files, another seed another CID.
# (Flat files are compared byte by byte, so they stay small; the split sparse disk gets two parts.)
for type in $types; do
  size=64M
  [ "$type" = twoGbMaxExtentSparse ] && size=3G
  mkdir -p s1 s2 s3
  "$VMDKIT" create "s1/d.vmdk" --size $size --type "$type" --seed 42 >/dev/null &&
    "$VMDKIT" create "s2/d.vmdk" --size $size --type "$type" --seed 42 >/dev/null &&
    "$VMDKIT" create --json "s3/d.vmdk" --size $size --type "$type" --seed 43 >s3.json || fail "$type: seeded create"
  same=1
  for f in s1/*; do cmp -s "$f" "s2/${f#s1/}" || same=0; done
  [ "$(ls s1 | wc -l)" = "$(ls s2 | wc -l)" ] || same=0
  [ $same = 1 ] && pass "$type: same seed, byte-identical files" || fail "$type: same seed, files differ"
  cid1=$("$VMDKIT" info --json s1/d.vmdk | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
  cid3=$(json_field s3.json cid)
  [ "$cid1" != "$cid3" ] && pass "$type: another seed, another CID" || fail "$type: seeds 42 and 43 both gave CID $cid1"
  rm -rf s1 s2 s3 s3.json
done
# Without a seed, two disks differ.
"$VMDKIT" create r1.vmdk --size 1M >/dev/null && "$VMDKIT" create r2.vmdk --size 1M >/dev/null
cmp -s r1.vmdk r2.vmdk && fail "unseeded disks are identical" || pass "unseeded disks differ"

# An existing destination is refused and left alone; so is an existing extent file of the new disk.
echo keep >taken.vmdk
expect_exit 1 "existing destination refused" -- "$VMDKIT" create taken.vmdk --size 1M
contains "$TEST_TMPDIR/err" "taken.vmdk" "refusal names the file"
[ "$(cat taken.vmdk)" = keep ] && pass "existing file unchanged" || fail "existing file changed"
echo keep >flat2-flat.vmdk
expect_exit 1 "existing extent file refused" -- "$VMDKIT" create flat2.vmdk --size 1M --type monolithicFlat
[ ! -e flat2.vmdk ] && [ "$(cat flat2-flat.vmdk)" = keep ] && pass "nothing written next to an existing extent" ||
  fail "create wrote beside an existing extent file"
ls -a | grep -q vmdkit-tmp && fail "temporary files left behind" || pass "no temporary files left behind"

# Bad options: a clear message and exit 1, nothing created.
expect_exit 1 "bad --size" -- "$VMDKIT" create bad1.vmdk --size 12Q
contains "$TEST_TMPDIR/err" "--size" "bad size names the option"
expect_exit 1 "--size not a multiple of 512" -- "$VMDKIT" create bad2.vmdk --size 1000
contains "$TEST_TMPDIR/err" "512" "odd size says why"
expect_exit 1 "--size 0" -- "$VMDKIT" create bad3.vmdk --size 0
expect_exit 1 "bad --type" -- "$VMDKIT" create bad4.vmdk --size 1M --type vmfsSparse
contains "$TEST_TMPDIR/err" "monolithicSparse" "bad type lists the valid ones"
expect_exit 1 "--type raw" -- "$VMDKIT" create bad5.vmdk --size 1M --type raw
expect_exit 1 "bad --grain-size" -- "$VMDKIT" create bad6.vmdk --size 1M --grain-size 3000
contains "$TEST_TMPDIR/err" "grain size" "bad grain size says why"
expect_exit 1 "--grain-size too large" -- "$VMDKIT" create bad7.vmdk --size 1M --grain-size 2M
expect_exit 1 "bad --adapter" -- "$VMDKIT" create bad8.vmdk --size 1M --adapter scsi
contains "$TEST_TMPDIR/err" "lsilogic" "bad adapter lists the valid ones"
expect_exit 1 "missing --size" -- "$VMDKIT" create bad9.vmdk
ls bad*.vmdk >/dev/null 2>&1 && fail "a refused create left files" || pass "refused creates leave no files"

finish
