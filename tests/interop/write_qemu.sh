#!/bin/bash
# Interop half of tests/cli/write.sh: vmdkit write into the child of a qemu-made base (both made by
# qemu-img) passes qemu-img check and reads back in qemu-io, the write and the parent around it
# (moved from tests/cli for issue 15).
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img qemu-io

qemu-img create -q -f vmdk base.vmdk 16M
qemu-io -f vmdk -c 'write -P 0x11 0 1M' base.vmdk >/dev/null
qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
expect_exit 1 "write into a disk with a child" -- "$VMDKIT" write base.vmdk --offset 0 --length 512 --pattern 1
contains "$TEST_TMPDIR/err" "child.vmdk" "refusal names the child"
expect_exit 0 "write --json into the child" -- "$VMDKIT" write --json child.vmdk --offset 1000 --length 70000 --pattern 0xab --seed 3
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "JSON report" || fail "JSON report: $(cat "$TEST_TMPDIR/out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["grains_written"] == 2 and r["copied_bytes"] == 2 * 65536 - 70000, r
PY
qemu-img check -q child.vmdk && pass "qemu-img check after write" || fail "qemu-img check"
qemu-io -f vmdk -c 'read -P 0xab 1000 70000' -c 'read -P 0x11 0 1000' -c 'read -P 0x11 71000 977576' child.vmdk \
  | grep -q "read 977576" && pass "qemu-io reads the write and the parent around it" || fail "qemu-io read-back"
"$VMDKIT" chain child.vmdk >/dev/null && pass "chain still ok" || fail "chain broken after write"
finish
