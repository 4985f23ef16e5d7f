# Shared set-up for the interop and robustness shell tests (sourced). Generates the qemu-made
# fixtures at test time (see fixtures/qemu/README.md) and compares vmdkit with qemu-img on them.
# Needs: VMDKIT, TEST_TMPDIR, SOURCE_DIR from CTest; exits 77 (skipped) without qemu-img/qemu-io.
set -euo pipefail

INTEROP_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3  # the system interpreter: python3-libvmdk (pyvmdk) only loads there
HELPER="$PY $INTEROP_LIB/interop.py"
FAILURES=0

interop_init() {
  : "${VMDKIT:?VMDKIT must name the vmdkit binary}"
  : "${TEST_TMPDIR:?TEST_TMPDIR must name a scratch folder}"
  local tool
  for tool in qemu-img qemu-io; do
    if ! command -v "$tool" >/dev/null; then
      echo "SKIP: $tool not installed (Debian package qemu-utils)"
      exit 77
    fi
  done
  rm -rf "$TEST_TMPDIR"
  mkdir -p "$TEST_TMPDIR"
  echo "oracle: $(qemu-img --version | head -n 1)"
}

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

finish() {
  if ((FAILURES > 0)); then
    echo "$FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# require_samples: exit 77 (skipped) unless $SAMPLES holds MANIFEST.tsv.
require_samples() {
  if [[ -z ${SAMPLES:-} || ! -f $SAMPLES/MANIFEST.tsv ]]; then
    echo "SKIP: samples folder '${SAMPLES:-}' not found"
    exit 77
  fi
}

# unpack_samples DEST: every sample disk file under DEST, gunzipped, in its folder as in $SAMPLES,
# so descriptors find their extent files side by side.
unpack_samples() {
  local dest=$1 f
  (cd "$SAMPLES" && find . -type f \( -name '*.vmdk' -o -name '*.vmdk.gz' \)) | while read -r f; do
    mkdir -p "$dest/$(dirname "$f")"
    case $f in
      *.gz) gunzip -c "$SAMPLES/$f" >"$dest/${f%.gz}" ;;
      *) cp "$SAMPLES/$f" "$dest/$f" ;;
    esac
  done
}

qio() { qemu-io -f vmdk -t unsafe "$@" >/dev/null; }  # unsafe: no flush per write (throwaway files)

# --- fixture generators: each makes DIR/NAME.vmdk (plus its extent files) --------------------------

# Writes that start and end off grain boundaries and cross grain (64 KiB) and grain-table (32 MiB)
# boundaries; $1 is the image, $2 a pattern byte that tells layers apart.
write_spread() {
  local img=$1 p=$2
  qio -c "write -P $p 1000 70000" \
    -c "write -P $((p + 1)) 65535 2" \
    -c "write -P $((p + 2)) 33553000 3000" \
    -c "write -P $((p + 3)) 33488896 131072" \
    -c "write -P $((p + 4)) 50000000 777" "$img"
}

# mirror_write DISK OFFSET LENGTH pattern|zero [BYTE]: the same write into the disk (vmdkit) and into
# the raw file named by $raw (dd), for tests that compare the two.
mirror_write() {
  local disk=$1 off=$2 len=$3 kind=$4 byte=${5:-0}
  if [[ $kind == zero ]]; then
    "$VMDKIT" write -q "$disk" --offset "$off" --length "$len" --zero || fail "vmdkit write --zero $disk $off $len"
    head -c "$len" /dev/zero | dd of="$raw" bs=1M seek="$off" oflag=seek_bytes conv=notrunc status=none
  else
    "$VMDKIT" write -q "$disk" --offset "$off" --length "$len" --pattern "$byte" || fail "vmdkit write $disk $off $len"
    head -c "$len" /dev/zero | tr '\0' "\\$(printf '%03o' "$byte")" |
      dd of="$raw" bs=1M seek="$off" oflag=seek_bytes conv=notrunc status=none
  fi
}

# mirror_from DISK OFFSET FILE: the same, with the bytes of a file.
mirror_from() {
  local disk=$1 off=$2 file=$3
  "$VMDKIT" write -q "$disk" --offset "$off" --from "$file" || fail "vmdkit write --from $disk $off"
  dd if="$file" of="$raw" bs=1M seek="$off" oflag=seek_bytes conv=notrunc status=none
}

# make_subformat DIR SUBFORMAT [small]: one disk of that subformat. Split kinds are 2.5 GiB so they
# have more than one extent file, with data on both sides of the 2 GiB extent boundary (unless
# "small", for the robustness tests); the others are 100 MiB + 3 sectors (64 MiB + 3 sectors when
# small), a capacity that is not a multiple of the grain size.
make_subformat() {
  local dir=$1 sf=$2 small=${3:-} img="$1/$2.vmdk" size=$((100 * 1024 * 1024 + 1536))
  [[ -n $small ]] && size=$((64 * 1024 * 1024 + 1536))
  mkdir -p "$dir"
  case $sf in
    twoGbMaxExtent*)
      if [[ -z $small ]]; then
        qemu-img create -q -f vmdk -o subformat="$sf" "$img" 2560M
        write_spread "$img" 0x10
        qio -c "write -P 0x31 2147450000 100000" -c "write -P 0x32 2684289000 65000" "$img"
        return 0
      fi
      ;;
    streamOptimized)
      $HELPER pattern "$dir/stream-src.raw" $((size / 2)) --seed 7
      qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized "$dir/stream-src.raw" "$img"
      rm -f "$dir/stream-src.raw"
      return 0
      ;;
  esac
  qemu-img create -q -f vmdk -o subformat="$sf" "$img" "$size"
  write_spread "$img" 0x10
  qio -c "write -P 0x33 $((size - 1136)) 1136" "$img"
}

# make_chain DIR NAME KIND: a chain base + 3 deltas (depth 4), leaf DIR/NAME-000003.vmdk.
#   zeroed: sparse base, deltas with zeroed_grain=on, whole-grain and partial `write -z`
#   plain:  flat base, plain sparse deltas, no zeroed grains (python3-libvmdk reads it right)
#   stream: streamOptimized base, deltas on top of it, one of them with zeroed grains
make_chain() {
  local dir=$1 name=$2 kind=$3 base="$1/$2.vmdk" zopt="" i
  mkdir -p "$dir"
  case $kind in
    zeroed)
      qemu-img create -q -f vmdk -o subformat=monolithicSparse "$base" 96M
      write_spread "$base" 0x10
      qio -c "write -P 0x20 0 8M" -c "write -P 0x21 30M 6M" "$base"
      zopt="-o zeroed_grain=on"
      ;;
    plain)
      qemu-img create -q -f vmdk -o subformat=monolithicFlat "$base" 96M
      write_spread "$base" 0x10
      ;;
    stream)
      $HELPER pattern "$dir/$name-src.raw" $((96 * 1024 * 1024)) --seed 11
      qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized "$dir/$name-src.raw" "$base"
      rm -f "$dir/$name-src.raw"
      ;;
  esac
  local parent=$base child
  for i in 1 2 3; do
    child="$dir/$name-00000$i.vmdk"
    [[ $kind == stream && $i == 2 ]] && zopt="-o zeroed_grain=on"
    # shellcheck disable=SC2086  # zopt is empty or two words
    (cd "$dir" && qemu-img create -q -f vmdk $zopt -b "$(basename "$parent")" -F vmdk "$(basename "$child")")
    write_spread "$child" $((0x40 + 0x10 * i))
    case $i in
      1) qio -c "write -P 0x50 4M 130k" -c "write -P 0x51 32767k 2k" "$child" ;;
      2) qio -c "write -z 0 128k" -c "write -z 1234567 300000" -c "write -z 31M 2M" \
           -c "write -P 0x62 2M 1000" "$child" ;;
      3) qio -c "write -z 64k 64k" -c "write -P 0x70 31M 100000" -c "write -z 7M 10" "$child" ;;
    esac
    parent=$child
  done
}

# --- comparisons -------------------------------------------------------------------------------

# check_cat IMG [OFFSET:LENGTH...]: `vmdkit cat IMG` is byte for byte `qemu-img convert -O raw IMG`
# (compared byte for byte: as strict as equal sha256s, faster on GiB-sized disks, and it names the
# first difference),
# and each `vmdkit cat IMG --offset OFFSET --length LENGTH` equals that slice of it (sha256).
check_cat() {
  local img=$1 raw="$TEST_TMPDIR/qemu.raw" want got range off len diff
  shift
  qemu-img convert -f vmdk -O raw "$img" "$raw"
  if ! diff=$("$VMDKIT" cat "$img" 2>"$TEST_TMPDIR/cat.err" | $HELPER cmp "$raw") || [[ -s $TEST_TMPDIR/cat.err ]]; then
    fail "vmdkit cat $(basename "$img") differs from qemu-img convert -O raw: $diff $(cat "$TEST_TMPDIR/cat.err")"
  else
    echo "ok: cat $(basename "$img") = qemu-img convert -O raw ($(stat -c %s "$raw") bytes)"
  fi
  for range in "$@"; do
    off=${range%:*}
    len=${range#*:}
    want=$($HELPER sha256-slice "$raw" "$off" "$len")
    if ! got=$("$VMDKIT" cat "$img" --offset "$off" --length "$len" | $HELPER sha256 -) || [[ $got != "$want" ]]; then
      fail "vmdkit cat --offset $off --length $len $(basename "$img"): '$got', qemu-img '$want'"
    else
      echo "ok: cat $(basename "$img") [$off, +$len)"
    fi
  done
  rm -f "$raw"
}

# check_map IMG [mapcmp options]: vmdkit map --json agrees with qemu-img map on every byte.
check_map() {
  local img=$1
  shift
  local q="$TEST_TMPDIR/qemu-map.json" v="$TEST_TMPDIR/vmdkit-map.json"
  qemu-img map -f vmdk --output=json "$img" >"$q"
  if ! "$VMDKIT" map "$img" --json >"$v"; then
    fail "vmdkit map --json $(basename "$img") failed"
    return 0
  fi
  if $HELPER mapcmp "$q" "$v" "$@"; then
    echo "ok: map $(basename "$img") agrees with qemu-img map"
  else
    fail "vmdkit map $(basename "$img") disagrees with qemu-img map"
  fi
}
