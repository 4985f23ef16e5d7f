#!/usr/bin/env bash
# Kill test of `vmdkit convert` (issue 3, acceptance 5): 24 conversions to streamOptimized, split
# sparse, monolithicSparse and raw, each killed with SIGKILL at a random moment; afterwards the
# destination name holds nothing or the complete disk, and the source is unchanged.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib/common.sh"
interop_init
exec $PY "$(dirname "${BASH_SOURCE[0]}")/lib/crash.py" convert --vmdkit "$VMDKIT" --work "$TEST_TMPDIR/c" \
  --runs "${VMDKIT_CRASH_RUNS:-24}" --seed "${VMDKIT_CRASH_SEED:-7}"
