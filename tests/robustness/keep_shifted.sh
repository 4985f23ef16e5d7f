#!/bin/bash
# A monolithicSparse whose embedded descriptor was edited in place by a text editor (issue 14,
# finding 2): the inserted line shifts every byte after it, the directories then name no table
# and the layer's grains look leaked. check must call it a corruption (file_size_unaligned), and
# repair must not drop the grains and say "clean": it changes nothing, lists them as kept, exits 2.
source "$(dirname "$0")/../cli/common.bash"

"$PY" -c 'import random; open("w.bin","wb").write(random.Random(3).randbytes(200000))'
"$VMDKIT" create d.vmdk --size 64M --seed 1 -q && "$VMDKIT" write d.vmdk --offset 0 --from w.bin --seed 2 -q ||
  { echo "set-up failed" >&2; exit 1; }
"$PY" - d.vmdk <<'PYEOF' || { echo "set-up failed" >&2; exit 1; }
import sys
d = open(sys.argv[1], "rb").read()
at = d.index(b'ddb.virtualHWVersion')
open(sys.argv[1], "wb").write(d[:at] + b'ddb.comment = "edited in vi"\n' + d[at:])
PYEOF
before=$(sha256sum < d.vmdk)

expect_exit 2 "check: corruption, not only leaks" -- "$VMDKIT" check d.vmdk --json
contains out '"code": "file_size_unaligned"' "check names the shifted bytes"
expect_exit 2 "repair: findings remain (exit 2), never clean" -- "$VMDKIT" repair d.vmdk --json --salvage sal
cp out repair.json
"$PY" - repair.json <<'PYEOF' && pass "report: kept grains, nothing written, finding left" || fail "report: $(head -c 1500 repair.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["undo_log"] is None and not r["actions"], (r["undo_log"], r["actions"])
assert sum(k["length"] for k in r["kept"]) >= 4 * 65536, r["kept"]
assert any(f["code"] == "file_size_unaligned" for f in r["unrepaired"]), r["unrepaired"]
assert all(k["salvaged"] for k in r["kept"]), r["kept"]
PYEOF
[ "$(sha256sum < d.vmdk)" = "$before" ] && pass "repair changed no byte of the file" || fail "repair changed the file"
# The salvaged pieces hold the written data (shifted by the 29 inserted bytes, but all there).
"$PY" - <<'PYEOF' && pass "the salvaged bytes hold all the written data" || fail "the written data is not in the salvaged files"
import glob
data = b"".join(open(p, "rb").read() for p in sorted(glob.glob("sal/*.grain"), key=lambda p: int(p.split("@")[1].split(".")[0], 16)))
assert open("w.bin", "rb").read() in data
PYEOF
finish
