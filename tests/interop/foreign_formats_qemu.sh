#!/bin/bash
# Interop half of tests/cli/input_info_bare_foreign.sh: qcow2, qcow, QED, VDI, VHD (dynamic and
# fixed) and VHDX images made by qemu-img are named by magic, and compare refuses them instead of
# reading them as raw (moved from tests/cli for issue 15, which checks files holding only the magics).
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img

# Other formats are named by magic.
qemu-img create -q -f qcow2 img.qcow2 1M && qemu-img create -q -f qcow img.qcow 1M &&
  qemu-img create -q -f qed img.qed 1M && qemu-img create -q -f vdi img.vdi 1M &&
  qemu-img create -q -f vpc img.vhd 1M && qemu-img create -q -f vpc -o subformat=fixed fixed.vhd 1M &&
  qemu-img create -q -f vhdx img.vhdx 1M || exit 1
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
