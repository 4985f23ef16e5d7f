#!/bin/bash
# Interop half of tests/cli/info.sh: vmdkit info's JSON keys and values for qemu-made disks
# (monolithicSparse, streamOptimized, monolithicFlat, a delta), missing and short extents of
# qemu-made disks reported with exit 0 (moved from tests/cli for issue 15; the samples stay there).
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img qemu-io
qemu-img create -q -f vmdk sparse.vmdk 64M
qemu-io -f vmdk -c 'write -P 7 1000 200000' sparse.vmdk >/dev/null

expect_exit 0 "info --json monolithicSparse" -- "$VMDKIT" info --json sparse.vmdk
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "info JSON for monolithicSparse" || fail "info JSON for monolithicSparse"
import json, re, sys
d = json.load(open(sys.argv[1]))
for k in ("path", "create_type", "capacity", "cid", "parent_cid", "parent_hint", "descriptor_version",
          "embedded_descriptor", "complete", "allocated", "extents", "header", "ddb"):
    assert k in d, k
assert d["create_type"] == "monolithicSparse" and d["capacity"] == 64 << 20
assert re.fullmatch(r"[0-9a-f]{8}", d["cid"]) and d["parent_cid"] == "ffffffff" and d["parent_hint"] is None
assert d["embedded_descriptor"] is True and d["complete"] is True
assert d["allocated"] >= 200000
assert "ddb.adapterType" in d["ddb"]
(e,) = d["extents"]
assert e["access"] == "RW" and e["type"] == "SPARSE" and e["size"] == 64 << 20 and e["status"] == "ok"
assert e["format"] == "sparse" and e["grain_size"] == 65536 and e["allocated"] >= 200000
assert e["header"]["version"] == 1 and "flags" in e["header"], e["header"]
PY
expect_exit 0 "info text" -- "$VMDKIT" info sparse.vmdk
contains "$TEST_TMPDIR/out" "monolithicSparse" "info text create type"
contains "$TEST_TMPDIR/out" "67108864" "info text capacity"
contains "$TEST_TMPDIR/out" "grain 64.0 KiB" "info text grain size"

qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 4M
expect_exit 0 "info --json monolithicFlat" -- "$VMDKIT" info --json flat.vmdk
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["embedded_descriptor"] is False
(e,) = d["extents"]
assert e["type"] == "FLAT" and e["file"] == "flat-flat.vmdk" and e["offset"] == 0 and e["status"] == "ok", e
' "$TEST_TMPDIR/out" && pass "info JSON for monolithicFlat" || fail "info JSON for monolithicFlat"

qemu-img create -q -f vmdk -o subformat=streamOptimized stream.vmdk 8M
expect_exit 0 "info streamOptimized" -- "$VMDKIT" info --json stream.vmdk
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["create_type"] == "streamOptimized" and d["extents"][0]["status"] == "ok", d
' "$TEST_TMPDIR/out" && pass "info JSON for streamOptimized" || fail "info JSON for streamOptimized"

# A delta: parent hint and parent CID, parents not followed (works with the parent gone).
qemu-img create -q -f vmdk -b sparse.vmdk -F vmdk delta.vmdk
mkdir -p alone && cp delta.vmdk alone/
expect_exit 0 "info of a delta without its parent" -- "$VMDKIT" info --json alone/delta.vmdk
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["parent_hint"] == "sparse.vmdk" and d["parent_cid"] != "ffffffff", d
' "$TEST_TMPDIR/out" && pass "info JSON parent fields" || fail "info JSON parent fields"

# Missing and short extents are reported, exit 0.
qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse split.vmdk 3G
rm split-s002.vmdk
expect_exit 0 "info with a missing extent" -- "$VMDKIT" info --json split.vmdk
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["complete"] is False
assert [e["status"] for e in d["extents"]] == ["ok", "missing"], d["extents"]
' "$TEST_TMPDIR/out" && pass "missing extent reported" || fail "missing extent reported"
expect_exit 0 "info text with a missing extent" -- "$VMDKIT" info split.vmdk
contains "$TEST_TMPDIR/out" "missing" "text says missing"
expect_exit 1 "cat with a missing extent" -- "$VMDKIT" cat split.vmdk

qemu-img create -q -f vmdk -o subformat=monolithicFlat short.vmdk 4M
truncate -s 1M short-flat.vmdk
expect_exit 0 "info with a short flat extent" -- "$VMDKIT" info --json short.vmdk
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["extents"][0]["status"] == "short", d["extents"]' \
  "$TEST_TMPDIR/out" && pass "short extent reported" || fail "short extent reported"

finish
