#!/usr/bin/env bash
# Interop: every subformat qemu-img creates (monolithicSparse, monolithicFlat, twoGbMaxExtentSparse,
# twoGbMaxExtentFlat, streamOptimized) reads the same through vmdkit as through qemu-img, and
# `vmdkit map --json` agrees with `qemu-img map` on present/zero/data/depth and host offsets.
# ctest-cost: 42
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
interop_init

for sf in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized; do
  dir="$TEST_TMPDIR/$sf"
  make_subformat "$dir" "$sf"
  # Windows that start and end off grain boundaries and cross the first grain-table boundary.
  ranges=(33553000:70001 65535:3)
  # ... and, on split disks, the boundary between the first and the second extent file.
  [[ $sf == twoGb* ]] && ranges+=(2147450000:100000)
  check_cat "$dir/$sf.vmdk" "${ranges[@]}"
  check_map "$dir/$sf.vmdk" --offsets
  rm -rf "$dir"  # the flat kinds are GiB-sized (sparse) files
done
finish
