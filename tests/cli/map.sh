#!/bin/bash
# vmdkit map on the spec-built 3-deep test chain: JSON schema, --offset/--length, and the text
# table with layer strips (golden). (Agreement with qemu-img map on present, zero, data and depth
# for every byte of a qemu-made chain: tests/interop/map_qemu.sh.)
source "$(dirname "$0")/common.bash"
make_chain c

expect_exit 0 "map --json" -- "$VMDKIT" map --json c/top.vmdk
cp "$TEST_TMPDIR/out" ours.json
"$PY" - ours.json <<'PY' && pass "map JSON schema" || fail "map JSON schema"
import json, sys
ours = json.load(open(sys.argv[1]))
assert ours["capacity"] == 64 << 20
assert len(ours["layers"]) == 3 and ours["layers"][0].endswith("top.vmdk")
pos = 0
for r in ours["ranges"]:
    assert r["start"] == pos and r["length"] > 0, r
    for k in ("depth", "present", "zero", "data"):
        assert k in r, r
    if r["data"]:
        assert r["file"] and "offset" in r, r
        assert r["file"].endswith(("top.vmdk", "mid.vmdk", "base.vmdk"))
    else:
        assert r["file"] is None and r["offset"] is None, r
    pos += r["length"]
assert pos == ours["capacity"]
PY

# A sub-range.
expect_exit 0 "map --offset --length" -- "$VMDKIT" map --json --offset 65536 --length 1M c/top.vmdk
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ranges"][0]["start"] == 65536
end = d["ranges"][-1]["start"] + d["ranges"][-1]["length"]
assert end == 65536 + (1 << 20), end
' "$TEST_TMPDIR/out" && pass "map sub-range bounds" || fail "map sub-range bounds"
expect_exit 1 "map past the end" -- "$VMDKIT" map --offset 65M c/top.vmdk
contains "$TEST_TMPDIR/err" "past the end" "map past the end: message"

expect_exit 0 "map text" -- "$VMDKIT" map c/top.vmdk
contains "$TEST_TMPDIR/out" "ranges:" "map text has the table"
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "map text strips" || fail "map text strips"
import re, sys
strips = [l for l in open(sys.argv[1]) if re.match(r"\s+\d+ \|[#0.+]{64}\|", l)]
assert len(strips) == 3, strips
PY
contains "$TEST_TMPDIR/out" "zero" "map text shows zero ranges"
golden map/top.txt "$TEST_TMPDIR/out" "map text of the test chain"
finish
