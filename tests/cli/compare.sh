#!/bin/bash
# vmdkit compare: chains and raw files on either side; exit 0 identical, 1 different (first
# differing offset in decimal and hex), 2 error.
source "$(dirname "$0")/common.bash"
make_chain c
chain_raw top.raw top
chain_raw mid.raw mid

expect_exit 0 "chain vs its raw" -- "$VMDKIT" compare c/top.vmdk top.raw
contains "$TEST_TMPDIR/out" "identical" "identical printed"
expect_exit 0 "raw vs chain" -- "$VMDKIT" compare top.raw c/top.vmdk
expect_exit 0 "chain vs itself" -- "$VMDKIT" compare c/top.vmdk c/top.vmdk
expect_exit 0 "raw vs raw" -- "$VMDKIT" compare top.raw top.raw

# A standalone copy in another format compares equal to the chain.
# (made by vmdkit convert; the same comparison with qemu-img's copy is tests/interop/compare_qemu.sh)
"$VMDKIT" convert -q c/top.vmdk flat.vmdk --to monolithicFlat || fail "convert to monolithicFlat"
expect_exit 0 "chain vs flat copy" -- "$VMDKIT" compare c/top.vmdk flat.vmdk

# mid and top differ first at 0x30000 (top's write at 200000 fills grain 3 from its parent).
want=$("$PY" -c '
import sys
a = open(sys.argv[1], "rb").read(); b = open(sys.argv[2], "rb").read()
step = 4096
base = next(i for i in range(0, len(a), step) if a[i:i + step] != b[i:i + step])
print(next(i for i in range(base, base + step) if a[i] != b[i]))' top.raw mid.raw)
expect_exit 1 "different chains" -- "$VMDKIT" compare c/top.vmdk c/mid.vmdk
contains "$TEST_TMPDIR/out" "$want" "first difference in decimal"
contains "$TEST_TMPDIR/out" "$(printf '0x%x' "$want")" "first difference in hex"
expect_exit 0 "compare --json" -- "$VMDKIT" compare --json c/top.vmdk top.raw
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["identical"] is True and d["a"]["kind"]=="vmdk" and d["b"]["kind"]=="raw"' \
  "$TEST_TMPDIR/out" && pass "compare JSON" || fail "compare JSON"
"$VMDKIT" compare --json c/top.vmdk c/mid.vmdk > diff.json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["identical"] is False and d["first_difference"]=='"$want" \
  diff.json && pass "compare JSON first_difference" || fail "compare JSON first_difference"

# One byte changed at the very end.
cp top.raw last.raw
printf '\x01' | dd of=last.raw bs=1 seek=$(((64 << 20) - 1)) conv=notrunc status=none
expect_exit 1 "last byte differs" -- "$VMDKIT" compare c/top.vmdk last.raw
contains "$TEST_TMPDIR/out" "67108863" "last byte offset"

# Sizes differ.
head -c 1000 top.raw > short.raw
expect_exit 1 "sizes differ" -- "$VMDKIT" compare c/top.vmdk short.raw
contains "$TEST_TMPDIR/out" "sizes differ" "sizes differ message"

# Errors are exit 2.
expect_exit 2 "missing file" -- "$VMDKIT" compare c/top.vmdk nope.raw
contains "$TEST_TMPDIR/err" "vmdkit: error:" "missing file: error prefix"
mkdir -p broken && cp c/top.vmdk c/mid.vmdk broken/
expect_exit 2 "broken chain" -- "$VMDKIT" compare broken/top.vmdk top.raw
expect_exit 2 "bad usage" -- "$VMDKIT" compare onlyone
finish
