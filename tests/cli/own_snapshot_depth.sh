#!/usr/bin/env bash
# Issue 14, finding 11: a chain of 255 layers is the most vmdkit reads (ChainOptions::max_depth);
# snapshot refuses to make a 256th layer, which no command (not even consolidate) could open, and
# says to consolidate. Two layers come from vmdkit snapshot; the other 252 are copies of the second
# with their embedded descriptor patched in place (same lengths): hint = the previous layer, CID =
# parentCID = the first delta's CID, so every link is intact.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

"$VMDKIT" create d.vmdk --size 64K -q && "$VMDKIT" write d.vmdk --offset 0 --pattern 0x33 --length 512 -q || exit 1
"$VMDKIT" snapshot d.vmdk -q >/dev/null && "$VMDKIT" snapshot d-000001.vmdk -q >/dev/null || exit 1
$PY - <<'PY' || exit 1
import re
first = open("d-000001.vmdk", "rb").read()
cid = re.search(rb"\nCID=([0-9a-f]{8})", first).group(1)
second = bytearray(open("d-000002.vmdk", "rb").read())
m = re.search(rb"\nCID=([0-9a-f]{8})", second)
second[m.start(1):m.end(1)] = cid
m = re.search(rb'parentFileNameHint="d-(\d{6})\.vmdk"', second)
for n in range(2, 255):
    data = bytearray(second)
    data[m.start(1):m.end(1)] = b"%06d" % (n - 1)
    open("d-%06d.vmdk" % n, "wb").write(bytes(data))
PY
top=d-000254.vmdk
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
