#!/usr/bin/env bash
# The README's first command: install dependencies, build vmdkit in build/ and show it on a small
# snapshot chain made by qemu-img (base + two snapshots, each written with qemu-io) in build/demo/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$ROOT/scripts/install-deps.sh"
mkdir -p "$ROOT/build"
configure_and_build "$ROOT/build"
VMDKIT="$ROOT/build/cli/vmdkit"

# The demo chain is made afresh on every run, so running the demo twice works the same way.
DEMO="$ROOT/build/demo"  # inside build/, which git ignores
rm -rf "$DEMO"
mkdir -p "$DEMO"
cd "$DEMO"
io() { qemu-io -f vmdk "$@" >/dev/null; }

echo "== making a snapshot chain with $(qemu-img --version | head -n 1) in $DEMO"
qemu-img create -q -f vmdk -o subformat=monolithicSparse base.vmdk 64M
io -c "write -P 0x42 0 4M" -c "write -P 0x43 20M 3M" -c "write -P 0x44 40M 1M" base.vmdk
qemu-img create -q -f vmdk -b base.vmdk -F vmdk base-000001.vmdk
io -c "write -P 0x61 1M 2M" -c "write -P 0x62 33M 512K" base-000001.vmdk
qemu-img create -q -f vmdk -o zeroed_grain=on -b base-000001.vmdk -F vmdk base-000002.vmdk
io -c "write -P 0x71 2M 1M" -c "write -z 20M 1M" -c "write -P 0x72 60M 100k" base-000002.vmdk

echo
echo "\$ vmdkit chain build/demo/base-000002.vmdk"
"$VMDKIT" chain base-000002.vmdk
echo
echo "\$ vmdkit map build/demo/base-000002.vmdk"
"$VMDKIT" map base-000002.vmdk
