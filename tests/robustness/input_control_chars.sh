#!/bin/bash
# Finding 10 of issue 14: names and values from files reach the terminal escaped. A flat disk whose
# file names, extent name and ddb value hold ESC, BEL and CR (an OSC retitle, a colour change and a
# carriage return), and a snapshot whose parent hint holds them: info, chain, map, check and an
# error message must show them as \x1b, \x07 and \x0d and never write those bytes; JSON stays valid
# and gives the exact values back.
source "$(dirname "$0")/../cli/common.bash"

"$PY" - <<'PY' || { echo "cannot make the fixture" >&2; exit 1; }
bad = "\x1b]0;owned\x07\x1b[31m\r"
ext = "ext" + bad + "-flat.bin"
with open(ext, "wb") as f:
    f.write(b"\xab" * 4096)
    f.truncate(1 << 20)
open("par" + bad + ".vmdk", "wb").write((
    "# Disk DescriptorFile\nversion=1\nCID=11111111\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n"
    "# Extent description\nRW 2048 FLAT \"" + ext + "\" 0\n\n# The Disk Data Base\n#DDB\n\n"
    "ddb.adapterType = \"lsilogic\"\nddb.comment = \"" + bad + "done\"\n").encode()
    # A C1 control (CSI, U+009B) and a byte that is not UTF-8.
    + b'ddb.note = "\xc2\x9b31m\xffend"\n')
PY
parent=$(ls par*.vmdk)
"$VMDKIT" snapshot -q "$parent" --seed 3 >/dev/null 2>&1 || { echo "cannot snapshot the fixture" >&2; exit 1; }
mv par*-000001.vmdk child.vmdk

# raw_free WHAT FILE...: none of the files holds ESC, BEL or CR, and one shows the escape.
raw_free() {
  local what=$1; shift
  if grep -q $'[\x1b\x07\r]' "$@"; then fail "$what: raw control bytes in the output: $(cat -A "$@" | head -c 400)"
  else pass "$what: no raw ESC, BEL or CR"; fi
  if grep -qF '\x1b]0;owned\x07\x1b[31m\x0d' "$@"; then pass "$what: the name is shown escaped"
  else fail "$what: the escaped name is not shown: $(head -c 400 "$@")"; fi
}

expect_exit 0 "info" -- "$VMDKIT" info "$parent"
raw_free "info" "$TEST_TMPDIR/out" "$TEST_TMPDIR/err"
contains "$TEST_TMPDIR/out" 'ddb.comment = "\x1b]0;owned\x07\x1b[31m\x0ddone"' "info: the ddb value is escaped"
contains "$TEST_TMPDIR/out" 'ddb.note = "\xc2\x9b31m\xffend"' "info: a C1 control and invalid UTF-8 are escaped"
if LC_ALL=C grep -q $'\xc2\x9b\|\xff' "$TEST_TMPDIR/out"; then fail "info: raw C1 or invalid UTF-8 bytes in the output"
else pass "info: no raw C1 or invalid UTF-8 bytes"; fi
expect_exit 0 "chain" -- "$VMDKIT" chain child.vmdk
raw_free "chain" "$TEST_TMPDIR/out" "$TEST_TMPDIR/err"
expect_exit 0 "map" -- "$VMDKIT" map child.vmdk
raw_free "map" "$TEST_TMPDIR/out" "$TEST_TMPDIR/err"

# JSON keeps the exact bytes (as JSON escapes) and stays valid.
expect_exit 0 "info --json" -- "$VMDKIT" info --json "$parent"
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "info JSON is valid and exact" || fail "info JSON: $(head -c 300 "$TEST_TMPDIR/out")"
import json, sys
d = json.load(open(sys.argv[1]))
bad = "\x1b]0;owned\x07\x1b[31m\r"
assert d["extents"][0]["file"] == "ext" + bad + "-flat.bin", d["extents"][0]
assert any(v == bad + "done" for v in (d["ddb"].values() if isinstance(d["ddb"], dict) else [e["value"] for e in d["ddb"]]))
PY

# With the parent gone: check's finding and an error message quote the hint.
mv "$parent" gone.vmdk
expect_exit 2 "check with the parent gone" -- "$VMDKIT" check child.vmdk
raw_free "check" "$TEST_TMPDIR/out" "$TEST_TMPDIR/err"
expect_exit 1 "cat with the parent gone" -- "$VMDKIT" cat child.vmdk
raw_free "error message" "$TEST_TMPDIR/err"
contains "$TEST_TMPDIR/err" "vmdkit: error: child.vmdk: parent" "the error is still one readable line"
expect_exit 1 "chain with the parent gone" -- "$VMDKIT" chain child.vmdk
raw_free "chain (broken) and its warnings" "$TEST_TMPDIR/out" "$TEST_TMPDIR/err"
finish
