#!/bin/bash
# vmdkit write: every refusal happens before a byte changes (a disk with a child, streamOptimized,
# a lock, a range past the end, an embedded descriptor whose new CID would not fit, bad options);
# the CID changes once per command; --json reports; a write reads back with the parent around it.
# (Writes into qemu-made disks read back in qemu: tests/interop/write_qemu.sh.)
source "$(dirname "$0")/common.bash"

sums() { sha256sum ./*.vmdk 2>/dev/null; }

# A base with a child (a snapshot, renamed): the base is refused (naming the child), the child takes it.
"$VMDKIT" create -q --seed 1 base.vmdk --size 16M && "$VMDKIT" write -q --seed 2 base.vmdk --offset 0 --length 1M --pattern 0x11 &&
  "$VMDKIT" snapshot -q --seed 3 base.vmdk >/dev/null && mv base-000001.vmdk child.vmdk || exit 1
before=$(sums)
expect_exit 1 "write into a disk with a child" -- "$VMDKIT" write base.vmdk --offset 0 --length 512 --pattern 1
contains "$TEST_TMPDIR/err" "child.vmdk" "refusal names the child"
[ "$(sums)" = "$before" ] && pass "refused write changed nothing" || fail "refused write changed a file"

cid_of() { sed -n 's/^CID=\([0-9a-f]*\).*/\1/p' <(strings "$1") | head -n 1; }
old_cid=$(cid_of child.vmdk)
expect_exit 0 "write --json into the child" -- "$VMDKIT" write --json child.vmdk --offset 1000 --length 70000 --pattern 0xab --seed 3
"$PY" - "$TEST_TMPDIR/out" "$old_cid" <<'PY' && pass "JSON report" || fail "JSON report: $(cat "$TEST_TMPDIR/out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["offset"] == 1000 and r["length"] == 70000, r
assert r["grains_written"] == 2 and r["copied_bytes"] == 2 * 65536 - 70000, r
assert r["old_cid"] == sys.argv[2].zfill(8) and r["new_cid"] != r["old_cid"], r
PY
new_cid=$(cid_of child.vmdk)
[ "$new_cid" != "$old_cid" ] && pass "CID changed ($old_cid -> $new_cid)" || fail "CID unchanged"
expect_exit 0 "check after write" -- "$VMDKIT" check child.vmdk
truncate -s 16M want.raw  # the parent's 1 MiB of 0x11, the write over it (by dd)
head -c 1M /dev/zero | tr '\0' '\021' | dd of=want.raw conv=notrunc status=none
head -c 70000 /dev/zero | tr '\0' '\253' | dd of=want.raw seek=1000 oflag=seek_bytes conv=notrunc status=none
expect_exit 0 "the child reads the write and the parent around it" -- "$VMDKIT" compare child.vmdk want.raw
# The base was not touched, and the chain still links (the child's parentCID is unchanged).
"$VMDKIT" chain child.vmdk >/dev/null && pass "chain still ok" || fail "chain broken after write"

# streamOptimized is refused with a hint.
"$VMDKIT" create -q st.vmdk --size 1M --type streamOptimized
before=$(sums)
expect_exit 1 "write into streamOptimized" -- "$VMDKIT" write st.vmdk --offset 0 --length 1 --zero
contains "$TEST_TMPDIR/err" "convert" "stream refusal hints at convert"
[ "$(sums)" = "$before" ] && pass "stream untouched" || fail "stream changed"

# A VMware lock folder refuses unless --force.
"$VMDKIT" create -q locked.vmdk --size 1M
mkdir locked.vmdk.lck
before=$(sums)
expect_exit 1 "write into a locked disk" -- "$VMDKIT" write locked.vmdk --offset 0 --length 1 --pattern 7
contains "$TEST_TMPDIR/err" "locked.vmdk.lck" "lock refusal names the lock"
[ "$(sums)" = "$before" ] && pass "locked disk untouched" || fail "locked disk changed"
expect_exit 0 "write --force into a locked disk" -- "$VMDKIT" write -q --force locked.vmdk --offset 0 --length 1 --pattern 7

# An embedded descriptor filled to its last byte: a longer CID would not fit, so nothing is written.
"$VMDKIT" create -q full.vmdk --size 1M --seed 1
"$PY" - full.vmdk <<'PY'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
off, size = struct.unpack_from("<QQ", b, 28)
start, end = off * 512, (off + size) * 512
text = bytes(b[start:end]).split(b"\0", 1)[0].decode()
text = text.replace("CID=", "CID=", 1)
import re
text = re.sub(r"^CID=[0-9a-f]+$", "CID=1", text, count=1, flags=re.M)
pad = "#" * (end - start - len(text) - 2) + "\n"
new = (text + pad).encode()
assert len(new) == end - start - 1
b[start:end] = new + b"\0"
open(p, "wb").write(b)
PY
before=$(sums)
expect_exit 1 "write when the new CID would not fit the descriptor area" -- "$VMDKIT" write full.vmdk --offset 0 --length 512 --pattern 1
contains "$TEST_TMPDIR/err" "reserved" "message says the area is too small"
[ "$(sums)" = "$before" ] && pass "nothing written when the descriptor cannot grow" || fail "full.vmdk changed"

# Bad options: exit 1, nothing written.
before=$(sums)
expect_exit 1 "past the end" -- "$VMDKIT" write child.vmdk --offset 16M --length 1 --pattern 1
expect_exit 1 "no data option" -- "$VMDKIT" write child.vmdk --offset 0
expect_exit 1 "two data options" -- "$VMDKIT" write child.vmdk --offset 0 --length 1 --pattern 1 --zero
expect_exit 1 "pattern out of range" -- "$VMDKIT" write child.vmdk --offset 0 --length 1 --pattern 256
contains "$TEST_TMPDIR/err" "--pattern" "bad pattern names the option"
expect_exit 1 "pattern without length" -- "$VMDKIT" write child.vmdk --offset 0 --pattern 1
expect_exit 1 "missing --from file" -- "$VMDKIT" write child.vmdk --offset 0 --from nowhere.bin
[ "$(sums)" = "$before" ] && pass "bad options changed nothing" || fail "a bad option changed a file"
finish
