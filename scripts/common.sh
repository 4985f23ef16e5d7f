# Shared helpers for scripts/demo.sh and scripts/test.sh (sourced, not run).
# ROOT is the project root; configure_and_build DIR [cmake options...] configures with Ninja and builds.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

# configure_and_build DIR [-DOPTION=VALUE...]: (re)configures DIR as a Ninja build of ROOT and builds
# everything. Re-running it on a finished tree only checks that nothing changed (idempotent).
configure_and_build() {
  local dir=$1
  shift
  echo "== configure $dir $*"
  mkdir -p "$dir"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir/configure.log" 2>&1 || {
    cat "$dir/configure.log" >&2
    echo "configure of $dir failed" >&2
    return 1
  }
  echo "== build $dir"
  cmake --build "$dir" -j "$JOBS" -- -k 0 >"$dir/build.log" 2>&1 || {
    tail -n 80 "$dir/build.log" >&2
    echo "build of $dir failed (full log: $dir/build.log)" >&2
    return 1
  }
}
