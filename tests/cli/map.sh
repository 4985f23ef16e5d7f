#!/bin/bash
# vmdkit map on a qemu-made 3-deep chain: JSON schema, agreement with qemu-img map on present,
# zero, data and depth for every byte, --offset/--length, and the text table with layer strips.
source "$(dirname "$0")/common.bash"
need qemu-img qemu-io
make_chain c

expect_exit 0 "map --json" -- "$VMDKIT" map --json c/top.vmdk
cp "$TEST_TMPDIR/out" ours.json
qemu-img map --output=json c/top.vmdk > qemu.json || fail "qemu-img map"
"$PY" - ours.json qemu.json <<'PY' && pass "map JSON schema and qemu agreement" || fail "map JSON vs qemu-img map"
import json, sys
ours = json.load(open(sys.argv[1]))
qemu = json.load(open(sys.argv[2]))
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
def points(ranges):
    cuts = set()
    for r in ranges:
        cuts.add(r["start"]); cuts.add(r["start"] + r["length"])
    return cuts
def at(ranges, x):
    for r in ranges:
        if r["start"] <= x < r["start"] + r["length"]:
            return (r["depth"], r["present"], r["zero"], r["data"])
    raise AssertionError("no range at %d" % x)
cuts = sorted(points(ours["ranges"]) | points(qemu))
for a, b in zip(cuts, cuts[1:]):
    if a >= ours["capacity"]:
        break
    assert at(ours["ranges"], a) == at(qemu, a), (a, at(ours["ranges"], a), at(qemu, a))
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
finish
