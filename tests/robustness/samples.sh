#!/usr/bin/env bash
# Robustness: seeded byte flips and truncations of every sample disk in $SAMPLES/MANIFEST.tsv;
# vmdkit info/chain/map/cat on each damaged copy must exit 0, or 1 with "vmdkit: error:", within
# 20 s and 2 GiB of address space. Skipped (77) when the samples folder is absent.
# ctest-cost: 52
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib/common.sh"
: "${VMDKIT:?}" "${TEST_TMPDIR:?}"
require_samples
DAMAGE="$PY $(dirname "${BASH_SOURCE[0]}")/lib/damage.py --vmdkit $VMDKIT --seed ${VMDKIT_FUZZ_SEED:-20240601} --cases ${VMDKIT_FUZZ_CASES:-6} --sanitized-cases ${VMDKIT_FUZZ_CASES:-4}"
rm -rf "$TEST_TMPDIR"
unpack_samples "$TEST_TMPDIR/all"

# disk_files DIR NAME: NAME and, for a text descriptor, its extent files and its parent's files.
disk_files() {
  local dir=$1 name=$2
  [[ -f $dir/$name ]] || return 0
  echo "$name"
  if [[ $(head -c 4 "$dir/$name") != KDMV && $(stat -c %s "$dir/$name") -lt 65536 ]]; then
    sed -n 's/^[A-Z]* [0-9]* [A-Z]* "\([^"]*\)".*/\1/p' "$dir/$name" | while read -r extent; do
      [[ -f $dir/$extent ]] && echo "$extent"
    done
    local parent
    parent=$(sed -n 's/^parentFileNameHint *= *"\(.*\)".*/\1/p' "$dir/$name" | head -n 1)
    [[ -n $parent ]] && disk_files "$dir" "$(basename "$parent")"
  fi
  return 0
}

status=0
while IFS=$'\t' read -r disk _rest; do
  [[ $disk == disk ]] && continue
  dir=$(dirname "$disk")
  name=$(basename "$disk")
  one="$TEST_TMPDIR/disk-${name%.vmdk}"
  mkdir -p "$one"
  for f in $(disk_files "$TEST_TMPDIR/all/$dir" "$name" | sort -u); do
    ln "$TEST_TMPDIR/all/$dir/$f" "$one/$f"
  done
  $DAMAGE --work "$TEST_TMPDIR/work" "$one" "$name" || status=1
done <"$SAMPLES/MANIFEST.tsv"
exit $status
