#!/bin/bash
# Interop half of tests/cli/create.sh: every type vmdkit creates, at a few sizes, passes qemu-img
# check, has the right virtual size in qemu-img and media size in vmdkinfo and reads as zeros in
# qemu-img; a disk with options passes qemu-img check (moved from tests/cli for issue 15).
# ctest-cost: 30
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img vmdkinfo

types="monolithicSparse twoGbMaxExtentSparse monolithicFlat twoGbMaxExtentFlat streamOptimized vmfs"
for type in $types; do
  sizes="1M 100M"
  case $type in twoGb*) sizes="1M 100M 5G" ;; esac
  for size in $sizes; do
    bytes=$("$PY" -c "print(int('$size'[:-1]) << {'M': 20, 'G': 30}['$size'[-1]])")
    name="$type-$size"
    expect_exit 0 "create $type $size" -- "$VMDKIT" create --json "$name.vmdk" --size "$size" --type "$type"
    qemu-img check -q "$name.vmdk" >check.out 2>&1 && pass "$name: qemu-img check" || fail "$name: qemu-img check: $(cat check.out)"
    got=$(qemu-img info --output=json "$name.vmdk" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
    [ "$got" = "$bytes" ] && pass "$name: qemu-img virtual size" || fail "$name: qemu-img says $got, expected $bytes"
    vmdkinfo "$name.vmdk" >vi.out 2>&1 && grep -q "Media size:.*($bytes bytes)" vi.out &&
      pass "$name: vmdkinfo media size" || fail "$name: vmdkinfo: $(head -c 400 vi.out)"
    truncate -s "$bytes" zero.raw
    qemu-img compare -q -f vmdk -F raw "$name.vmdk" zero.raw && pass "$name: reads as zeros in qemu-img" ||
      fail "$name: qemu-img compare with zeros"
    rm -f zero.raw "$name"*.vmdk
  done
done

expect_exit 0 "create with options" -- "$VMDKIT" create opt.vmdk --size 40G --adapter ide --hw-version 13 --grain-size 256K --zeroed-grains
qemu-img check -q opt.vmdk && pass "options disk passes qemu-img check" || fail "options disk qemu-img check"
finish
