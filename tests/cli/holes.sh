#!/bin/bash
# Holes of flat host files (issue 16): every flat kind (monolithicFlat, twoGbMaxExtentFlat, vmfs,
# vmfsThin) answers map and info from SEEK_DATA/SEEK_HOLE: a hole is zero (QEMU's data+zero, with
# the file and its offset), the allocated size is the data, reads of holes cost no I/O, and raw
# and flat exports of a thin disk stay sparse. Skipped where the file system cannot tell holes.
# ctest-cost: 30
source "$(dirname "$0")/common.bash"
# LeakSanitizer cannot run under ptrace (strace): the sanitized run checks leaks everywhere else.
if [[ -n ${VMDKIT_SANITIZED:-} ]]; then export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"; fi

# Does this file system report holes? A 2 MiB file with one data block at 1 MiB must say so.
"$PY" "$(dirname "$0")/reports_holes.py" || { echo "skip: the file system of $TEST_TMPDIR does not report holes (SEEK_DATA)"; exit 77; }

# check_thin_map JSON CAPACITY WRITE_AT WRITE_LEN: one data range covering the write (file system
# blocks may round it out), every other byte a zero range that still names its file.
check_thin_map() {
  "$PY" - "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
cap, at, n = (int(x) for x in sys.argv[2:5])
pos = 0
data = []
for r in doc["ranges"]:
    assert r["start"] == pos, r
    assert r["present"] and r["depth"] == 0 and r["data"], r
    assert r["file"] and r["offset"] is not None, r
    if not r["zero"]:
        data.append((r["start"], r["start"] + r["length"]))
    pos += r["length"]
assert pos == cap, pos
assert len(data) == 1, data
assert data[0][0] <= at and data[0][1] >= at + n and data[0][1] - data[0][0] <= n + (1 << 20), data
PY
}

# allocated_below JSON LIMIT
allocated_below() {
  "$PY" -c 'import json, sys; a = json.load(open(sys.argv[1]))["allocated"]; sys.exit(0 if 0 < a < int(sys.argv[2]) else 1)' "$1" "$2"
}

# type size write-offset: the write lands in the second part of a twoGbMaxExtentFlat disk.
while read -r type size at; do
  d=$type
  mkdir "$d"
  expect_exit 0 "$type: create $size" -- "$VMDKIT" create --type "$type" --size "$size" --seed 1 "$d/thin.vmdk"
  expect_exit 0 "$type: write 64 KiB at $at" -- "$VMDKIT" write --pattern 0x5a --length 64K --offset "$at" -q "$d/thin.vmdk"
  cap=$("$PY" -c 'import sys; n = sys.argv[1]; print(int(n[:-1]) << {"G": 30, "T": 40}[n[-1]])' "$size")
  expect_exit 0 "$type: map --json" -- "$VMDKIT" map --json "$d/thin.vmdk"
  check_thin_map "$TEST_TMPDIR/out" "$cap" "$at" 65536 && pass "$type: holes map as zero, the write as data" ||
    fail "$type: map of the thin disk: $(head -c 600 "$TEST_TMPDIR/out")"
  expect_exit 0 "$type: info --json" -- "$VMDKIT" info --json "$d/thin.vmdk"
  allocated_below "$TEST_TMPDIR/out" $((1 << 20)) && pass "$type: info allocated below 1 MiB" ||
    fail "$type: info allocated: $(grep -o '"allocated": [0-9]*' "$TEST_TMPDIR/out" | head -3)"
  expect_exit 0 "$type: check" -- "$VMDKIT" check "$d/thin.vmdk"
done <<'LIST'
monolithicFlat 3G 1073741824
twoGbMaxExtentFlat 5G 3221291008
vmfs 3G 65536
vmfsThin 3T 1099511627776
LIST

# Reads of holes cost no I/O: cat of 256 MiB of the thin disk around its one grain reads the grain
# only (a single flat file: its reads are pread64/preadv, not a batch through io_uring).
t=vmfsThin/thin.vmdk
at=1099511627776
cat_check() {
  "$PY" -c '
import sys
want = bytearray(256 << 20)
want[128 << 20:(128 << 20) + 65536] = b"\x5a" * 65536
got = sys.stdin.buffer.read()
sys.exit(0 if got == want else 1)'
}
tracer=()
command -v strace >/dev/null && tracer=(strace -f -qq -e trace=pread64,preadv,preadv2 -o "$TEST_TMPDIR/cat.trace")
"${tracer[@]}" "$VMDKIT" cat --offset $((at - (128 << 20))) --length 256M "$t" | cat_check &&
  pass "cat of the thin disk: zeros and the grain" || fail "cat of the thin disk: wrong bytes"
if [ ${#tracer[@]} -gt 0 ]; then
  "$PY" - cat.trace <<'PY' && pass "cat of 256 MiB of holes reads only the data" || fail "cat read the holes: $(tail -3 cat.trace)"
import re, sys
total = 0
for line in open(sys.argv[1]):
    m = re.search(r"\bpread(?:64|v|v2)\(.*= (\d+)$", line.strip())
    if m:
        total += int(m.group(1))
assert 0 < total < 4 << 20, total
PY
else
  echo "ok (not run): strace is not installed, so read counts are not checked"
fi

# Exports of the thin disk stay sparse: raw and monolithicFlat take about what the disk holds.
expect_exit 0 "convert thin to raw" -- "$VMDKIT" convert -q "$t" thin.raw --to raw
expect_exit 0 "convert thin to monolithicFlat" -- "$VMDKIT" convert -q "$t" out-flat.vmdk --to monolithicFlat
for f in thin.raw out-flat-flat.vmdk; do
  used=$(du -k "$f" | cut -f1)
  [ "$used" -lt 4096 ] && pass "$f is sparse (${used} KiB on disk)" || fail "$f takes ${used} KiB on disk"
done
# A sparse export holds only the grain (the 3 GiB vmfs disk: monolithicSparse stops below 2 TiB).
expect_exit 0 "convert vmfs to monolithicSparse" -- "$VMDKIT" convert -q vmfs/thin.vmdk out-sparse.vmdk --to monolithicSparse
expect_exit 0 "compare thin with its raw export" -- "$VMDKIT" compare "$t" thin.raw
# Cost bounded by the holes, not the capacity: one lseek per hole, not one per chunk of 3 TiB.
if [ ${#tracer[@]} -gt 0 ]; then
  strace -f -qq -c -e trace=lseek -o lseek.count "$VMDKIT" compare "$t" thin.raw >/dev/null || fail "compare under strace"
  calls=$(awk '$NF == "lseek" {print $4}' lseek.count)
  [ "${calls:-0}" -lt 1000 ] && pass "compare asks the file system ${calls:-0} times" || fail "compare made ${calls} lseek calls"
fi
expect_exit 0 "compare vmfs with its sparse export" -- "$VMDKIT" compare vmfs/thin.vmdk out-sparse.vmdk
expect_exit 0 "info of the sparse export" -- "$VMDKIT" info --json out-sparse.vmdk
allocated_below "$TEST_TMPDIR/out" $((1 << 20)) && pass "sparse export holds only the grain" || fail "sparse export allocated"
# consolidate into a flat base: grains of zeros over holes of the base's file leave them holes; the
# grain of data lands in place. (8 MiB of zero writes would otherwise fill 8 MiB of the file.)
mkdir cons
expect_exit 0 "consolidate: create a 1 GiB monolithicFlat base" -- "$VMDKIT" create --type monolithicFlat --size 1G --seed 2 -q cons/base.vmdk
expect_exit 0 "consolidate: snapshot" -- "$VMDKIT" snapshot --zeroed-grains --seed 3 cons/base.vmdk
top=$(ls cons/base-0*.vmdk | head -1)
expect_exit 0 "consolidate: write zeros into the delta" -- "$VMDKIT" write --zero --length 8M --offset 100M -q "$top"
expect_exit 0 "consolidate: write a grain into the delta" -- "$VMDKIT" write --pattern 0x77 --length 64K --offset 300M -q "$top"
expect_exit 0 "consolidate into the flat base" -- "$VMDKIT" consolidate --seed 4 "$top"
used=$(du -k cons/base-flat.vmdk | cut -f1)
[ "$used" -lt 1024 ] && pass "consolidate left the base's holes ($used KiB on disk)" || fail "consolidate filled the base: $used KiB on disk"
"$VMDKIT" cat --offset 300M --length 64K cons/base.vmdk | cmp -s - <("$PY" -c 'import sys; sys.stdout.buffer.write(b"\x77" * 65536)') &&
  pass "consolidate: the grain is in the base" || fail "consolidate: the grain is not in the base"
# write --from a sparse file: its holes are zeros that are not read (16 MiB file, 64 KiB of data).
"$PY" -c '
import os
fd = os.open("src.bin", os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 16 << 20)
os.pwrite(fd, b"\x42" * 65536, 8 << 20)
os.close(fd)'
expect_exit 0 "write --from: create the target" -- "$VMDKIT" create --size 32M --seed 5 -q from.vmdk
if [ ${#tracer[@]} -gt 0 ]; then
  strace -f -qq -e trace=pread64,preadv,preadv2 -o write.trace "$VMDKIT" write --from src.bin --offset 1M -q from.vmdk ||
    fail "write --from under strace"
  "$PY" - write.trace <<'PY' && pass "write --from reads only the source's data" || fail "write --from read the source's holes"
import re, sys
total = sum(int(m.group(1)) for m in (re.search(r"\bpread(?:64|v|v2)\(.*= (\d+)$", l.strip()) for l in open(sys.argv[1])) if m)
assert total < 4 << 20, total
PY
else
  expect_exit 0 "write --from a sparse file" -- "$VMDKIT" write --from src.bin --offset 1M -q from.vmdk
fi
"$VMDKIT" cat --offset 1M --length 16M from.vmdk | cmp -s - src.bin && pass "write --from: content" || fail "write --from: content"
finish
