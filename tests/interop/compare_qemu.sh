#!/bin/bash
# Interop half of tests/cli/compare.sh: a qemu-made chain compares identical with the raw image
# qemu-img convert makes of it, and with qemu-img's monolithicFlat copy (moved from tests/cli for
# issue 15).
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img qemu-io
make_chain c
qemu-img convert -O raw c/top.vmdk top.raw

expect_exit 0 "chain vs its raw" -- "$VMDKIT" compare c/top.vmdk top.raw
contains "$TEST_TMPDIR/out" "identical" "identical printed"
expect_exit 0 "raw vs chain" -- "$VMDKIT" compare top.raw c/top.vmdk

# A standalone copy in another format compares equal to the chain.
qemu-img convert -O vmdk -o subformat=monolithicFlat c/top.vmdk flat.vmdk
expect_exit 0 "chain vs flat copy" -- "$VMDKIT" compare c/top.vmdk flat.vmdk
finish
