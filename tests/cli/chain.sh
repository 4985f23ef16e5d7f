#!/bin/bash
# vmdkit chain on the spec-built 3-deep test chain: JSON schema and values, the text tree (golden),
# and broken chains (missing parent, CID mismatch) reported with exit 1.
source "$(dirname "$0")/common.bash"
make_chain c

expect_exit 0 "chain --json on an intact chain" -- "$VMDKIT" chain --json c/top.vmdk
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "chain JSON schema" || fail "chain JSON schema"
import json, re, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"ok", "layers", "warnings"}, d.keys()
assert d["ok"] is True and d["warnings"] == []
assert [l["link"] for l in d["layers"]] == ["ok", "ok", "base"], d
assert d["layers"][0]["path"].endswith("top.vmdk")
assert d["layers"][2]["path"].endswith("base.vmdk")
for l in d["layers"]:
    assert set(l) == {"path", "create_type", "capacity", "cid", "parent_cid", "allocated", "link"}, l
    assert l["capacity"] == 64 << 20 and l["create_type"] == "monolithicSparse"
    assert re.fullmatch(r"[0-9a-f]{8}", l["cid"]) and re.fullmatch(r"[0-9a-f]{8}", l["parent_cid"])
    assert isinstance(l["allocated"], int) and l["allocated"] > 0
assert d["layers"][0]["parent_cid"] == d["layers"][1]["cid"]
assert d["layers"][1]["parent_cid"] == d["layers"][2]["cid"]
assert d["layers"][2]["parent_cid"] == "ffffffff"
PY

expect_exit 0 "chain text" -- "$VMDKIT" chain c/top.vmdk
contains "$TEST_TMPDIR/out" "└─" "text tree has connectors"
contains "$TEST_TMPDIR/out" "64.0 MiB" "text tree shows sizes"
contains "$TEST_TMPDIR/out" "(base)" "text tree marks the base"
golden chain/intact.txt "$TEST_TMPDIR/out" "chain text of the intact chain"

# Missing parent: the chain is printed up to the break, exit 1.
mkdir -p m && cp c/top.vmdk c/mid.vmdk m/
expect_exit 1 "chain with a missing parent" -- "$VMDKIT" chain --json m/top.vmdk
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "missing parent JSON" || fail "missing parent JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is False
assert d["layers"][-1]["link"] == "missing_parent", d
assert any("base.vmdk" in w for w in d["warnings"]), d["warnings"]
PY
expect_exit 1 "chain text with a missing parent" -- "$VMDKIT" chain m/top.vmdk
contains "$TEST_TMPDIR/out" "BROKEN" "text marks the broken link"
contains "$TEST_TMPDIR/out" "missing_parent" "text names the link state"
contains "$TEST_TMPDIR/out" "base.vmdk" "text names the missing hint"
golden chain/missing-parent.txt "$TEST_TMPDIR/out" "chain text with a missing parent"

# CID mismatch: a new base under the old name.
mkdir -p x && cp c/top.vmdk c/mid.vmdk x/ && "$VMDKIT" create -q --seed 1 x/base.vmdk --size 64M
expect_exit 1 "chain with a CID mismatch" -- "$VMDKIT" chain --json x/top.vmdk
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "cid mismatch JSON" || fail "cid mismatch JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is False
links = [l["link"] for l in d["layers"]]
assert "cid_mismatch" in links, links
assert links[0] == "ok"
PY
expect_exit 1 "chain text with a CID mismatch" -- "$VMDKIT" chain x/top.vmdk
contains "$TEST_TMPDIR/out" "cid_mismatch" "text names the CID mismatch"
golden chain/cid-mismatch.txt "$TEST_TMPDIR/out" "chain text with a CID mismatch"

# A single standalone disk is a chain of one.
expect_exit 0 "chain of one" -- "$VMDKIT" chain --json c/base.vmdk
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] and [l["link"] for l in d["layers"]]==["base"]' \
  "$TEST_TMPDIR/out" && pass "chain of one is base" || fail "chain of one is base"
finish
