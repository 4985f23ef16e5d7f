#!/usr/bin/env bash
# Issue 16, acceptance 4: small hostile files cost what their bytes hold, not what they claim. A
# million directory entries naming one grain table, 500 descriptor lines naming one sparse file,
# 1 GiB grains, ZERO and unallocated expanses up to 2^63 bytes: every command ends in under 2 s
# with a peak RSS under 64 MiB (plus the grains in flight), with a result or a clear error. The
# files are built by lib/hostile_cost.py; under the sanitizers the time bound is 10x and memory is
# not measured (see there).
# ctest-cost: 20
source "$(dirname "${BASH_SOURCE[0]}")/../cli/common.bash"
exec "$PY" "$(dirname "${BASH_SOURCE[0]}")/lib/hostile_cost.py"
