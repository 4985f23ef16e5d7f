#!/usr/bin/env bash
# Issue 14 finding 8: check must call every disk that no command can read damaged (exit 2), with a
# finding at the damaged structure: an unknown sparse header version, unknown incompatible flags,
# an unknown compression algorithm, a stream grain whose zlib data is corrupt, and a descriptor with
# a NUL byte before its extent lines (which must not open as an empty disk). Aliased extent lines
# are in truth_shared_files.sh.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/common.bash"

$PY -c "
import sys
sys.stdout.buffer.write(b''.join(bytes([0x21 * (i + 1)]) * 65536 for i in range(4)))" >raw.img
for type in monolithicSparse streamOptimized monolithicFlat; do
  "$VMDKIT" convert -q --from raw --to $type --seed 1 raw.img $type.vmdk || fail "convert to $type"
done

# poke FILE OFFSET STRUCT VALUE: packs VALUE at OFFSET.
poke() {
  $PY -c "
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(int(sys.argv[2], 0)); f.write(struct.pack(sys.argv[3], int(sys.argv[4], 0)))" "$@"
}

# check_case NAME CODE OFFSET: check exits 2 with CODE at OFFSET in NAME, and cat fails too.
check_case() {
  local name=$1 code=$2 offset=$3
  expect_exit 2 "$name: check reports a corruption" -- "$VMDKIT" check --json "$name"
  if $PY -c "
import json, sys
report = json.load(open('out'))
found = [(f['code'], f['severity'], f['offset']) for f in report['findings']]
sys.exit(0 if ('$code', 'corruption', $offset) in found else 1)"; then
    pass "$name: $code at $offset"
  else
    fail "$name: no corruption $code at $offset in $(head -c 600 out)"
  fi
  expect_exit 1 "$name: cat fails as well" -- "$VMDKIT" cat "$name"
}

cp monolithicSparse.vmdk version.vmdk && poke version.vmdk 4 '<I' 7
check_case version.vmdk header_unsupported 4
cp monolithicSparse.vmdk flags.vmdk && poke flags.vmdk 8 '<I' 0x40003
check_case flags.vmdk header_unsupported 8
cp streamOptimized.vmdk algorithm.vmdk && poke algorithm.vmdk 77 '<H' 9
check_case algorithm.vmdk header_unsupported 77

# Grain 2's record sits at 0x10400: its marker (12 bytes) stays, its deflate data is overwritten.
cp streamOptimized.vmdk zlib.vmdk
$PY - <<'PY' || fail "zlib damage"
import struct
data = bytearray(open("zlib.vmdk", "rb").read())
lba, size = struct.unpack_from("<QI", data, 0x10400)
assert lba == 0x100 and 16 < size < 512, (lba, size)
data[0x10400 + 14:0x10400 + 12 + size] = bytes([0xff]) * (size - 2)
open("zlib.vmdk", "wb").write(data)
PY
check_case zlib.vmdk grain_data_corrupt 0x10400
expect_exit 0 "zlib.vmdk: the other grains still read" -- "$VMDKIT" cat --offset 0x30000 --length 65536 zlib.vmdk

# A NUL where "# Extent description" starts: the extent line is still there after it.
$PY - <<'PY' || fail "descriptor damage"
text = open("monolithicFlat.vmdk", "rb").read()
at = text.index(b"# Extent description")
open("nul.vmdk", "wb").write(text[:at] + b"\0" + text[at + 1:])
open("nul.at", "w").write(str(at))
PY
cp monolithicFlat-flat.vmdk nul-flat.vmdk 2>/dev/null
check_case nul.vmdk descriptor_invalid "$(cat nul.at)"
expect_exit 1 "nul.vmdk: info refuses it" -- "$VMDKIT" info nul.vmdk
contains err "NUL byte at" "nul.vmdk: the error names the NUL"
# NUL padding after the last line is still accepted.
cp monolithicFlat.vmdk padded.vmdk && printf '\0\0\0\0' >>padded.vmdk
expect_exit 0 "padded.vmdk: NUL padding at the end is fine" -- "$VMDKIT" check padded.vmdk
finish
