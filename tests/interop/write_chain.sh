#!/usr/bin/env bash
# Interop (issue 3, acceptance 2): a chain built by vmdkit alone - create + three snapshots, writes
# at unaligned offsets that span grains and grain tables, zero writes (whole and partial grains,
# with and without zeroed-grain entries) - reads identically in vmdkit, in qemu-img, and in a raw
# file that received the same writes with dd. Every layer passes `qemu-img check`, vmdkinfo opens
# it with the right size, and qemu-img follows the links (it checks parentCID on fall-through reads).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
interop_init
cd "$TEST_TMPDIR"

SIZE=$((80 * 1024 * 1024 + 4096))  # not a multiple of the 64 KiB grain
raw=ref.raw
truncate -s "$SIZE" "$raw"

check_all() {
  local leaf=$1 label=$2 got
  if got=$("$VMDKIT" cat "$leaf" | $HELPER cmp "$raw"); then
    echo "ok: $label: vmdkit cat = dd raw"
  else
    fail "$label: vmdkit cat differs from the dd raw: $got"
  fi
  qemu-img convert -f vmdk -O raw "$leaf" q.raw || fail "$label: qemu-img convert"
  cmp -s q.raw "$raw" && echo "ok: $label: qemu-img reads the same" || fail "$label: qemu-img reads differently: $(cmp q.raw "$raw" | head -1)"
  rm -f q.raw
}

$HELPER pattern data.bin 300000 --seed 3

"$VMDKIT" create base.vmdk --size "$SIZE" --seed 1 >/dev/null || fail "create"
mirror_write base.vmdk 1000 70000 pattern 0x11
mirror_write base.vmdk 33553000 3000 pattern 0x12            # across the 32 MiB grain-table boundary
mirror_from base.vmdk 5000000 data.bin
mirror_write base.vmdk $((SIZE - 1136)) 1136 pattern 0x13    # the last, partial grain
check_all base.vmdk "base"

"$VMDKIT" snapshot base.vmdk >/dev/null || fail "snapshot 1"
mirror_write base-000001.vmdk 65535 2 pattern 0x21             # two bytes across a grain boundary
mirror_write base-000001.vmdk 1000 4000 zero                   # partial zero write over parent data
mirror_write base-000001.vmdk 33488896 131072 pattern 0x22     # whole grains, both sides of a table boundary
mirror_write base-000001.vmdk 5046272 65536 zero               # a whole grain of zeros, no zeroed-grain entries
check_all base-000001.vmdk "depth 2"

"$VMDKIT" snapshot base-000001.vmdk --zeroed-grains >/dev/null || fail "snapshot 2"
mirror_write base-000002.vmdk 0 262144 zero                    # whole grains: zeroed-grain entries
mirror_write base-000002.vmdk 50000000 777 pattern 0x31
mirror_from base-000002.vmdk 33550000 data.bin                # unaligned, spans many grains and a table
mirror_write base-000002.vmdk 33560000 100 zero                # partial zero inside a grain written just before
check_all base-000002.vmdk "depth 3"

"$VMDKIT" snapshot base-000002.vmdk >/dev/null || fail "snapshot 3"
mirror_write base-000003.vmdk 3 5 pattern 0x41
mirror_write base-000003.vmdk 33553000 3000 pattern 0x42
mirror_write base-000003.vmdk 70000 200000 zero
mirror_write base-000003.vmdk 70000 100 pattern 0x43            # rewrite part of a grain this layer already holds
check_all base-000003.vmdk "depth 4"

# Every layer: qemu-img check clean, vmdkinfo size right, links intact for qemu and vmdkit.
for disk in base.vmdk base-000001.vmdk base-000002.vmdk base-000003.vmdk; do
  qemu-img check -q -f vmdk "$disk" && echo "ok: qemu-img check $disk" || fail "qemu-img check $disk"
  media=$(vmdkinfo "$disk" 2>/dev/null | sed -n 's/.*Media size[^(]*(\([0-9]*\) bytes).*/\1/p' | head -n 1)
  [[ $media == "$SIZE" ]] && echo "ok: vmdkinfo $disk size $media" || fail "vmdkinfo $disk: media size '$media', want $SIZE"
done
qemu-img info --backing-chain base-000003.vmdk >chain.txt 2>&1 || fail "qemu-img info --backing-chain: $(cat chain.txt)"
[[ $(grep -c '^image:' chain.txt) -eq 4 ]] && echo "ok: qemu-img sees 4 layers" || fail "qemu-img chain: $(cat chain.txt)"
"$VMDKIT" chain base-000003.vmdk --json >chain.json || fail "vmdkit chain"
$PY - chain.json <<'PYEOF' && echo "ok: vmdkit chain ok" || fail "vmdkit chain: $(cat chain.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] and [l["link"] for l in d["layers"]] == ["ok", "ok", "ok", "base"]
PYEOF

# The zeroed-grain layer holds zeroed entries at depth 0 of its own chain.
"$VMDKIT" map base-000002.vmdk --json --length 262144 >map.json
$PY - map.json <<'PYEOF' && echo "ok: zero writes became zeroed-grain entries" || fail "map of zeroed grains: $(cat map.json)"
import json, sys
r = json.load(open(sys.argv[1]))["ranges"]
assert all(x["depth"] == 0 and x["zero"] and x["present"] and not x["data"] for x in r), r
PYEOF

# A write into a disk that has a child is refused and changes nothing.
sum_before=$(sha256sum base-000002.vmdk)
if "$VMDKIT" write base-000002.vmdk --offset 0 --length 512 --pattern 1 2>err.txt; then
  fail "write into a disk with a child succeeded"
else
  grep -q "base-000003.vmdk" err.txt && echo "ok: write into a parent refused, naming the child" || fail "refusal text: $(cat err.txt)"
fi
[[ $(sha256sum base-000002.vmdk) == "$sum_before" ]] || fail "refused write changed the parent"
finish
