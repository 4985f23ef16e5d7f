#!/bin/bash
# Interop half of tests/cli/fixture_build.sh: every disk built from fixtures/specs reads in qemu-img
# like a raw file that received the same writes with dd, and every built descriptor or sparse file
# passes qemu-img check (moved from tests/cli for issue 15).
# ctest-cost: 25
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img
: "${SOURCE_DIR:?SOURCE_DIR must name the project root}"
SPECS="$SOURCE_DIR/fixtures/specs"
source "$SOURCE_DIR/tests/support/fixture_spec.bash"

for spec in "$SPECS"/*.json; do
  name=$(basename "$spec" .json)
  [[ $name == damaged-* ]] && continue
  expect_exit 0 "$name: build" -- "$VMDKIT" fixture build "$spec" -o "a/$name"
  while read -r kind disk leaf _; do
    [ "$kind" = disk ] || continue
    spec_raw "$spec" "$disk" "ref-$name-$disk.raw"
    qemu-img convert -O raw "a/$name/$leaf" "qemu-$name-$disk.raw" || fail "$name: qemu-img convert $leaf"
    cmp "qemu-$name-$disk.raw" "ref-$name-$disk.raw" && pass "$name: qemu-img reads $leaf as the dd image" ||
      fail "$name: qemu-img reads $leaf differently from the dd image"
  done < <(describe_spec "$spec")

  for f in "a/$name"/*.vmdk; do
    case $f in *-flat.vmdk | *-s[0-9][0-9][0-9].vmdk | *-f[0-9][0-9][0-9].vmdk) continue ;; esac
    out=$(qemu-img check -f vmdk "$f" 2>&1)
    rc=$?
    [ "$rc" -eq 0 ] && pass "$name: qemu-img check $(basename "$f")" || fail "$name: qemu-img check $f: exit $rc: $out"
  done
done
finish
