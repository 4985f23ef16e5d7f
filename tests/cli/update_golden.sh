#!/bin/bash
# Rewrites the golden files under tests/cli/golden/ from the current binary. Run it on purpose,
# after a change of output that is meant, then read `git diff tests/cli/golden` before committing:
# the diff is the change users see. Not a test itself (tests/CMakeLists.txt leaves it out).
#   tests/cli/update_golden.sh BUILD_DIR [TEST...]
# BUILD_DIR is a configured and built tree (its cli/vmdkit and tests/cli-path are used); TEST names
# tests/cli scripts without .sh (default: every one that compares with a golden file).
set -eu
build=$(cd "${1:?usage: tests/cli/update_golden.sh BUILD_DIR [TEST...]}" && pwd)
shift
cli=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$cli/../.." && pwd)
[ -x "$build/cli/vmdkit" ] && [ -d "$build/tests/cli-path" ] || { echo "$build: not a built vmdkit tree" >&2; exit 1; }
if [ $# -eq 0 ]; then
  set -- $(grep -lE '^[[:space:]]*golden ' "$cli"/*.sh | xargs -n1 basename | sed 's/\.sh$//')
fi
status=0
for test in "$@"; do
  scratch=$(mktemp -d)
  if PATH="$build/tests/cli-path" VMDKIT="$build/cli/vmdkit" SOURCE_DIR="$source_dir" \
    SAMPLES="$source_dir/../shared/samples" TEST_TMPDIR="$scratch/tmp" VMDKIT_UPDATE_GOLDEN=1 \
    bash "$cli/$test.sh" >"$scratch/log" 2>&1; then
    grep 'golden .* written' "$scratch/log" || true
  else
    echo "$test: failed (its goldens may be partly written); log:" >&2
    grep -v '^ok: ' "$scratch/log" >&2 || true
    status=1
  fi
  rm -rf "$scratch"
done
exit $status
