#!/usr/bin/env bash
# Interop with libvmdk (libyal), a second independent reader: vmdkinfo opens every qemu-made disk
# and reports the capacity vmdkit reports, and python3-libvmdk (pyvmdk) reads the same bytes.
# pyvmdk is only asked about disks without zeroed grains whose files keep the names written in
# them: libvmdk returns wrong bytes for zeroed-grain entries and opens single-file disks by the
# extent name inside them, so those cases are covered against qemu-img only (chains.sh).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
interop_init
if ! command -v vmdkinfo >/dev/null; then
  echo "SKIP: vmdkinfo not installed (Debian package libvmdk-utils)"
  exit 77
fi
have_pyvmdk=1
$PY -c "import pyvmdk" 2>/dev/null || have_pyvmdk=0
((have_pyvmdk)) || echo "note: python3-libvmdk missing, only vmdkinfo is checked"

capacity_of() { "$VMDKIT" info "$1" --json | $PY -c "import json,sys; print(json.load(sys.stdin)['capacity'])"; }

check_libvmdk() {
  local label=$1 img=$2
  shift 2  # the rest: parents of img, nearest first (for pyvmdk set_parent)
  local out size cap want got
  if ! out=$(vmdkinfo "$img" 2>&1); then
    fail "vmdkinfo cannot open $label: $out"
    return 0
  fi
  size=$(sed -n 's/.*Media size:.*(\([0-9]*\) bytes).*/\1/p' <<<"$out" | head -n 1)
  if ! cap=$(capacity_of "$img") || [[ $cap != "$size" ]]; then
    fail "$label: vmdkinfo media size '$size', vmdkit info capacity '$cap'"
  else
    echo "ok: vmdkinfo $label: $size bytes"
  fi
  ((have_pyvmdk)) || return 0
  want=$($HELPER pyvmdk-sha256 "$img" "$@") || { fail "pyvmdk cannot read $label"; return 0; }
  if ! got=$("$VMDKIT" cat "$img" | $HELPER sha256 -) || [[ $got != "$want" ]]; then
    fail "$label: vmdkit cat '$got', pyvmdk '$want'"
  else
    echo "ok: pyvmdk $label = vmdkit cat ($want)"
  fi
}

for sf in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized; do
  make_subformat "$TEST_TMPDIR/$sf" "$sf" small  # subformats.sh covers the 2.5 GiB split disks
  check_libvmdk "$sf" "$TEST_TMPDIR/$sf/$sf.vmdk"
  rm -rf "${TEST_TMPDIR:?}/$sf"
done

# A chain without zeroed grains: pyvmdk follows it when each parent handle is given explicitly.
make_chain "$TEST_TMPDIR/plain" cplain plain
d="$TEST_TMPDIR/plain"
check_libvmdk "chain cplain-000003" "$d/cplain-000003.vmdk" "$d/cplain-000002.vmdk" "$d/cplain-000001.vmdk" "$d/cplain.vmdk"
finish
