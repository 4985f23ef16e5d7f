#!/bin/bash
# check and repair from the command line: exit codes, JSON shape, --strict on every command that
# opens disks, the CID-mismatch refusal that changes nothing, undo without a log.
# (qemu-img check of the repaired disk: tests/interop/check_repair_qemu.sh.)
# ctest-cost: 31
source "$(dirname "$0")/common.bash"
need sha256sum
make_chain c

# A whole-grain zero write over a written grain of a zeroed-grain image sets the entry to 1 and
# leaks the old grain (vmdk-format.md 2.5), with qemu-io's `write -z` as with vmdkit's write (the
# fixture build): mid.vmdk of make_chain has one leaked grain at 0x30000.
expect_exit 3 "check finds the leaked grain (exit 3: only leaks)" -- "$VMDKIT" check --json c/top.vmdk
"$PY" - "$TEST_TMPDIR/out" <<'PYEOF' && pass "check JSON keys and the leak" || fail "check JSON keys and the leak"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"path", "files", "findings", "corruptions", "leaks", "warning_count"}, d.keys()
assert d["files"][0] == "c/top.vmdk" and len(d["files"]) == 3, d["files"]
assert d["corruptions"] == 0 and d["leaks"] == 1, d
f = d["findings"][0]
assert (f["code"], f["severity"], f["file"], f["offset"], f["repairable"]) == \
    ("leaked_grains", "leak", "c/mid.vmdk", 0x30000, True), f
PYEOF
chain_raw before.raw
leaky=$(sha256sum c/mid.vmdk)
expect_exit 0 "repair reclaims the leak" -- "$VMDKIT" repair c/top.vmdk
contains out "reclaimed 0x10000 leaked bytes" "repair says what it reclaimed"
expect_exit 0 "clean afterwards" -- "$VMDKIT" check c/top.vmdk
[ "$(stat -c %s c/mid.vmdk)" -lt 393216 ] && pass "mid.vmdk shrank" || fail "mid.vmdk did not shrink"
expect_exit 0 "same content" -- "$VMDKIT" compare c/top.vmdk before.raw
expect_exit 0 "repair of a clean chain" -- "$VMDKIT" repair c/top.vmdk
contains out "nothing to repair" "repair says so"
[ "$(ls -A c | grep -c vmdkit-undo)" = 1 ] && pass "no second undo log when nothing was written" || fail "undo logs: $(ls -A c)"
expect_exit 0 "undo" -- "$VMDKIT" repair --undo c/top.vmdk
[ "$leaky" = "$(sha256sum c/mid.vmdk)" ] && pass "undo put the leaky file back byte for byte" || fail "undo"
expect_exit 1 "undo without a log" -- "$VMDKIT" repair --undo c/top.vmdk
contains err "no undo log" "undo names the missing log"

# A CID mismatch: refused without --accept-cid-mismatch, nothing changes.
mkdir -p m && cp c/* m/
"$PY" - m/mid.vmdk <<'PYEOF'
import sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
# qemu prints the CID without leading zeros (this once ran on qemu-made disks): change the value
# in place, keeping its length
# (the descriptor is embedded, so the file must not grow or shrink).
i = data.index(b"CID=") + 4
j = data.index(b"\n", i)
n = j - i
data[i:j] = b"%0*x" % (n, (int(data[i:j], 16) + 1) % 16**n)
open(p, "wb").write(data)
PYEOF
"$VMDKIT" repair m/top.vmdk >/dev/null  # the leak first: the test is about the CID
rm -f m/.*vmdkit-undo*
before=$(sha256sum m/*)
expect_exit 2 "check finds the CID mismatch" -- "$VMDKIT" check --json m/top.vmdk
contains out '"code": "cid_mismatch"' "cid_mismatch finding"
expect_exit 2 "repair without --accept-cid-mismatch leaves it" -- "$VMDKIT" repair m/top.vmdk
[ "$before" = "$(sha256sum m/*)" ] && pass "no file changed" || fail "files changed without --accept-cid-mismatch"
expect_exit 0 "repair --accept-cid-mismatch" -- "$VMDKIT" repair --accept-cid-mismatch m/top.vmdk
expect_exit 0 "the chain is clean afterwards" -- "$VMDKIT" check m/top.vmdk
expect_exit 0 "undo of that repair" -- "$VMDKIT" repair --undo m/top.vmdk
[ "$before" = "$(sha256sum m/*)" ] && pass "undo restored every file" || fail "undo did not restore the files"

# An interrupted consolidation (a journal at stage "copy", as a kill right after it was stored
# leaves it): check reports it, repair finishes it and goes on with ANCESTOR.
mkdir -p j && cd j
"$VMDKIT" create -q --type monolithicSparse --seed 1 --size 8M base.vmdk >/dev/null
"$VMDKIT" write -q --seed 2 --offset 0 --length 1M --pattern 0x11 base.vmdk
d1=$("$VMDKIT" snapshot -q --seed 3 base.vmdk)
"$VMDKIT" write -q --offset 512K --length 1M --pattern 0x22 "$d1" >/dev/null
d2=$("$VMDKIT" snapshot -q --seed 4 "$d1")
"$VMDKIT" write -q --offset 3M --length 100K --pattern 0x33 "$d2" >/dev/null
truncate -s 8M want.raw  # what the writes above leave, by dd
head -c 1M /dev/zero | tr '\0' '\021' | dd of=want.raw conv=notrunc status=none
head -c 1M /dev/zero | tr '\0' '\042' | dd of=want.raw bs=512K seek=1 conv=notrunc status=none
head -c 100K /dev/zero | tr '\0' '\063' | dd of=want.raw bs=1M seek=3 conv=notrunc status=none
base_cid=$("$VMDKIT" info --json base.vmdk | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
cat >.base.vmdk.vmdkit-consolidate <<JEOF
{"version": 1, "stage": "copy", "top": "$(basename "$d2")", "ancestor": "base.vmdk",
 "merged": ["$(basename "$d2")", "$(basename "$d1")"], "removed": ["$(basename "$d2")", "$(basename "$d1")"],
 "relinks": [], "ancestor_cid": "$base_cid", "new_ancestor_cid": "0000abcd"}
JEOF
cd ..
expect_exit 2 "check reports the interrupted consolidation" -- "$VMDKIT" check --json "j/$(basename "$d2")"
contains out '"code": "consolidation_interrupted"' "consolidation_interrupted finding"
expect_exit 0 "repair finishes it" -- "$VMDKIT" repair "j/$(basename "$d2")"
contains out "finished the interrupted consolidation" "repair says so"
[ ! -e "j/$(basename "$d2")" ] && [ ! -e "j/$(basename "$d1")" ] && [ ! -e j/.base.vmdk.vmdkit-consolidate ] &&
  pass "merged layers and journal gone" || fail "left: $(ls -A j)"
expect_exit 0 "the base reads what the top read" -- "$VMDKIT" compare j/base.vmdk j/want.raw

# Chain-level findings that repair cannot fix: a cycle, a parent of another size, a short flat
# extent, an embedded descriptor that fills its sectors without an end.
mkdir -p k && cd k
# a.vmdk <- b.vmdk (renamed from a's snapshot: its hint names a.vmdk all the same).
"$VMDKIT" create -q --seed 11 a.vmdk --size 8M && "$VMDKIT" snapshot -q --seed 12 a.vmdk >/dev/null &&
  mv a-000001.vmdk b.vmdk || exit 1
cid_b=$("$VMDKIT" info --json b.vmdk | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
"$PY" - a.vmdk "$cid_b" <<'PYEOF'
import struct, sys
p, cid = sys.argv[1], sys.argv[2]
data = bytearray(open(p, "rb").read())
off, size = struct.unpack_from("<QQ", data, 28)
area = data[off * 512:(off + size) * 512]
text = bytes(area).split(b"\0")[0].replace(b"parentCID=ffffffff", f'parentCID={cid}\nparentFileNameHint="b.vmdk"'.encode())
data[off * 512:(off + size) * 512] = text + bytes(size * 512 - len(text))
open(p, "wb").write(data)
PYEOF
# big.vmdk (8M) names small.vmdk (4M) as its parent, as `qemu-img create -b small.vmdk big.vmdk 8M`
# makes it: a created disk given a parent link in its embedded descriptor.
"$VMDKIT" create -q --seed 13 small.vmdk --size 4M && "$VMDKIT" create -q --seed 14 big.vmdk --size 8M || exit 1
cid_small=$("$VMDKIT" info --json small.vmdk | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
"$PY" - big.vmdk "$cid_small" <<'PYEOF'
import struct, sys
p, cid = sys.argv[1], sys.argv[2]
data = bytearray(open(p, "rb").read())
off, size = struct.unpack_from("<QQ", data, 28)
area = data[off * 512:(off + size) * 512]
text = bytes(area).split(b"\0")[0].replace(b"parentCID=ffffffff", f'parentCID={cid}\nparentFileNameHint="small.vmdk"'.encode())
data[off * 512:(off + size) * 512] = text + bytes(size * 512 - len(text))
open(p, "wb").write(data)
PYEOF
"$VMDKIT" create -q --seed 15 --type monolithicFlat flat.vmdk --size 1M && truncate -s 4096 flat-flat.vmdk
"$VMDKIT" create -q --seed 16 full.vmdk --size 1M
"$PY" - full.vmdk <<'PYEOF'
import struct, sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
off, size = struct.unpack_from("<QQ", data, 28)
text = bytes(data[off * 512:(off + size) * 512]).split(b"\0")[0] + b"# "
text += b"x" * (size * 512 - len(text))  # the text runs to the end of its sectors: no NUL, no newline
data[off * 512:(off + size) * 512] = text
open(p, "wb").write(data)
PYEOF
cd ..
for want in "b.vmdk chain_cycle" "big.vmdk capacity_mismatch" "flat.vmdk extent_short" "full.vmdk embedded_descriptor_overflow"; do
  set -- $want
  expect_exit 2 "check finds $2 in $1" -- "$VMDKIT" check --json "k/$1"
  contains out "\"code\": \"$2\"" "$2 reported"
done

# --strict: a self-contained sparse file opens; a delta or an external extent does not.
"$VMDKIT" create -q --seed 17 --type monolithicFlat flat.vmdk --size 1M
expect_exit 0 "--strict accepts a single-file disk" -- "$VMDKIT" info --strict c/base.vmdk
for cmd in info chain map cat check; do
  expect_exit 1 "$cmd --strict refuses a delta" -- "$VMDKIT" $cmd --strict c/top.vmdk
  contains err "refused by --strict" "$cmd names --strict"
done
expect_exit 1 "cat --strict refuses an external extent" -- "$VMDKIT" cat --strict flat.vmdk
expect_exit 2 "compare --strict refuses a delta (compare's error status)" -- "$VMDKIT" compare --strict c/top.vmdk c/top.vmdk
expect_exit 1 "repair with two paths" -- "$VMDKIT" repair c/top.vmdk c/mid.vmdk
finish
