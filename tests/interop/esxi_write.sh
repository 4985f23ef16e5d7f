#!/usr/bin/env bash
# Interop (issue 6, acceptance 2, vmfsSparse half): a vmfs base made by vmdkit with two vmfsSparse
# (COWD) snapshots, written at unaligned offsets: vmdkit and qemu-img read every step exactly like
# a raw file that got the same writes with dd; qemu-img check and info accept every layer.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
interop_init
cd "$TEST_TMPDIR"

SIZE=$((64 * 1024 * 1024))
raw=ref.raw
truncate -s "$SIZE" "$raw"

# w DISK OFFSET LENGTH BYTE: the same pattern write into the disk (vmdkit) and the raw (dd).
w() {
  local disk=$1 off=$2 len=$3 byte=$4
  "$VMDKIT" write -q "$disk" --offset "$off" --length "$len" --pattern "$byte" || fail "vmdkit write $disk $off $len"
  head -c "$len" /dev/zero | tr '\0' "\\$(printf '%03o' "$byte")" |
    dd of="$raw" bs=1M seek="$off" oflag=seek_bytes conv=notrunc status=none
}

# f DISK OFFSET FILE: bytes from a file.
f() {
  local disk=$1 off=$2 file=$3
  "$VMDKIT" write -q "$disk" --offset "$off" --from "$file" || fail "vmdkit write --from $disk $off"
  dd if="$file" of="$raw" bs=1M seek="$off" oflag=seek_bytes conv=notrunc status=none
}

check_all() {
  local leaf=$1 label=$2
  "$VMDKIT" cat "$leaf" >v.raw || fail "$label: vmdkit cat"
  cmp -s v.raw "$raw" && echo "ok: $label: vmdkit cat = dd raw" || fail "$label: vmdkit cat differs: $(cmp v.raw "$raw" | head -1)"
  qemu-img convert -f vmdk -O raw "$leaf" q.raw || fail "$label: qemu-img convert"
  cmp -s q.raw "$raw" && echo "ok: $label: qemu-img reads the same" || fail "$label: qemu-img reads differently: $(cmp q.raw "$raw" | head -1)"
  qemu-img check -q -f vmdk "$leaf" && echo "ok: $label: qemu-img check" || fail "$label: qemu-img check"
  rm -f v.raw q.raw
}

$HELPER pattern data.bin 300000 --seed 5

"$VMDKIT" create base.vmdk --type vmfs --size 64M --seed 1 >/dev/null || fail "create --type vmfs"
[[ -f base-flat.vmdk && $(stat -c %s base-flat.vmdk) == "$SIZE" ]] && echo "ok: base-flat.vmdk" || fail "no base-flat.vmdk"
grep -q '^createType="vmfs"$' base.vmdk && grep -q "^RW 131072 VMFS \"base-flat.vmdk\"$" base.vmdk &&
  echo "ok: vmfs descriptor" || fail "vmfs descriptor: $(cat base.vmdk)"
qemu-img info -f vmdk base.vmdk | grep -q "virtual size: 64 MiB" && echo "ok: qemu-img info" || fail "qemu-img info base"
check_all base.vmdk "empty vmfs"
w base.vmdk 1000 70000 0x11
f base.vmdk 5000000 data.bin
check_all base.vmdk "vmfs base"

"$VMDKIT" snapshot base.vmdk --delta-format vmfsSparse >/dev/null || fail "snapshot 1"
[[ -f base-000001-delta.vmdk ]] && grep -q '^createType="vmfsSparse"$' base-000001.vmdk &&
  echo "ok: ESXi delta names" || fail "snapshot 1 files: $(ls)"
check_all base-000001.vmdk "empty delta 1"
w base-000001.vmdk 1001 3 0x21                      # inside one sector of parent data
w base-000001.vmdk 2096000 5000 0x22                # across the 2 MiB grain-table boundary
f base-000001.vmdk 4999999 data.bin                 # unaligned over parent data
w base-000001.vmdk $((SIZE - 700)) 700 0x23         # the end of the disk
check_all base-000001.vmdk "depth 2"

"$VMDKIT" snapshot base-000001.vmdk >/dev/null || fail "snapshot 2 (default format for a vmfsSparse parent)"
grep -q 'VMFSSPARSE "base-000002-delta.vmdk"' base-000002.vmdk && echo "ok: default delta format" ||
  fail "snapshot 2 is not vmfsSparse: $(cat base-000002.vmdk)"
w base-000002.vmdk 1002 1 0x31                      # one byte in a grain delta 1 holds
w base-000002.vmdk 6000000 3000000 0x32             # many grains, two tables
w base-000002.vmdk 2096500 10 0x00                  # zeros over data below
check_all base-000002.vmdk "depth 3"

if "$VMDKIT" snapshot base-000002.vmdk --delta-format seSparse 2>err.txt; then
  fail "seSparse snapshot was not refused"
else
  grep -q 'seSparse' err.txt && echo "ok: seSparse refused" || fail "seSparse refusal: $(cat err.txt)"
fi
qemu-img info --backing-chain base-000002.vmdk >chain.txt 2>&1 || fail "qemu-img info --backing-chain: $(cat chain.txt)"
[[ $(grep -c '^image:' chain.txt) -eq 3 ]] && echo "ok: qemu-img sees 3 layers" || fail "qemu-img chain: $(cat chain.txt)"
"$VMDKIT" check base-000002.vmdk >check.txt && echo "ok: vmdkit check clean" || fail "vmdkit check: $(cat check.txt)"
finish
