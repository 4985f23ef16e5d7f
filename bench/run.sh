#!/usr/bin/env bash
# Runs the benchmark (bench/bench.py) with the vmdkit built in build/ (or $VMDKIT). The chains are
# made once in build/bench-data and reused, and the outputs are written there too (the inputs' file
# system); pass --reps N, --cases LIST, --shm (a second column with outputs in /dev/shm), --warm-only
# or --baseline OLD_BINARY (see bench/bench.py's header).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMDKIT=${VMDKIT:-$ROOT/build/cli/vmdkit}
[[ -x $VMDKIT ]] || { echo "bench: $VMDKIT not built (run ./scripts/demo.sh or cmake --build build)" >&2; exit 1; }
echo "bench: $(qemu-img --version | head -n 1); $("$VMDKIT" --version 2>/dev/null || true); nproc $(nproc)"
exec /usr/bin/python3 "$ROOT/bench/bench.py" --vmdkit "$VMDKIT" --work "${BENCH_WORK:-$ROOT/build/bench-data}" "$@"
