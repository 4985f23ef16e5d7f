#!/bin/bash
# Finding 13 of issue 14: info on a disk with a damaged extent shows it as "error" with every other
# extent and exits 0 (as docs/cli.md says); a bare split part or flat extent that a descriptor of
# its folder names is refused with that descriptor's name; a bare sparse extent nobody names reads
# with a warning; qcow2, qcow, QED, VDI, VHD (dynamic and fixed) and VHDX are named by magic, and
# compare refuses them instead of reading them as raw. (Here the foreign images are 1 MiB files
# that hold only each format's identifying fields; the same checks on images qemu-img made:
# tests/interop/foreign_formats_qemu.sh.)
source "$(dirname "$0")/common.bash"

"$VMDKIT" create -q --type twoGbMaxExtentSparse split.vmdk --size 5G --seed 4 || exit 1
"$VMDKIT" create -q --type monolithicFlat flat.vmdk --size 1M --seed 5 || exit 1

# A damaged part: its sparse magic overwritten.
cp split-s002.vmdk keep-s002
printf 'XXXX' | dd of=split-s002.vmdk bs=1 conv=notrunc status=none
expect_exit 0 "info on a disk with a damaged extent" -- "$VMDKIT" info --json split.vmdk
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "info JSON: the damaged extent is error, the others ok" || fail "info JSON: $(head -c 900 "$TEST_TMPDIR/out")"
import json, sys
d = json.load(open(sys.argv[1]))
status = [e["status"] for e in d["extents"]]
assert status == ["ok", "error", "ok"], status
assert d["extents"][1]["problem"], d["extents"][1]
assert d["create_type"] == "twoGbMaxExtentSparse" and d["complete"] is False
PY
expect_exit 0 "info text on a disk with a damaged extent" -- "$VMDKIT" info split.vmdk
contains "$TEST_TMPDIR/out" "split-s002.vmdk\": error" "info text shows the damaged extent as error"
contains "$TEST_TMPDIR/out" "create type: twoGbMaxExtentSparse" "info text still shows the descriptor"
cp keep-s002 split-s002.vmdk

# Bare parts and extents are refused with the disk to open instead.
expect_exit 1 "info on a bare split part" -- "$VMDKIT" info split-s002.vmdk
contains "$TEST_TMPDIR/err" "split-s002.vmdk: is extent 2 of split.vmdk; open that" "the part names its descriptor"
expect_exit 1 "cat of a bare split part" -- "$VMDKIT" cat split-s002.vmdk
contains "$TEST_TMPDIR/err" "is extent 2 of split.vmdk" "cat names the descriptor"
expect_exit 1 "info on a bare flat extent" -- "$VMDKIT" info flat-flat.vmdk
contains "$TEST_TMPDIR/err" "is extent 1 of flat.vmdk; open that" "the flat extent names its descriptor"
# Without a descriptor naming it, a bare sparse extent is a recovery case: read, with a warning.
mv split.vmdk split.lost
expect_exit 0 "info on a bare sparse extent nobody names" -- "$VMDKIT" info split-s002.vmdk
contains "$TEST_TMPDIR/err" "vmdkit: warning: split-s002.vmdk: bare sparse extent" "the bare extent is read with a warning"
mv split.lost split.vmdk

# Other formats are named by magic, placed as each format's specification places it.
"$PY" - <<'PY' || exit 1
import struct
def image(name, fields, size=1 << 20):
    data = bytearray(size)
    for offset, raw in fields:
        data[offset:offset + len(raw)] = raw
    open(name, "wb").write(data)
image("img.qcow2", [(0, b"QFI\xfb" + struct.pack(">I", 3))])  # magic, version 3
image("img.qcow", [(0, b"QFI\xfb" + struct.pack(">I", 1))])   # magic, version 1
image("img.qed", [(0, b"QED\0")])
image("img.vdi", [(0, b"<<< Oracle VM VirtualBox Disk Image >>>\n"), (0x40, struct.pack("<I", 0xbeda107f))])
image("img.vhd", [(0, b"conectix"), (512, b"cxsparse")])      # dynamic: footer copy, then the header
image("fixed.vhd", [(1 << 20, b"conectix")], (1 << 20) + 512)  # fixed: the data, then the footer
image("img.vhdx", [(0, b"vhdxfile")])
PY
for pair in img.qcow2:qcow2 img.qcow:qcow img.qed:QED img.vdi:VDI img.vhd:VHD fixed.vhd:VHD img.vhdx:VHDX; do
  file=${pair%%:*} name=${pair#*:}
  expect_exit 1 "info on $file" -- "$VMDKIT" info "$file"
  contains "$TEST_TMPDIR/err" "$file: is a $name" "info names $file a $name image"
done
head -c 1048576 /dev/zero >zero.raw
expect_exit 2 "compare refuses a qcow2 image" -- "$VMDKIT" compare -q img.qcow2 zero.raw
contains "$TEST_TMPDIR/err" "is a qcow2 image" "compare names the format"
expect_exit 2 "compare refuses a fixed VHD" -- "$VMDKIT" compare -q zero.raw fixed.vhd
contains "$TEST_TMPDIR/err" "is a VHD image" "compare names the VHD"
finish
