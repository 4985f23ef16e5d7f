# Shared set-up for the tests/interop/*_qemu.sh scripts, the interop halves of tests/cli tests (sourced):
# the tests/cli helpers (expect_exit, contains, need...) and make_chain, a chain made by qemu-img and
# qemu-io. tests/cli itself runs without qemu (tests/cli/common.bash).
set -u
: "${VMDKIT:?VMDKIT must name the vmdkit binary}"
: "${TEST_TMPDIR:=$(mktemp -d)}"
rm -rf "$TEST_TMPDIR" && mkdir -p "$TEST_TMPDIR" && cd "$TEST_TMPDIR" || exit 1

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
finish() { if [ "$failures" -ne 0 ]; then echo "$failures failure(s)" >&2; exit 1; fi; exit 0; }

need() { for tool in "$@"; do command -v "$tool" >/dev/null || { echo "skip: $tool not found"; exit 77; }; done; }

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

# A 3-deep chain base <- mid <- top, 64 MiB, zeroed grains on, written by qemu-io at unaligned
# offsets that cross grain (64 KiB) and grain table (32 MiB) boundaries, with zero writes.
make_chain() {
  local dir=$1
  mkdir -p "$dir"
  (
    cd "$dir" || exit 1
    qemu-img create -q -f vmdk -o zeroed_grain=on base.vmdk 64M &&
      qemu-io -f vmdk -c 'write -P 0xa1 1000 300000' -c 'write -P 0xa2 33550000 20000' \
        -c 'write -P 0xa3 60000000 65536' base.vmdk >/dev/null &&
      qemu-img create -q -f vmdk -o zeroed_grain=on -b base.vmdk -F vmdk mid.vmdk &&
      qemu-io -f vmdk -c 'write -P 0xb1 65000 70000' -c 'write -z 131072 131072' \
        -c 'write -P 0xb2 33554000 1000' mid.vmdk >/dev/null &&
      qemu-img create -q -f vmdk -o zeroed_grain=on -b mid.vmdk -F vmdk top.vmdk &&
      qemu-io -f vmdk -c 'write -P 0xc1 200000 5000' -c 'write -z 59965440 131072' \
        -c 'write -P 0xc2 67000000 108864' top.vmdk >/dev/null
  ) || { echo "could not make the qemu chain" >&2; exit 1; }
}

# A failure log names the oracle it was checked against (as tests/interop/lib/common.sh does).
command -v qemu-img >/dev/null && echo "oracle: $(qemu-img --version | head -n 1)"
