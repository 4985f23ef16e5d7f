#!/usr/bin/env bash
# Kill test of `vmdkit write` (issue 3, acceptance 5): 24 writes through a snapshot, each killed with
# SIGKILL at a random moment; afterwards every grain reads old or new, qemu-img check finds no
# corruption and the chain's links hold (tests/robustness/lib/crash.py).
# ctest-cost: 76
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib/common.sh"
interop_init
# The acceptance count (24 runs) is met by the plain build; the sanitized pass repeats fewer, smaller
# runs to find memory errors on the same paths within the CI time budget.
runs=${VMDKIT_CRASH_RUNS:-24} size=64
[[ -n ${VMDKIT_SANITIZED:-} ]] && runs=${VMDKIT_CRASH_RUNS:-6} size=32
exec $PY "$(dirname "${BASH_SOURCE[0]}")/lib/crash.py" write --vmdkit "$VMDKIT" --work "$TEST_TMPDIR/w" \
  --runs "$runs" --size-mib "$size" --seed "${VMDKIT_CRASH_SEED:-7}"
