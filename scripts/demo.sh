#!/usr/bin/env bash
# The README's first command: install dependencies, build vmdkit in build/ and show it on a small
# snapshot chain that vmdkit itself makes in build/demo/: create, write, snapshot, write, snapshot,
# write, then chain and map (and qemu-img reading the same bytes, as an independent check), and
# finally consolidate the chain back into its base and show that the base now reads the same.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$ROOT/scripts/install-deps.sh"
mkdir -p "$ROOT/build"
# The demo needs the tool only; the unit tests are built by scripts/test.sh in build-asan/.
configure_and_build "$ROOT/build" -DVMDKIT_UNIT_TESTS=OFF
VMDKIT="$ROOT/build/cli/vmdkit"

# The demo chain is made afresh on every run, so running the demo twice works the same way.
DEMO="$ROOT/build/demo"  # inside build/, which git ignores
rm -rf "$DEMO"
mkdir -p "$DEMO"
cd "$DEMO"
run() { echo "\$ vmdkit $*"; "$VMDKIT" "$@"; }

echo "== making a snapshot chain with vmdkit in $DEMO"
run create base.vmdk --size 64M --seed 1
run write base.vmdk --offset 0 --length 4M --pattern 0x42
run write base.vmdk --offset 20M --length 3M --pattern 0x43
run snapshot base.vmdk --seed 2
run write base-000001.vmdk --offset 1M --length 2M --pattern 0x61
run write base-000001.vmdk --offset 33M --length 100000 --pattern 0x62
run snapshot base-000001.vmdk --zeroed-grains --seed 3
run write base-000002.vmdk --offset 2M --length 1M --pattern 0x71
run write base-000002.vmdk --offset 20M --length 1M --zero
run write base-000002.vmdk --offset 60M --length 100k --pattern 0x72

echo
echo "\$ vmdkit chain build/demo/base-000002.vmdk"
"$VMDKIT" chain base-000002.vmdk
echo
echo "\$ vmdkit map build/demo/base-000002.vmdk"
"$VMDKIT" map base-000002.vmdk
echo
echo "== an independent reader agrees: qemu-img's raw export compared with the chain"
qemu-img convert -f vmdk -O raw base-000002.vmdk qemu.raw
run compare base-000002.vmdk qemu.raw
echo
echo "== checking the chain: every header, grain directory, table entry and link"
run check base-000002.vmdk
echo
echo "== consolidating the snapshots back into the base"
run consolidate base-000002.vmdk
run chain base.vmdk
run compare base.vmdk qemu.raw
echo
echo "== a storage fault: one grain table entry of the base points past the end of its file"
run check base.vmdk
python3 - base.vmdk <<'PYEOF'
import struct, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    header = f.read(512)
    gd_offset = struct.unpack_from("<Q", header, 56)[0]
    f.seek(gd_offset * 512)
    table = struct.unpack("<I", f.read(4))[0]
    f.seek(table * 512 + 4)  # primary table 0, entry 1 (the redundant copy stays sound)
    f.write(struct.pack("<I", 0x7fffffff))
PYEOF
run check base.vmdk || true
run repair base.vmdk
run compare base.vmdk qemu.raw
