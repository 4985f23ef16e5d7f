#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ (clang++) and runs them on seeds made from the fixtures:
#   tests/fuzz/run.sh TARGET SECONDS [libFuzzer options...]   one target; its corpus grows in build-fuzz/work/
#   tests/fuzz/run.sh --brief [SECONDS]                        CI: replay regressions/, run every target briefly
set -euo pipefail

FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$FUZZ_DIR/../.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
WORK=$BUILD/work
SAMPLES=${SAMPLES:-$ROOT/../shared/samples}
TARGETS=(descriptor sparse_header esxi_header stream_markers open_disk)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# Sanitizer settings of their own: the ASan pass of scripts/test.sh exports options meant for ctest.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The open-disk target writes its inputs to files here (tmpfs when there is one); a crash leaves
# them behind, so the folder goes when this script ends.
VMDKIT_FUZZ_TMPDIR=$(mktemp -d "$([[ -d /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/vmdkit-fuzz.XXXXXX")
export VMDKIT_FUZZ_TMPDIR
# fuzz_open_disk copies the ESXi extent files made here beside its inputs (make_esxi_seeds).
export VMDKIT_FUZZ_EXTENTS=$WORK/esxi
trap 'rm -rf "$VMDKIT_FUZZ_TMPDIR"' EXIT

usage() {
  sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  echo "targets: ${TARGETS[*]}" >&2
  exit 2
}

# Largest input per target: a descriptor is a few KiB; header seeds are the fixtures' KDMV files
# (up to 56 KiB); stream seeds and whole disks go up to the largest seed (132 KiB), so that no seed
# loses its footer to truncation; ESXi extent seeds are whole COWD and SESparse files (up to 80 KiB).
max_len() {
  case $1 in
    descriptor) echo 16384 ;;
    sparse_header) echo 65536 ;;
    esxi_header | stream_markers | open_disk) echo 139264 ;;
  esac
}

build() {
  mkdir -p "$BUILD"
  echo "== configure $BUILD (clang++, VMDKIT_FUZZ=ON)"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DVMDKIT_FUZZ=ON -DVMDKIT_BUILD_TESTS=OFF \
    -DVMDKIT_WERROR=ON >"$BUILD/configure.log" 2>&1 || {
    cat "$BUILD/configure.log" >&2
    echo "configure of $BUILD failed" >&2
    return 1
  }
  echo "== build fuzz targets in $BUILD"
  cmake --build "$BUILD" --target fuzz -j "$JOBS" >"$BUILD/build.log" 2>&1 || {
    tail -n 60 "$BUILD/build.log" >&2
    echo "build of the fuzz targets failed (full log: $BUILD/build.log)" >&2
    return 1
  }
}

is_kdmv() { [[ $(head -c 4 "$1" | tr -d '\0') == KDMV ]]; }
is_descriptor() { ! is_kdmv "$1" && head -c 4096 "$1" | tr -d '\0' | grep -qiE '^[[:space:]]*version[[:space:]]*='; }
is_cowd() { [[ $(od -An -t x4 -N 4 "$1" | tr -d ' ') == 44574f43 ]]; }
is_sesparse() { [[ $(od -An -t x8 -N 8 "$1" | tr -d ' ') == 00000000cafebabe ]]; }
is_stream() { is_kdmv "$1" && (($(od -An -t u4 -j 8 -N 4 "$1") & 0x10000)); }

# Prints the descriptor embedded in a KDMV file (nothing when it has none).
embedded_descriptor() {
  local offset size
  read -r offset size < <(od -An -t u8 -j 28 -N 16 "$1")
  ((offset > 0 && size > 0 && size <= 20480)) || return 0
  dd if="$1" bs=512 skip="$offset" count="$size" status=none | tr -d '\0'
}

# Small disks made by qemu-img, once per build folder (fixtures/qemu/README.md: none are committed):
# QEMU's own layouts (descriptor at sector 1, redundant directory, split and stream files).
make_qemu_seeds() {
  local dir=$WORK/qemu
  [[ -f $dir/.done ]] && return 0
  if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
    echo "note: qemu-img/qemu-io missing, no qemu-made seeds" >&2
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  (
    cd "$dir"
    qemu-img create -q -f vmdk -o subformat=monolithicSparse sparse.vmdk 2M
    qemu-io -f vmdk -c "write -P 0x5a 1000 3000" sparse.vmdk
    qemu-img create -q -f vmdk -o subformat=monolithicSparse,zeroed_grain=on zeroed.vmdk 2M
    qemu-io -f vmdk -c "write -z 0 65536" -c "write -z 131072 65536" zeroed.vmdk
    qemu-img create -q -f vmdk -b sparse.vmdk -F vmdk delta.vmdk
    qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse split.vmdk 2M
    qemu-img create -q -f vmdk -o subformat=monolithicFlat qflat.vmdk 1M
    rm -f qflat-flat.vmdk
    qemu-img create -q -f raw pattern.raw 1M
    qemu-io -f raw -c "write -P 0x11 0 70000" -c "write -P 0x22 500000 1000" pattern.raw
    qemu-img convert -O vmdk -o subformat=streamOptimized pattern.raw stream.vmdk
    rm -f pattern.raw
  ) >"$WORK/qemu.log" 2>&1 || echo "note: some qemu-made seeds failed (see $WORK/qemu.log)" >&2
  touch "$dir/.done"
}

# ESXi deltas, once per build folder (none are committed): a vmfs base with a vmfsSparse (COWD)
# delta made by vmdkit (when a vmdkit binary is at hand: $VMDKIT or build/cli/vmdkit), COWD and
# SESparse extents laid out by tests/interop/lib/esxi_images.py, each with its descriptor, and the
# headers of the real SESparse sample. fuzz_open_disk finds the extent files beside its input.
make_esxi_seeds() {
  local dir=$WORK/esxi vmdkit=${VMDKIT:-$ROOT/build/cli/vmdkit}
  [[ -f $dir/.done ]] && return 0
  rm -rf "$dir"
  mkdir -p "$dir"
  if [[ -x $vmdkit ]]; then
    (
      cd "$dir"
      "$vmdkit" create -q --type vmfs --size 4M vd.vmdk
      "$vmdkit" write -q --offset 0 --length 64K --pattern 0x11 vd.vmdk
      "$vmdkit" snapshot -q --delta-format vmfsSparse --seed 1 vd.vmdk
      "$vmdkit" write -q --offset 1000 --length 5000 --pattern 0x5a vd-000001.vmdk
      "$vmdkit" write -q --offset 2097000 --length 2000 --pattern 0x6b vd-000001.vmdk
      "$vmdkit" write -q --offset 4193792 --length 512 --zero vd-000001.vmdk
    ) >"$WORK/esxi.log" 2>&1 || echo "note: the vmdkit-made ESXi seeds failed (see $WORK/esxi.log)" >&2
  else
    echo "note: no vmdkit binary ($vmdkit), no vmdkit-made COWD seeds" >&2
  fi
  /usr/bin/python3 - "$ROOT/tests/interop/lib" "$dir" <<'PY' >>"$WORK/esxi.log" 2>&1 || echo "note: the python-made ESXi seeds failed (see $WORK/esxi.log)" >&2
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import esxi_images as e
d = Path(sys.argv[2])
# COWD: 4 MiB (two tables), grains out of LBA order, a table boundary, the last sector.
grains = [(4095, b"\x41" * 512), (3, e.pattern(512, 3)), (4096, b"\x42" * 512), (8191, b"\x43" * 512)]
grains += [(i, e.pattern(512, i)) for i in range(100, 110)]
(d / "py-cowd-delta.vmdk").write_bytes(e.cowd(8192, grains))
(d / "py-cowd.vmdk").write_text(e.descriptor("0c0d0001", "ffffffff", "vmfsSparse", 'RW 8192 VMFSSPARSE "py-cowd-delta.vmdk"'))
# SESparse: 32 MiB and 4 KiB more (three tables, the last partial), every entry type.
grains = [(4096, e.pattern(4096, 1)), (0, e.pattern(4096, 2)), (1, "zero"), (2, "unmapped"), (3, b"\x61" * 4096)]
grains += [(8192, b"\x62" * 4096), (4097, e.pattern(4096, 3))]
(d / "py-se-sesparse.vmdk").write_bytes(e.sesparse(65544, grains))
(d / "py-se.vmdk").write_text(e.descriptor("5e5e0001", "ffffffff", "seSparse", 'RW 65544 SESPARSE "py-se-sesparse.vmdk"'))
PY
  if [[ -f $SAMPLES/esxi/disk-sesparse.vmdk.gz ]]; then
    # Its directory lies at 2 MiB: only the headers fit an input.
    gunzip -c "$SAMPLES/esxi/disk-sesparse.vmdk.gz" | head -c 8192 >"$dir/sample-sesparse-headers.vmdk" || true
  fi
  touch "$dir/.done"
}

# The small sample disks of other producers (../shared/samples), when that folder exists.
make_sample_seeds() {
  local dir=$WORK/samples f
  [[ -f $dir/.done || ! -f $SAMPLES/MANIFEST.tsv ]] && return 0
  rm -rf "$dir"
  mkdir -p "$dir"
  while IFS= read -r f; do
    local out
    out=$dir/$(echo "${f#./}" | tr / _)
    case $f in
      *.gz) [[ $(gzip -l "$SAMPLES/$f" | awk 'NR == 2 { print $2 }') -le 1048576 ]] && gunzip -c "$SAMPLES/$f" >"${out%.gz}" ;;
      *) cp "$SAMPLES/$f" "$out" ;;
    esac
  done < <(cd "$SAMPLES" && find . -type f \( -name '*.vmdk' -o -name '*.vmdk.gz' \) | sort)
  touch "$dir/.done"
}

# Fills WORK/TARGET/seeds from the fixtures, the qemu and sample disks and the regression inputs.
assemble_seeds() {
  local target=$1 seeds=$WORK/$1/seeds limit f n=0
  limit=$(max_len "$target")
  rm -rf "$seeds"
  mkdir -p "$seeds"
  local candidates=()
  mapfile -t candidates < <(find "$ROOT/fixtures/generated" "$WORK/qemu" "$WORK/samples" "$WORK/esxi" -type f \
    -name '*.vmdk' 2>/dev/null | sort)
  for f in "${candidates[@]}"; do
    local name
    name=$(basename "$(dirname "$f")")_$(basename "$f")
    case $target in
      descriptor)
        if is_descriptor "$f"; then
          cp "$f" "$seeds/$name"
        elif is_kdmv "$f"; then
          embedded_descriptor "$f" >"$seeds/$name.txt"
          [[ -s $seeds/$name.txt ]] || rm -f "$seeds/$name.txt"
        fi
        ;;
      sparse_header) is_kdmv "$f" && cp "$f" "$seeds/$name" ;;
      esxi_header) { is_cowd "$f" || is_sesparse "$f"; } && (($(stat -c %s "$f") <= limit)) && cp "$f" "$seeds/$name" ;;
      stream_markers) is_stream "$f" && cp "$f" "$seeds/$name" ;;
      open_disk) { is_kdmv "$f" || is_descriptor "$f"; } && (($(stat -c %s "$f") <= limit)) && cp "$f" "$seeds/$name" ;;
    esac
  done
  if [[ -d $FUZZ_DIR/regressions/$target ]]; then
    cp "$FUZZ_DIR/regressions/$target"/* "$seeds/" 2>/dev/null || true
  fi
  n=$(find "$seeds" -type f | wc -l)
  echo "== $target: $n seed inputs in $seeds"
}

# One line from the end of a libFuzzer log: runs, exec/s, coverage (cov: edges, ft: features), corpus.
summarize() {
  local target=$1 seconds=$2 log=$3
  local done_line runs rate
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  echo "fuzz_$target: ${seconds} s, ${runs:-?} runs, ${rate:-?} exec/s, $(echo "$done_line" |
    grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*')"
}

# run_target TARGET SECONDS CORPUS [libFuzzer options...]: returns libFuzzer's status.
run_target() {
  local target=$1 seconds=$2 corpus=$3
  shift 3
  local dir=$WORK/$target
  mkdir -p "$corpus" "$dir/artifacts"
  local args=(-max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=25 -rss_limit_mb=2048
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
  case $target in descriptor | open_disk) args+=(-dict="$FUZZ_DIR/descriptor.dict") ;; esac
  local log status=0
  log=$dir/fuzz-$(basename "$corpus").log
  "$BUILD/tests/fuzz/fuzz_$target" "${args[@]}" "$@" "$corpus" "$dir/seeds" >"$log" 2>&1 || status=$?
  if ((status != 0)); then
    tail -n 40 "$log" >&2
    echo "fuzz_$target FAILED (status $status): inputs in $dir/artifacts/, log $log" >&2
    return "$status"
  fi
  summarize "$target" "$seconds" "$log"
}

# Every committed regression input of TARGET runs once and must pass.
replay_regressions() {
  local target=$1 dir=$FUZZ_DIR/regressions/$1 inputs=()
  [[ -d $dir ]] && mapfile -t inputs < <(find "$dir" -type f | sort)
  ((${#inputs[@]} > 0)) || return 0
  local log=$WORK/$target/regressions.log
  mkdir -p "$WORK/$target"
  if ! "$BUILD/tests/fuzz/fuzz_$target" -timeout=25 "${inputs[@]}" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz_$target: a regression input fails again (log $log)" >&2
    return 1
  fi
  echo "fuzz_$target: ${#inputs[@]} regression inputs pass"
}

# Build and shared seeds under a lock: two runs of this script may share one build folder.
prepare() {
  mkdir -p "$WORK"
  (
    flock 9
    build
    make_qemu_seeds
    make_sample_seeds
    make_esxi_seeds
  ) 9>"$BUILD/.run.lock"
}

brief() {
  local seconds=${1:-15} start=$SECONDS failed=0 target
  prepare
  for target in "${TARGETS[@]}"; do
    replay_regressions "$target" || failed=1
    assemble_seeds "$target"
  done
  # Two targets at a time on two cores, each on a fresh corpus so that CI does not depend on history.
  local pids=()
  for target in "${TARGETS[@]}"; do
    rm -rf "$WORK/$target/ci-corpus"
    run_target "$target" "$seconds" "$WORK/$target/ci-corpus" &
    pids+=($!)
    if ((${#pids[@]} == 2)); then
      wait "${pids[0]}" || failed=1
      wait "${pids[1]}" || failed=1
      pids=()
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  if ((failed)); then
    echo "== fuzz: FAILED" >&2
    return 1
  fi
  echo "== fuzz: all targets ran clean ($((SECONDS - start)) s including the build)"
}

main() {
  (($# >= 1)) || usage
  if [[ $1 == --brief ]]; then
    brief "${2:-15}"
    return
  fi
  local target=$1 seconds=${2:-60}
  [[ " ${TARGETS[*]} " == *" $target "* ]] || usage
  shift 2 || shift $#
  prepare
  replay_regressions "$target"
  assemble_seeds "$target"
  run_target "$target" "$seconds" "$WORK/$target/corpus" "$@"
}

# On one line: bash reads a script as it runs, so an edit made during a long run cannot be executed.
main "$@"; exit
