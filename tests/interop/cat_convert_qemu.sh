#!/bin/bash
# Interop half of tests/cli/cat_convert.sh: vmdkit cat and convert --to raw read a qemu-made
# monolithicSparse disk and a qemu-made 3-deep chain with zeroed grains as qemu-img convert -O raw
# does (moved from tests/cli, which runs without qemu, for issue 15).
# ctest-cost: 15
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img qemu-io
make_chain c
qemu-img create -q -f vmdk single.vmdk 10M
qemu-io -f vmdk -c 'write -P 0x5a 12345 777777' single.vmdk >/dev/null

for disk in single.vmdk c/base.vmdk c/mid.vmdk c/top.vmdk; do
  name=$(basename "$disk" .vmdk)
  qemu-img convert -O raw "$disk" "ref-$name.raw" || fail "qemu-img convert $disk"
  "$VMDKIT" cat "$disk" > "cat-$name.raw" || fail "cat $disk exit"
  cmp -s "cat-$name.raw" "ref-$name.raw" && pass "cat $disk equals qemu-img" || fail "cat $disk differs"
  expect_exit 0 "convert $disk" -- "$VMDKIT" convert -q "$disk" "conv-$name.raw" --to raw
  cmp -s "conv-$name.raw" "ref-$name.raw" && pass "convert $disk equals qemu-img" || fail "convert $disk differs"
done
finish
