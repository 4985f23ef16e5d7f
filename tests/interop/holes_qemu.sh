#!/bin/bash
# Interop half of tests/cli/holes.sh (issue 16, acceptance 1): on a 3 TiB vmfsThin disk holding one
# grain, and on a monolithicFlat disk made and written by qemu, `vmdkit map --json` agrees with
# `qemu-img map --output=json` on data, zero, present, depth and host offset for every byte (holes of
# the flat file are data+zero for both), and `info` reports below 1 MiB allocated.
# ctest-cost: 6
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img qemu-io

"$PY" "$(dirname "$0")/../cli/reports_holes.py" || { echo "skip: the file system of $TEST_TMPDIR does not report holes (SEEK_DATA)"; exit 77; }

# agree DISK: every byte has the same (present, zero, data, depth, host offset) in both maps.
agree() {
  qemu-img map -f vmdk --output=json "$1" >qemu.json || { fail "qemu-img map $1"; return; }
  "$VMDKIT" map --json "$1" >ours.json || { fail "vmdkit map --json $1"; return; }
  "$PY" - ours.json qemu.json <<'PY' && pass "map of $1 agrees with qemu-img map" || fail "map of $1 disagrees with qemu-img map"
import json, sys
ours = json.load(open(sys.argv[1]))
qemu = json.load(open(sys.argv[2]))
def at(ranges, x, start="start", offset="offset"):
    for r in ranges:
        if r[start] <= x < r[start] + r["length"]:
            off = r[offset] + (x - r[start]) if r.get(offset) is not None else None
            return (r["present"], r["zero"], r["data"], r["depth"], off)
    raise AssertionError("no range at %d" % x)
cuts = set()
for r in ours["ranges"] + qemu:
    cuts.update((r["start"], r["start"] + r["length"]))
cuts = sorted(c for c in cuts if c < ours["capacity"])
for x in cuts:
    assert at(ours["ranges"], x) == at(qemu, x), (x, at(ours["ranges"], x), at(qemu, x))
print("agree on %d pieces" % len(cuts))
PY
}

expect_exit 0 "create a 3 TiB vmfsThin disk" -- "$VMDKIT" create --type vmfsThin --size 3T --seed 1 thin.vmdk
expect_exit 0 "write one grain at 1 TiB" -- "$VMDKIT" write --pattern 0x5a --length 64K --offset 1T -q thin.vmdk
agree thin.vmdk
expect_exit 0 "info --json of the thin disk" -- "$VMDKIT" info --json thin.vmdk
"$PY" -c 'import json, sys; a = json.load(open(sys.argv[1]))["allocated"]; sys.exit(0 if 0 < a < 1 << 20 else 1)' \
  "$TEST_TMPDIR/out" && pass "info: allocated below 1 MiB" || fail "info allocated: $(grep -o '"allocated": [0-9]*' out | head -2)"
qemu-io -f vmdk -c 'write -P 0x33 2T 4096' thin.vmdk >/dev/null || fail "qemu-io write"
agree thin.vmdk

qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 1G || fail "qemu-img create monolithicFlat"
qemu-io -f vmdk -c 'write -P 0x11 1M 64k' -c 'write -P 0x22 700M 3M' flat.vmdk >/dev/null || fail "qemu-io write flat"
agree flat.vmdk
finish
