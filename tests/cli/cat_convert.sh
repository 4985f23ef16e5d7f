#!/bin/bash
# vmdkit cat and convert --to raw against raw images that received the same writes with dd: same
# bytes on a monolithicSparse disk and a 3-deep chain with zeroed grains; slices with
# --offset/--length; holes in the output; no temporary left behind; clear errors for bad ranges and
# unsupported formats. (The same reads of qemu-made disks against qemu-img: interop/cat_convert_qemu.sh.)
# ctest-cost: 21
source "$(dirname "$0")/common.bash"
make_chain c
"$VMDKIT" create -q --seed 1 single.vmdk --size 10M && "$VMDKIT" write -q single.vmdk --offset 12345 --length 777777 --pattern 0x5a ||
  exit 1
truncate -s 10M ref-single.raw
head -c 777777 /dev/zero | tr '\0' '\132' | dd of=ref-single.raw bs=64K seek=12345 oflag=seek_bytes conv=notrunc status=none
for layer in base mid top; do chain_raw "ref-$layer.raw" "$layer"; done

for disk in single.vmdk c/base.vmdk c/mid.vmdk c/top.vmdk; do
  name=$(basename "$disk" .vmdk)
  "$VMDKIT" cat "$disk" > "cat-$name.raw" || fail "cat $disk exit"
  cmp -s "cat-$name.raw" "ref-$name.raw" && pass "cat $disk equals the dd image" || fail "cat $disk differs"
  expect_exit 0 "convert $disk" -- "$VMDKIT" convert -q "$disk" "conv-$name.raw" --to raw
  cmp -s "conv-$name.raw" "ref-$name.raw" && pass "convert $disk equals the dd image" || fail "convert $disk differs"
done

# Holes: 64 MiB apparent, well under a MiB of blocks.
size=$(stat -c %s conv-top.raw)
[ "$size" -eq $((64 << 20)) ] && pass "convert output has the capacity" || fail "convert size $size"
used=$(du -k conv-top.raw | cut -f1)
[ "$used" -lt 2048 ] && pass "convert output is sparse (${used} KiB)" || fail "convert output not sparse: ${used} KiB"
ls -a | grep -q vmdkit-tmp && fail "temporary file left behind" || pass "no temporary left"

# Convert summary and JSON.
expect_exit 0 "convert --json" -- "$VMDKIT" convert --json c/top.vmdk conv2.raw --to raw
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["capacity"]==64<<20 and d["create_type"] is None and d["data_bytes"]>0' \
  "$TEST_TMPDIR/out" && pass "convert JSON" || fail "convert JSON"

# Slices.
"$VMDKIT" cat --offset 65000 --length 300000 c/top.vmdk > slice.raw
tail -c +65001 ref-top.raw | head -c 300000 > slice-ref.raw
cmp -s slice.raw slice-ref.raw && pass "cat slice" || fail "cat slice differs"
"$VMDKIT" cat --offset 0x3fe0000 c/top.vmdk > tail.raw
tail -c $((0x20000)) ref-top.raw | cmp -s - tail.raw && pass "cat hex offset to the end" || fail "cat tail differs"
expect_exit 0 "cat zero length at the end" -- "$VMDKIT" cat --offset 64M --length 0 c/top.vmdk
expect_exit 1 "cat offset past the end" -- "$VMDKIT" cat --offset 65M c/top.vmdk
contains "$TEST_TMPDIR/err" "vmdkit: error: offset 68157440" "bad offset: message names the offset"
contains "$TEST_TMPDIR/err" "capacity 67108864" "bad offset: message names the capacity"
expect_exit 1 "cat length past the end" -- "$VMDKIT" cat --offset 1M --length 64M c/top.vmdk
contains "$TEST_TMPDIR/err" "past the end" "bad length: message"
expect_exit 1 "cat junk offset" -- "$VMDKIT" cat --offset -5 c/top.vmdk
expect_exit 1 "cat junk length" -- "$VMDKIT" cat --length 12Q c/top.vmdk
contains "$TEST_TMPDIR/err" "invalid --length" "junk length: message"
[ -s "$TEST_TMPDIR/out" ] && fail "nothing written on a bad range" || pass "nothing written on a bad range"

# Unknown types and bad destinations.
expect_exit 1 "convert --to vmdk" -- "$VMDKIT" convert c/top.vmdk out.vmdk --to vmdk
contains "$TEST_TMPDIR/err" "streamOptimized" "convert --to vmdk: message lists the types"
[ -e out.vmdk ] && fail "convert --to vmdk wrote a file" || pass "convert --to vmdk wrote nothing"
expect_exit 1 "convert without --to" -- "$VMDKIT" convert c/top.vmdk out.raw
expect_exit 1 "convert into a missing folder" -- "$VMDKIT" convert c/top.vmdk nowhere/out.raw --to raw
expect_exit 1 "convert onto its own base" -- "$VMDKIT" convert c/top.vmdk c/base.vmdk --to raw
contains "$TEST_TMPDIR/err" "base.vmdk" "convert onto own file: names it"
cmp -s <("$VMDKIT" cat c/base.vmdk) ref-base.raw && pass "base untouched" || fail "base damaged by convert"

# Replacing an existing destination takes --overwrite (issue 14).
echo old > replaced.raw
expect_exit 1 "convert refuses an existing file" -- "$VMDKIT" convert -q single.vmdk replaced.raw --to raw
expect_exit 0 "convert --overwrite over an existing file" -- "$VMDKIT" convert -q single.vmdk replaced.raw --to raw --overwrite
cmp -s replaced.raw ref-single.raw && pass "existing destination replaced" || fail "existing destination not replaced"
finish
