#!/usr/bin/env bash
# Kill test of `vmdkit consolidate` (issue 4, acceptance 4): 20 runs on a 1 GiB chain (base + 3
# deltas, TOP with a child), each killed with SIGKILL at a random moment; after each kill TOP's chain
# or ANCESTOR reads the original content, and a re-run completes with nothing lost
# (tests/robustness/lib/crash_consolidate.py).
# ctest-cost: 87
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib/common.sh"
interop_init
# The acceptance count (20 runs, 1 GiB) is met by the plain build; the sanitized pass repeats fewer
# runs on a smaller chain to find memory errors on the same paths within the CI time budget.
runs=${VMDKIT_CRASH_RUNS:-20} size=1024
[[ -n ${VMDKIT_SANITIZED:-} ]] && runs=${VMDKIT_CRASH_RUNS:-3} size=256
exec $PY "$(dirname "${BASH_SOURCE[0]}")/lib/crash_consolidate.py" --vmdkit "$VMDKIT" --work "$TEST_TMPDIR/c" \
  --runs "$runs" --size-mib "$size" --seed "${VMDKIT_CRASH_SEED:-7}"
