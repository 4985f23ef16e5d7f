#!/usr/bin/env bash
# Interop (issue 6, acceptances 2 and 3): a vmfs base made by vmdkit with two vmfsSparse (COWD)
# snapshots, and another with two seSparse snapshots, written at unaligned offsets: vmdkit and
# qemu-img read every step exactly like a raw file that got the same writes with dd; qemu-img check
# and info accept every layer. Then each chain is consolidated, the top delta into the one below
# and the rest into the vmfs base, which keeps the content.
# ctest-cost: 48
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
interop_init
cd "$TEST_TMPDIR"

SIZE=$((64 * 1024 * 1024))

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

# chain KIND FOLDER: the base, two KIND snapshots (the second one in the default format, which must
# be KIND again), writes at each level checked against the dd raw, then consolidation.
chain() {
  local kind=$1 dir=$2 suffix
  [[ $kind == vmfsSparse ]] && suffix=delta || suffix=sesparse
  local ext=${kind^^}
  mkdir "$dir" && cd "$dir" || fail "mkdir $dir"
  cp ../data.bin .
  raw=ref.raw
  truncate -s "$SIZE" "$raw"

  "$VMDKIT" create base.vmdk --type vmfs --size 64M --seed 1 >/dev/null || fail "create --type vmfs"
  [[ -f base-flat.vmdk && $(stat -c %s base-flat.vmdk) == "$SIZE" ]] && echo "ok: base-flat.vmdk" || fail "no base-flat.vmdk"
  grep -q '^createType="vmfs"$' base.vmdk && grep -q "^RW 131072 VMFS \"base-flat.vmdk\"$" base.vmdk &&
    echo "ok: vmfs descriptor" || fail "vmfs descriptor: $(cat base.vmdk)"
  qemu-img info -f vmdk base.vmdk | grep -q "virtual size: 64 MiB" && echo "ok: qemu-img info" || fail "qemu-img info base"
  check_all base.vmdk "empty vmfs"
  mirror_write base.vmdk 1000 70000 pattern 0x11
  mirror_from base.vmdk 5000000 data.bin
  check_all base.vmdk "vmfs base"

  "$VMDKIT" snapshot base.vmdk --delta-format "$kind" >/dev/null || fail "$kind: snapshot 1"
  [[ -f base-000001-$suffix.vmdk ]] && grep -q "^createType=\"$kind\"$" base-000001.vmdk &&
    echo "ok: $kind: ESXi delta names" || fail "$kind: snapshot 1 files: $(ls)"
  check_all base-000001.vmdk "$kind: empty delta 1"
  mirror_write base-000001.vmdk 1001 3 pattern 0x21                      # inside one sector of parent data
  mirror_write base-000001.vmdk 2096000 5000 pattern 0x22                # across a COWD grain-table boundary (2 MiB)
  mirror_write base-000001.vmdk 16776000 5000 pattern 0x24               # across a seSparse grain-table boundary (16 MiB)
  mirror_from base-000001.vmdk 4999999 data.bin                 # unaligned over parent data
  mirror_write base-000001.vmdk $((SIZE - 700)) 700 pattern 0x23         # the end of the disk
  mirror_write base-000001.vmdk 1001 2 pattern 0x25                      # rewrites a grain this delta holds
  check_all base-000001.vmdk "$kind: depth 2"

  "$VMDKIT" snapshot base-000001.vmdk >/dev/null || fail "$kind: snapshot 2 (default format)"
  grep -q "$ext \"base-000002-$suffix.vmdk\"" base-000002.vmdk && echo "ok: $kind: default delta format" ||
    fail "$kind: snapshot 2 is not $kind: $(cat base-000002.vmdk)"
  mirror_write base-000002.vmdk 1002 1 pattern 0x31                      # one byte in a grain delta 1 holds
  mirror_write base-000002.vmdk 6000000 30000000 pattern 0x32            # many grains, several tables of both kinds
  mirror_write base-000002.vmdk 2096500 10 pattern 0x00                  # zeros over data below
  mirror_write base-000002.vmdk 40960 8192 zero                     # whole grains of zeros over base data
  check_all base-000002.vmdk "$kind: depth 3"

  qemu-img info --backing-chain base-000002.vmdk >chain.txt 2>&1 || fail "qemu-img info --backing-chain: $(cat chain.txt)"
  [[ $(grep -c '^image:' chain.txt) -eq 3 ]] && echo "ok: $kind: qemu-img sees 3 layers" || fail "qemu-img chain: $(cat chain.txt)"
  "$VMDKIT" check base-000002.vmdk >check.txt && echo "ok: $kind: vmdkit check clean" || fail "vmdkit check: $(cat check.txt)"

  # First the top delta into the one below (an ESXi delta as ANCESTOR: grains it holds are
  # overwritten in place, new ones appended), then acceptance 3: the rest into the vmfs base; the
  # deltas go, the base holds the content.
  "$VMDKIT" consolidate -q base-000002.vmdk --into base-000001.vmdk >out.txt || fail "$kind: consolidate --into: $(cat out.txt)"
  [[ ! -e base-000002.vmdk && ! -e base-000002-$suffix.vmdk ]] && echo "ok: $kind: delta 2 merged into delta 1" || fail "$kind: files left: $(ls)"
  check_all base-000001.vmdk "$kind: delta 2 consolidated into delta 1"
  "$VMDKIT" check base-000001.vmdk >check.txt && echo "ok: $kind: vmdkit check clean after --into" || fail "vmdkit check: $(cat check.txt)"
  "$VMDKIT" consolidate -q base-000001.vmdk >out.txt || fail "$kind: consolidate: $(cat out.txt)"
  [[ $(tail -n 1 out.txt) == base.vmdk ]] && echo "ok: $kind: consolidate names the base" || fail "$kind: consolidate printed $(cat out.txt)"
  [[ ! -e base-000001.vmdk && ! -e base-000001-$suffix.vmdk ]] &&
    echo "ok: $kind: merged deltas removed" || fail "$kind: files left: $(ls)"
  grep -q '^createType="vmfs"$' base.vmdk && echo "ok: $kind: base is still vmfs" || fail "$kind: base: $(cat base.vmdk)"
  check_all base.vmdk "$kind: consolidated base"
  cd ..
}

chain vmfsSparse cowd
chain seSparse sesparse

"$VMDKIT" create -q v.vmdk --type vmfs --size 1M && "$VMDKIT" snapshot -q v.vmdk --delta-format seSparse --zeroed-grains 2>err.txt &&
  fail "seSparse --zeroed-grains accepted" || { grep -q 'zero-grain' err.txt && echo "ok: seSparse refuses --zeroed-grains"; } || fail "refusal: $(cat err.txt)"
finish
