#!/bin/bash
# Broken chains on the reading commands: a CID mismatch is refused (naming both files and both
# CIDs) unless --allow-cid-mismatch, which reads and warns; a missing parent names the hint and
# every path tried; outside paths are refused without --allow-outside-paths.
source "$(dirname "$0")/common.bash"
make_chain c

# CID mismatch: replace the base with a new disk of the same name.
mkdir -p x && cp c/top.vmdk c/mid.vmdk x/ && "$VMDKIT" create -q --seed 1 x/base.vmdk --size 64M
mid_parent_cid=$("$VMDKIT" info --json x/mid.vmdk | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["parent_cid"])')
base_cid=$("$VMDKIT" info --json x/base.vmdk | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
for cmd in "cat" "map" "convert --to raw" "compare"; do
  case $cmd in
    cat) args=(cat x/top.vmdk); code=1 ;;
    map) args=(map x/top.vmdk); code=1 ;;
    convert*) args=(convert x/top.vmdk out.raw --to raw); code=1 ;;
    compare) args=(compare x/top.vmdk c/top.vmdk); code=2 ;;
  esac
  expect_exit $code "$cmd refuses a CID mismatch" -- "$VMDKIT" "${args[@]}"
  contains "$TEST_TMPDIR/err" "vmdkit: error:" "$cmd: error prefix"
  contains "$TEST_TMPDIR/err" "mid.vmdk" "$cmd: names the child"
  contains "$TEST_TMPDIR/err" "base.vmdk" "$cmd: names the parent"
  contains "$TEST_TMPDIR/err" "$mid_parent_cid" "$cmd: names the child's parentCID"
  contains "$TEST_TMPDIR/err" "$base_cid" "$cmd: names the parent's CID"
done
[ -e out.raw ] && fail "convert wrote through a CID mismatch" || pass "convert wrote nothing"

# --allow-cid-mismatch reads anyway, with a warning.
"$VMDKIT" cat --allow-cid-mismatch x/top.vmdk > allowed.raw 2> warn.txt
[ $? -eq 0 ] && pass "cat --allow-cid-mismatch" || fail "cat --allow-cid-mismatch"
contains warn.txt "vmdkit: warning:" "cat --allow-cid-mismatch warns"
# What the chain reads through the new base: a golden digest (the same read against qemu, which
# ignores CID mismatches on read, is tests/interop/errors_qemu.sh).
sha256sum <allowed.raw | cut -d' ' -f1 >allowed.sha256
golden errors/allowed-cid-mismatch.sha256 allowed.sha256 "read through the mismatch reads the golden bytes"
cp allowed.raw ref.raw
expect_exit 0 "map --allow-cid-mismatch" -- "$VMDKIT" map --json --allow-cid-mismatch x/top.vmdk
contains "$TEST_TMPDIR/err" "warning" "map warns"
expect_exit 0 "convert --allow-cid-mismatch" -- "$VMDKIT" convert -q --allow-cid-mismatch x/top.vmdk out.raw --to raw
cmp -s out.raw ref.raw && pass "convert through the mismatch" || fail "convert through the mismatch differs"
expect_exit 0 "compare --allow-cid-mismatch" -- "$VMDKIT" compare --allow-cid-mismatch x/top.vmdk ref.raw

# Missing parent: the hint and every path tried.
mkdir -p m && cp c/top.vmdk c/mid.vmdk m/
for cmd in cat map "convert --to raw"; do
  case $cmd in
    cat) args=(cat m/top.vmdk) ;;
    map) args=(map m/top.vmdk) ;;
    convert*) args=(convert m/top.vmdk out2.raw --to raw) ;;
  esac
  expect_exit 1 "$cmd with a missing parent" -- "$VMDKIT" "${args[@]}"
  contains "$TEST_TMPDIR/err" "\"base.vmdk\"" "$cmd: names the hint"
  contains "$TEST_TMPDIR/err" "m/base.vmdk" "$cmd: names the path tried"
done
expect_exit 2 "compare with a missing parent" -- "$VMDKIT" compare m/top.vmdk ref.raw

# An extent outside the descriptor's folder is refused unless allowed.
mkdir -p inner outer
"$VMDKIT" create -q --seed 2 --type monolithicFlat outer/o.vmdk --size 1M
sed 's|"o-flat.vmdk"|"../outer/o-flat.vmdk"|' outer/o.vmdk > inner/o.vmdk
expect_exit 1 "cat refuses a path outside the folder" -- "$VMDKIT" cat inner/o.vmdk
expect_exit 0 "cat --allow-outside-paths" -- "$VMDKIT" cat --allow-outside-paths inner/o.vmdk
finish
