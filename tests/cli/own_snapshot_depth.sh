#!/usr/bin/env bash
# Issue 14, finding 11: a chain of 255 layers is the most vmdkit reads (ChainOptions::max_depth);
# snapshot refuses to make a 256th layer, which no command (not even consolidate) could open, and
# says to consolidate. The chain is built with 254 snapshots of a 64 KiB disk.
# ctest-cost: 60
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

"$VMDKIT" create d.vmdk --size 64K -q && "$VMDKIT" write d.vmdk --offset 0 --pattern 0x33 --length 512 -q || exit 1
top=d.vmdk
for i in $(seq 1 254); do
  top=$("$VMDKIT" snapshot "$top" -q) || { echo "snapshot $i failed" >&2; exit 1; }
done
"$VMDKIT" chain "$top" --json >out 2>err || { fail "the 255-layer chain does not open: $(head -c 300 err)"; finish; }
layers=$(grep -c '"link"' out)
[ "$layers" -eq 255 ] && pass "the chain has 255 layers" || fail "the chain has $layers layers, expected 255"

expect_exit 1 "snapshot refuses a 256th layer" -- "$VMDKIT" snapshot "$top" -q
contains err "consolidate" "the refusal says to consolidate"
contains err "$top" "the refusal names the disk given"
[ ! -e d-000255.vmdk ] && pass "no 256th layer was written" || fail "d-000255.vmdk exists"
expect_exit 0 "the chain still opens" -- "$VMDKIT" cat "$top" -q
expect_exit 0 "consolidate can still merge it" -- "$VMDKIT" consolidate "$top" --dry-run -q
finish
