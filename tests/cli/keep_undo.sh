#!/bin/bash
# repair --undo applies only to the disk repair left (issue 14, finding 3): after a later
# `vmdkit write` it refuses (exit 1, naming the file and what changed) and writes nothing; an
# unchanged disk is put back byte for byte; a log without a state record (an older vmdkit's) is
# refused unless --force.
source "$(dirname "$0")/common.bash"

setup() {
  rm -rf "$1" && mkdir "$1" && (
    cd "$1" || exit 1
    "$PY" -c 'import random; open("w.bin","wb").write(random.Random(5).randbytes(300000))'
    "$VMDKIT" create d.vmdk --size 64M --seed 1 -q && "$VMDKIT" write d.vmdk --offset 0 --from w.bin --seed 2 -q &&
      "$PY" - d.vmdk <<'PYEOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
gd = struct.unpack_from("<Q", d, 56)[0]
table = struct.unpack_from("<I", d, gd * 512)[0]
with open(sys.argv[1], "r+b") as f:  # primary entry 2 past the end: repair restores it from the copy
    f.seek(table * 512 + 8)
    f.write(struct.pack("<I", 0x7FFF0000))
PYEOF
  ) || { echo "set-up failed" >&2; exit 1; }
}

setup a
damaged=$(sha256sum < a/d.vmdk)
expect_exit 0 "repair" -- "$VMDKIT" repair a/d.vmdk
expect_exit 0 "write after the repair" -- "$VMDKIT" write a/d.vmdk --offset 40000000 --pattern 0x77 --length 65536 -q
written=$(sha256sum < a/d.vmdk)
expect_exit 1 "undo refuses a disk written since" -- "$VMDKIT" repair --undo a/d.vmdk
contains err "a/d.vmdk" "the refusal names the file"
contains err "changed" "the refusal says what changed"
[ "$(sha256sum < a/d.vmdk)" = "$written" ] && pass "the refused undo wrote nothing" || fail "the refused undo changed the disk"
ls -A a | grep -q vmdkit-undo && pass "the log is kept" || fail "the refused undo removed its log"

# An in-place change of bytes repair wrote (same size) is refused too, naming the range.
setup b
expect_exit 0 "repair" -- "$VMDKIT" repair b/d.vmdk --json
table=$("$PY" -c 'import json,sys; print([a["offset"] for a in json.load(open(sys.argv[1]))["actions"] if a["code"] == "grain_table_rewritten"][0])' out)
printf '\x55' | dd of=b/d.vmdk bs=1 seek=$((table + 100)) conv=notrunc status=none
expect_exit 1 "undo refuses bytes changed in place" -- "$VMDKIT" repair --undo b/d.vmdk
contains err "bytes $(printf '%#x' "$table")+" "the refusal names the changed range"

# Unchanged: undo puts the damaged file back byte for byte.
setup c
expect_exit 0 "repair" -- "$VMDKIT" repair c/d.vmdk
expect_exit 0 "undo of an unchanged disk" -- "$VMDKIT" repair --undo c/d.vmdk --json
contains out '"state_verified": true' "undo says it verified the state"
[ "$(sha256sum < c/d.vmdk)" = "$damaged" ] && pass "undo restored the file byte for byte" || fail "undo result differs"

# A log without the state record (as older vmdkit wrote them): refused unless --force.
setup e
expect_exit 0 "repair" -- "$VMDKIT" repair e/d.vmdk
log=$(ls -A e | grep vmdkit-undo)
"$PY" - "e/$log" <<'PYEOF'
import json, sys
data = open(sys.argv[1], "rb").read()
first = data.index(b"\n") + 1
second = data.index(b"\n", first)
manifest = json.loads(data[first:second])
del manifest["state"]
open(sys.argv[1], "wb").write(data[:first] + json.dumps(manifest).encode() + data[second:])
PYEOF
expect_exit 1 "an old log is refused" -- "$VMDKIT" repair --undo e/d.vmdk
contains err "--force" "the refusal names --force"
expect_exit 0 "--force applies it" -- "$VMDKIT" repair --undo --force e/d.vmdk
[ "$(sha256sum < e/d.vmdk)" = "$damaged" ] && pass "--force restored the file" || fail "--force result differs"
finish
