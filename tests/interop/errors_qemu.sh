#!/bin/bash
# Interop half of tests/cli/errors.sh: read through a CID mismatch with --allow-cid-mismatch, a
# qemu-made chain over a new qemu-made base reads as qemu-img reads it (qemu ignores CID mismatches
# on read), by cat and by convert (moved from tests/cli for issue 15).
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img qemu-io
make_chain c

# CID mismatch: replace the base with a new disk of the same name.
mkdir -p x && cp c/top.vmdk c/mid.vmdk x/ && qemu-img create -q -f vmdk x/base.vmdk 64M
"$VMDKIT" cat --allow-cid-mismatch x/top.vmdk > allowed.raw 2> warn.txt
[ $? -eq 0 ] && pass "cat --allow-cid-mismatch" || fail "cat --allow-cid-mismatch"
qemu-img convert -O raw x/top.vmdk ref.raw   # qemu ignores CID mismatches on read
cmp -s allowed.raw ref.raw && pass "read through the mismatch equals qemu" || fail "read through the mismatch differs"
expect_exit 0 "convert --allow-cid-mismatch" -- "$VMDKIT" convert -q --allow-cid-mismatch x/top.vmdk out.raw --to raw
cmp -s out.raw ref.raw && pass "convert through the mismatch" || fail "convert through the mismatch differs"
finish
