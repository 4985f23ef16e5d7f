#!/usr/bin/env bash
# Damaged ESXi deltas (issue 6, acceptance 4): header fields, volatile header, directory and table
# entries and truncations of a vmfsSparse (COWD) and a seSparse delta over vmfs bases; info, map and
# cat must fail with a message naming the file and an offset, check must report each at its file and
# byte offset (exit 2). Fewer cases under the sanitizers (VMDKIT_SANITIZED=1). See esxi_damage.py.
# ctest-cost: 67
set -euo pipefail
: "${VMDKIT:?VMDKIT must name the vmdkit binary}" "${TEST_TMPDIR:?}" "${SOURCE_DIR:?}"
exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/esxi_damage.py"
