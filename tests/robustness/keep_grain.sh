#!/bin/bash
# repair keeps what it cannot prove is garbage (issue 14, findings 2, acceptance 4): entry 1 of
# grain table 0 damaged in both copies loses its range, but the grain it pointed at stays in the
# file byte for byte, is listed as kept, is written out by --salvage DIR (also on a disk repaired
# before, and by a second repair that must not reclaim it either), and repair exits 4.
source "$(dirname "$0")/../cli/common.bash"

"$PY" -c 'import random; open("w.bin","wb").write(random.Random(7).randbytes(200000))'
"$VMDKIT" create d.vmdk --size 64M --seed 1 -q && "$VMDKIT" write d.vmdk --offset 0 --from w.bin --seed 2 -q ||
  { echo "set-up failed" >&2; exit 1; }
# The grain entry 1 names (its sector), saved before the damage; both table copies' entry 1 then
# points far past the end of the file.
grain=$("$PY" - d.vmdk <<'PYEOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
gtes, rgd, gd = struct.unpack_from("<IQQ", d, 44)
sector = struct.unpack_from("<I", d, struct.unpack_from("<I", d, gd * 512)[0] * 512 + 4)[0]
open("grain.bin", "wb").write(d[sector * 512:sector * 512 + 65536])
with open(sys.argv[1], "r+b") as f:
    for directory in (gd, rgd):
        table = struct.unpack_from("<I", d, directory * 512)[0]
        f.seek(table * 512 + 4)
        f.write(struct.pack("<I", 0x7FFF0000))
print(sector * 512)
PYEOF
) || { echo "set-up failed" >&2; exit 1; }
size=$(stat -c %s d.vmdk)

expect_exit 4 "repair exits 4: finished, a range lost" -- "$VMDKIT" repair d.vmdk --json --salvage sal
cp out repair.json
"$PY" - repair.json "$grain" <<'PYEOF' && pass "report: lost range, kept grain, salvage file" || fail "report: $(head -c 1500 repair.json)"
import json, sys
r = json.load(open(sys.argv[1]))
grain = int(sys.argv[2])
assert [(l["offset"], l["length"]) for l in r["lost"]] == [(0x10000, 0x10000)], r["lost"]
kept = [k for k in r["kept"] if k["offset"] == grain]
assert len(kept) == 1 and kept[0]["length"] == 0x10000 and kept[0]["file"] == "d.vmdk", r["kept"]
assert kept[0]["salvaged"] == [f"sal/d.vmdk@{grain:#x}.grain"], kept[0]
assert r["salvage_dir"] == "sal" and r["exit_status"] == 4, r
assert not r["unrepaired"], r["unrepaired"]
PYEOF
cmp -s <(dd if=d.vmdk bs=65536 skip=$((grain / 65536)) count=1 status=none) grain.bin &&
  pass "the grain is still in the file, byte for byte" || fail "the kept grain was overwritten or moved"
[ "$(stat -c %s d.vmdk)" -ge "$size" ] && pass "the file was not cut" || fail "the file shrank to $(stat -c %s d.vmdk)"
cmp -s "sal/d.vmdk@$(printf '%#x' "$grain").grain" grain.bin && pass "--salvage wrote the exact original bytes" ||
  fail "salvaged file differs or is missing: $(ls sal)"

# A second repair: the tables are sound now, but the grain stays kept (the undo log records it).
expect_exit 0 "a second repair finds nothing more to do" -- "$VMDKIT" repair d.vmdk
contains out "kept: d.vmdk bytes $(printf '%#x' "$grain")+0x10000" "the second repair still lists the kept grain"
cmp -s <(dd if=d.vmdk bs=65536 skip=$((grain / 65536)) count=1 status=none) grain.bin &&
  pass "the second repair did not reclaim it" || fail "the second repair reclaimed the kept grain"
# Salvage from the disk already repaired; an existing file is never replaced.
mkdir -p sal2 && echo other > "sal2/d.vmdk@$(printf '%#x' "$grain").grain"
expect_exit 0 "salvage from a disk repaired before" -- "$VMDKIT" repair d.vmdk --salvage sal2
[ "$(cat "sal2/d.vmdk@$(printf '%#x' "$grain").grain")" = other ] && pass "an existing file is not replaced" ||
  fail "the existing salvage file was overwritten"
cmp -s "sal2/d.vmdk@$(printf '%#x' "$grain")-2.grain" grain.bin && pass "salvaged beside it, exact bytes" ||
  fail "no exact copy in sal2: $(ls sal2)"
# A dry run writes nothing, not even the salvage folder.
expect_exit 0 "dry run with --salvage" -- "$VMDKIT" repair d.vmdk --dry-run --salvage sal3
[ ! -e sal3 ] && pass "a dry run writes no salvage file" || fail "a dry run wrote $(ls sal3)"
contains out "would salvage to: sal3/d.vmdk@" "a dry run names the files it would write"
finish
