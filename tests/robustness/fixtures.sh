#!/usr/bin/env bash
# Robustness: seeded byte flips and truncations of qemu-made disks of every subformat and of a
# depth-4 chain with zeroed grains (generated at test time), and of our own spec-built chain and
# stream (fixtures/generated); vmdkit info/chain/map/cat on each
# damaged copy must exit 0, or 1 with "vmdkit: error:", within 20 s and 2 GiB of address space.
# ctest-cost: 72
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib/common.sh"
interop_init
DAMAGE="$PY $(dirname "${BASH_SOURCE[0]}")/lib/damage.py --vmdkit $VMDKIT --seed ${VMDKIT_FUZZ_SEED:-20240601} --cases ${VMDKIT_FUZZ_CASES:-10} --sanitized-cases ${VMDKIT_FUZZ_CASES:-4}"

status=0
for sf in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized; do
  make_subformat "$TEST_TMPDIR/disk-$sf" "$sf" small
  $DAMAGE --work "$TEST_TMPDIR/work" "$TEST_TMPDIR/disk-$sf" "$sf.vmdk" || status=1
done
make_chain "$TEST_TMPDIR/disk-chain" czeroed zeroed
$DAMAGE --work "$TEST_TMPDIR/work" "$TEST_TMPDIR/disk-chain" czeroed-000003.vmdk || status=1
# Our spec-built chain and stream: plain pass only (the sanitized pass damages the qemu-made ones).
specs="chain:chain-000003.vmdk stream:stream-000001.vmdk"
[[ -n ${VMDKIT_SANITIZED:-} ]] && specs=""
for spec in $specs; do
  $DAMAGE --work "$TEST_TMPDIR/work" "$SOURCE_DIR/fixtures/generated/${spec%%:*}" "${spec#*:}" || status=1
done
exit $status
