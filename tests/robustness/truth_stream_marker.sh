#!/usr/bin/env bash
# Issue 14 finding 7: a streamOptimized grain table entry pointing at another grain's marker.
# Every read path (whole-disk cat, convert, compare with its reader threads, cat --offset) must
# refuse it naming the marker's LBA, and check must report the entry's record (grain_marker_invalid).
source "$(dirname "${BASH_SOURCE[0]}")/../cli/common.bash"

# Four 64 KiB grains of distinct bytes; the table entry of grain 1 is made to name grain 0's record.
$PY -c "
import sys
sys.stdout.buffer.write(b''.join(bytes([0x11 * (i + 1)]) * 65536 for i in range(4)))" >raw.img
"$VMDKIT" convert -q --from raw --to streamOptimized --seed 1 raw.img good.vmdk || { fail "convert"; finish; }
cp good.vmdk bad.vmdk
$PY - <<'PY' || fail "could not find the grain table"
import struct
data = bytearray(open("bad.vmdk", "rb").read())
# The grain records follow each other one sector apart from 0x10000 (sector 0x80) on.
table = data.find(struct.pack("<4I", 0x80, 0x81, 0x82, 0x83))
assert table > 0
struct.pack_into("<I", data, table + 4, 0x80)
open("bad.vmdk", "wb").write(data)
PY

expect_exit 1 "whole-disk cat refuses the entry" -- "$VMDKIT" cat bad.vmdk
contains err "has lba 0x0 but" "cat names the marker's lba"
expect_exit 1 "cat --offset refuses it" -- "$VMDKIT" cat --offset 0x10000 --length 512 bad.vmdk
expect_exit 1 "convert to raw refuses it" -- "$VMDKIT" convert -q --to raw bad.vmdk out.raw
[ -e out.raw ] && fail "convert left out.raw behind"
expect_exit 1 "convert to streamOptimized refuses it" -- "$VMDKIT" convert -q --to streamOptimized bad.vmdk out.vmdk
expect_exit 2 "compare is an error, not a difference" -- "$VMDKIT" compare bad.vmdk raw.img
contains err "has lba 0x0 but" "compare names the marker's lba"
expect_exit 2 "compare of the two stream disks is an error" -- "$VMDKIT" compare good.vmdk bad.vmdk
expect_exit 2 "check reports a corruption" -- "$VMDKIT" check --json bad.vmdk
$PY - <<'PY' || fail "check finding"
import json
report = json.load(open("out"))
codes = [(f["code"], f["offset"]) for f in report["findings"]]
assert ("grain_marker_invalid", 0x10000) in codes, codes
PY
# The entries that are right still read: the damage is refused, the rest is not affected.
expect_exit 0 "an intact grain still reads" -- "$VMDKIT" cat --offset 0x20000 --length 65536 bad.vmdk
expect_exit 0 "the intact disk reads" -- "$VMDKIT" compare good.vmdk raw.img
finish
