# Shared set-up for tests/cli/*.sh (sourced, not a test itself): checks the environment, builds the
# test chain from its spec, gives helpers to assert and to compare with golden files, and cleans
# TEST_TMPDIR. tests/cli needs no qemu: its inputs come from fixture specs and vmdkit itself, its
# references from dd and committed golden files; the checks against qemu-img, qemu-io and vmdkinfo
# live in tests/interop/*_qemu.sh.
set -u
: "${VMDKIT:?VMDKIT must name the vmdkit binary}"
: "${TEST_TMPDIR:=$(mktemp -d)}"
CLI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLI_CALLER_DIR=$(cd "$(dirname "${BASH_SOURCE[1]:-$0}")" && pwd)  # before the cd below
: "${SOURCE_DIR:=$(cd "$CLI_DIR/../.." && pwd)}"
rm -rf "$TEST_TMPDIR" && mkdir -p "$TEST_TMPDIR" && cd "$TEST_TMPDIR" || exit 1

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
finish() { if [ "$failures" -ne 0 ]; then echo "$failures failure(s)" >&2; exit 1; fi; exit 0; }

need() { for tool in "$@"; do command -v "$tool" >/dev/null || { echo "skip: $tool not found"; exit 77; }; done; }

# Issue 15: the tests in tests/cli must pass where no other disk tool is installed, so none may be
# in reach. CTest gives them a PATH without these tools (tests/CMakeLists.txt); by hand, use that
# folder: PATH=BUILD/tests/cli-path VMDKIT=BUILD/cli/vmdkit bash tests/cli/NAME.sh
# (Robustness tests that borrow these helpers may use qemu-img: the rule is tests/cli's own.)
if [ "$CLI_CALLER_DIR" = "$CLI_DIR" ]; then
  for cli_foreign_tool in qemu-img qemu-io qemu-nbd vmdkinfo; do
    if command -v "$cli_foreign_tool" >/dev/null; then
      echo "FAIL: $cli_foreign_tool is on PATH ($(command -v "$cli_foreign_tool")); tests/cli must run without it" >&2
      exit 1
    fi
  done
fi

# expect_exit CODE DESCRIPTION -- command...: runs the command, checks its exit code.
expect_exit() {
  local want=$1 what=$2; shift 3
  "$@" >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass "$what"; else fail "$what: exit $got, expected $want; stderr: $(head -c 400 "$TEST_TMPDIR/err")"; fi
}

# contains FILE TEXT DESCRIPTION
contains() { if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3: '$2' not in $(head -c 600 "$1")"; fi; }

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# golden NAME FILE DESCRIPTION: FILE must equal tests/cli/golden/NAME (diff shown on a mismatch).
# With VMDKIT_UPDATE_GOLDEN=1 (tests/cli/update_golden.sh) the golden file is written instead.
golden() {
  local want="$CLI_DIR/golden/$1"
  if [ "${VMDKIT_UPDATE_GOLDEN:-0}" = 1 ]; then
    mkdir -p "$(dirname "$want")" && cp "$2" "$want" && pass "$3 (golden $1 written)"
  elif [ ! -e "$want" ]; then
    fail "$3: no golden file tests/cli/golden/$1 (make it with tests/cli/update_golden.sh)"
  elif diff -u "$want" "$2" >"$TEST_TMPDIR/golden.diff"; then
    pass "$3"
  else
    fail "$3: differs from tests/cli/golden/$1:"$'\n'"$(head -n 40 "$TEST_TMPDIR/golden.diff")"
  fi
}

# describe_spec SPEC and spec_raw SPEC DISK OUT [LINK]: a spec's writes replayed on a raw file by dd.
source "$SOURCE_DIR/tests/support/fixture_spec.bash"

# The test chain, fixtures/specs/cli/chain64.json: base <- mid <- top, 64 MiB, zeroed grains on,
# written at unaligned offsets that cross grain (64 KiB) and grain table (32 MiB) boundaries, with
# zero writes. (Until issue 15 qemu-img and qemu-io made it; tests/interop/lib/cli_common.bash
# still makes that one for the *_qemu.sh tests.)
CHAIN_SPEC="$SOURCE_DIR/fixtures/specs/cli/chain64.json"
make_chain() {
  local dir=$1
  "$VMDKIT" fixture build "$CHAIN_SPEC" -o "$dir" >/dev/null &&
    mv "$dir/base-000001.vmdk" "$dir/mid.vmdk" && mv "$dir/base-000002.vmdk" "$dir/top.vmdk" ||
    { echo "could not build the test chain from $CHAIN_SPEC" >&2; exit 1; }
}

# chain_raw OUT [base|mid|top]: what that layer of make_chain's chain reads as (default top), by dd.
chain_raw() {
  local link=2
  case ${2:-top} in base) link=0 ;; mid) link=1 ;; esac
  spec_raw "$CHAIN_SPEC" base.vmdk "$1" "$link"
}
