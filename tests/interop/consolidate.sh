#!/usr/bin/env bash
# Interop (issue 4, acceptance 1-3): `vmdkit consolidate` on chains made by qemu-img/qemu-io (depth
# 1 to 8 over a sparse base, a flat base, zeroed-grain deltas, a streamOptimized base), by vmdkit
# (sparse, flat, vmfs, split, large-grain and zeroed-grain bases) and over VMware-made bases
# (samples, when present). ANCESTOR then reads exactly what TOP read (vmdkit cat and qemu-img),
# qemu-img check and vmdkinfo accept it, the merged files are gone. A middle merge re-links the layer
# above so that qemu-img, python3-libvmdk (both check parentCID) and `vmdkit chain` accept it. A
# sibling child anywhere in the merge is refused, by name.
# ctest-cost: 126
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
interop_init
T=$TEST_TMPDIR
have_vmdkinfo=1
command -v vmdkinfo >/dev/null || { have_vmdkinfo=0; echo "note: vmdkinfo missing, not checked"; }
have_pyvmdk=1
$PY -c "import pyvmdk" 2>/dev/null || { have_pyvmdk=0; echo "note: python3-libvmdk missing, not checked"; }

# --- helpers -------------------------------------------------------------------------------------

# sums DIR: every file under DIR (hidden ones too) with its sha256, to prove nothing changed.
sums() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs -r sha256sum); }

# files DIR: the file names in DIR, one line.
files() { (cd "$1" && LC_ALL=C ls -A | tr '\n' ' '); }

raw_of() { qemu-img convert -f vmdk -O raw "$1" "$2"; }

# consolidate LABEL DIR TOP ANCESTOR [options]: runs `vmdkit consolidate TOP [options]` in DIR and
# checks that it succeeds and that its last line names ANCESTOR. Returns 1 on failure.
consolidate() {
  local label=$1 dir=$2 top=$3 anc=$4 out last
  shift 4
  if ! out=$(cd "$dir" && "$VMDKIT" consolidate "$top" "$@" 2>&1); then
    fail "$label: vmdkit consolidate $top $*: $out"
    return 1
  fi
  last=$(tail -n 1 <<<"$out")
  if [[ $(cd "$dir" && realpath -m -- "$last") != "$(realpath -m -- "$dir/$anc")" ]]; then
    fail "$label: consolidate's last line '$last' does not name $anc; output: $out"
    return 1
  fi
  echo "ok: $label: consolidate $top${*:+ $*} -> $last"
}

# check_reads LABEL IMG RAW [parents for pyvmdk, nearest first]: vmdkit cat and qemu-img read IMG
# byte for byte as RAW (and python3-libvmdk, when parents are given or IMG has none, "-" skips).
check_reads() {
  local label=$1 img=$2 raw=$3 got rc=0
  shift 3
  # cmp(1) is quicker on small disks; the helper skips the holes of GiB-sized ones. vmdkit's errors
  # go into the compared stream, so a failing cat cannot compare equal.
  if (($(stat -c %s "$raw") <= 256 * 1024 * 1024)); then
    got=$(cmp <("$VMDKIT" cat "$img" 2>&1) "$raw" 2>&1) || rc=$?
  else
    got=$("$VMDKIT" cat "$img" 2>&1 | $HELPER cmp "$raw") || rc=$?
  fi
  if ((rc == 0)); then
    echo "ok: $label: vmdkit cat $(basename "$img") = saved content"
  else
    fail "$label: vmdkit cat $(basename "$img") differs from the content saved before: $got"
  fi
  # qemu-img compare (content, not allocation) reads IMG with qemu's driver, like convert, but skips
  # the holes of both sides: a 2 GiB raw compared with cmp takes many seconds.
  if got=$(qemu-img compare -f vmdk -F raw "$img" "$raw" 2>&1); then
    echo "ok: $label: qemu-img reads $(basename "$img") = saved content"
  else
    fail "$label: qemu-img reads $(basename "$img") differently: $got"
  fi
  if [[ ${1:-} != - ]] && ((have_pyvmdk)); then
    local want
    want=$($HELPER sha256 "$raw")
    if ! got=$($HELPER pyvmdk-sha256 "$img" "$@" 2>&1) || [[ $got != "$want" ]]; then
      fail "$label: python3-libvmdk reads $(basename "$img") as '$got', want '$want'"
    else
      echo "ok: $label: python3-libvmdk reads $(basename "$img") = saved content"
    fi
  fi
}

# check_accepted LABEL IMG: qemu-img check clean and vmdkinfo opens it with the right size.
check_accepted() {
  local label=$1 img=$2 out media cap
  if out=$(qemu-img check -f vmdk "$img" 2>&1); then
    echo "ok: $label: qemu-img check $(basename "$img")"
  else
    fail "$label: qemu-img check $(basename "$img"): $out"
  fi
  ((have_vmdkinfo)) || return 0
  cap=$(qemu-img info -f vmdk "$img" | sed -n 's/^virtual size: .*(\([0-9]*\) bytes)$/\1/p')
  if ! out=$(vmdkinfo "$img" 2>&1); then
    fail "$label: vmdkinfo cannot open $(basename "$img"): $out"
    return 0
  fi
  media=$(sed -n 's/.*Media size[^(]*(\([0-9]*\) bytes).*/\1/p' <<<"$out" | head -n 1)
  [[ $media == "$cap" ]] && echo "ok: $label: vmdkinfo $(basename "$img") ($media bytes)" ||
    fail "$label: vmdkinfo $(basename "$img"): media size '$media', want $cap"
}

# check_chain LABEL IMG N: `vmdkit chain IMG --json` is ok with N layers, every link intact.
check_chain() {
  local label=$1 img=$2 n=$3
  if ! "$VMDKIT" chain "$img" --json >"$T/chain.json" 2>"$T/chain.err"; then
    fail "$label: vmdkit chain $(basename "$img"): $(cat "$T/chain.err") $(cat "$T/chain.json")"
    return 0
  fi
  if $PY - "$T/chain.json" "$n" <<'PYEOF'; then
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
links = [l["link"] for l in d["layers"]]
assert d["ok"] is True and links == ["ok"] * (n - 1) + ["base"], links
for child, parent in zip(d["layers"], d["layers"][1:]):
    assert child["parent_cid"] == parent["cid"], (child, parent)
PYEOF
    echo "ok: $label: vmdkit chain $(basename "$img"): ok, $n layers"
  else
    fail "$label: vmdkit chain $(basename "$img") --json, want ok and $n layers: $(cat "$T/chain.json")"
  fi
}

# check_gone LABEL DIR WANT: the files left in DIR are exactly WANT (space-separated, sorted by
# `LC_ALL=C ls`): the merged deltas are gone, no journal or temporary file is left behind.
check_gone() {
  local label=$1 dir=$2 want=$3 got
  got=$(files "$dir")
  [[ $got == "$want" ]] && echo "ok: $label: files left: $got" || fail "$label: files left '$got', want '$want'"
}

# merge_and_check LABEL DIR TOP ANCESTOR "FILES LEFT" [options]: the acceptance-1 checks of one
# consolidation; CHAIN_N (default 1) is the number of layers of ANCESTOR's chain afterwards.
merge_and_check() {
  local label=$1 dir=$2 top=$3 anc=$4 left=$5
  shift 5
  raw_of "$dir/$top" "$T/before.raw"
  consolidate "$label" "$dir" "$top" "$anc" "$@" || return 0
  check_reads "$label" "$dir/$anc" "$T/before.raw" -
  check_accepted "$label" "$dir/$anc"
  check_gone "$label" "$dir" "$left"
  check_chain "$label" "$dir/$anc" "${CHAIN_N:-1}"
  rm -f "$T/before.raw"
}

# --- 1a. qemu-made chains of depth 1 to 8 over a sparse base --------------------------------------
SIZE=$((64 * 1024 * 1024 + 1536))  # not a multiple of the 64 KiB grain: a partial last grain
q=$T/q8
mkdir -p "$q"
qemu-img create -q -f vmdk -o subformat=monolithicSparse "$q/q.vmdk" "$SIZE"
write_spread "$q/q.vmdk" 0x10
qio -c "write -P 0x20 0 6M" -c "write -P 0x21 40M 3M" -c "write -P 0x22 $((SIZE - 1536)) 1536" "$q/q.vmdk"
parent=q.vmdk
for i in 1 2 3 4 5 6 7 8; do
  child=q-00000$i.vmdk
  (cd "$q" && qemu-img create -q -f vmdk -b "$parent" -F vmdk "$child")
  p=$((0x30 + 0x10 * i))
  qio -c "write -P $p $((i * 3))M $((i * 100 + 3))k" \
    -c "write -P $((p + 1)) $((i * 5 * 1024 * 1024 + 777)) 70000" \
    -c "write -z $((i * 1024 * 1024 + 512)) $((i * 20000))" \
    -c "write -P $((p + 2)) $((33554432 - i * 4096)) $((i * 8192))" "$q/$child"
  ((i % 2 == 1)) && write_spread "$q/$child" $((p + 3))
  ((i == 5)) && qio -c "write -P 0x99 $((SIZE - 1036)) 1036" "$q/$child"
  parent=$child
done
# Every depth in the plain pass; the sanitized pass (same code paths, 3x slower) takes three of them.
DEPTHS="1 2 3 4 5 6 7 8"
[[ -n ${VMDKIT_SANITIZED:-} ]] && DEPTHS="1 8"
for depth in $DEPTHS; do
  d=$T/qd$depth
  mkdir -p "$d"
  cp "$q/q.vmdk" "$d/"
  for ((i = 1; i <= depth; i++)); do cp "$q/q-00000$i.vmdk" "$d/"; done
  merge_and_check "qemu depth $depth" "$d" "q-00000$depth.vmdk" q.vmdk "q.vmdk "
  rm -rf "$d"
done

# --- 1b. qemu-made: flat base; zeroed-grain deltas; streamOptimized base --------------------------
make_chain "$T/plain" cplain plain
merge_and_check "qemu flat base" "$T/plain" cplain-000003.vmdk cplain.vmdk "cplain-flat.vmdk cplain.vmdk "

make_chain "$T/zeroed" czeroed zeroed
cp -r "$T/zeroed" "$T/zeroed2"
merge_and_check "qemu zeroed grains" "$T/zeroed" czeroed-000003.vmdk czeroed.vmdk "czeroed.vmdk "
# Into a middle layer: zero grains must read as zeros there, not expose the base below.
CHAIN_N=2 merge_and_check "qemu zeroed grains into d1" "$T/zeroed2" czeroed-000003.vmdk czeroed-000001.vmdk \
  "czeroed-000001.vmdk czeroed.vmdk " --into czeroed-000001.vmdk
rm -rf "$T/plain" "$T/zeroed" "$T/zeroed2"

# A streamOptimized ANCESTOR is not writable in place: refused before anything is written. A
# sparse delta above it is a fine ANCESTOR.
make_chain "$T/stream" cstream stream
before=$(sums "$T/stream")
if out=$(cd "$T/stream" && "$VMDKIT" consolidate cstream-000003.vmdk 2>&1); then
  fail "consolidate into a streamOptimized base succeeded: $out"
else
  grep -qi "stream" <<<"$out" && echo "ok: streamOptimized ANCESTOR refused: $out" ||
    fail "streamOptimized ANCESTOR refused without saying why: $out"
fi
[[ $(sums "$T/stream") == "$before" ]] && echo "ok: the refused run changed nothing" ||
  fail "refused consolidation into a streamOptimized base changed files"
CHAIN_N=2 merge_and_check "qemu over stream base, into d1" "$T/stream" cstream-000003.vmdk cstream-000001.vmdk \
  "cstream-000001.vmdk cstream.vmdk " --into cstream-000001.vmdk
rm -rf "$T/stream"

# --- 1c. our own chains --------------------------------------------------------------------------
$HELPER pattern "$T/data.bin" 300000 --seed 5
# own_chain DIR TYPE [create options]: base "o.vmdk" of that type + 3 deltas with unaligned writes,
# zero writes (a --zeroed-grains delta among them) and data from a file.
own_chain() {
  local d=$1 type=$2 size=$((72 * 1024 * 1024 + 4096))
  shift 2
  mkdir -p "$d"
  [[ $type == twoGbMaxExtentSparse ]] && size=$((2048 * 1024 * 1024 + 8 * 1024 * 1024))
  "$VMDKIT" create -q "$d/o.vmdk" --size "$size" --type "$type" --seed 11 "$@" || fail "create $type"
  "$VMDKIT" write -q "$d/o.vmdk" --offset 1000 --length 3000000 --pattern 0x11
  "$VMDKIT" write -q "$d/o.vmdk" --offset 33553000 --from "$T/data.bin"
  "$VMDKIT" write -q "$d/o.vmdk" --offset $((size - 5000)) --length 5000 --pattern 0x12
  [[ $type == twoGbMaxExtentSparse ]] &&
    "$VMDKIT" write -q "$d/o.vmdk" --offset $((2048 * 1024 * 1024 - 100000)) --length 300000 --pattern 0x13
  "$VMDKIT" snapshot -q "$d/o.vmdk" --seed 12 >/dev/null
  "$VMDKIT" write -q "$d/o-000001.vmdk" --offset 65535 --length 2 --pattern 0x21
  "$VMDKIT" write -q "$d/o-000001.vmdk" --offset 2000 --length 70000 --zero
  "$VMDKIT" write -q "$d/o-000001.vmdk" --offset 33488896 --length 131072 --pattern 0x22
  [[ $type == twoGbMaxExtentSparse ]] &&
    "$VMDKIT" write -q "$d/o-000001.vmdk" --offset $((2048 * 1024 * 1024 - 3000)) --length 9000 --pattern 0x23
  "$VMDKIT" snapshot -q "$d/o-000001.vmdk" --zeroed-grains --seed 13 >/dev/null
  "$VMDKIT" write -q "$d/o-000002.vmdk" --offset 0 --length 262144 --zero
  "$VMDKIT" write -q "$d/o-000002.vmdk" --offset 40000000 --from "$T/data.bin"
  "$VMDKIT" write -q "$d/o-000002.vmdk" --offset 33560000 --length 100 --zero
  "$VMDKIT" snapshot -q "$d/o-000002.vmdk" --seed 14 >/dev/null
  "$VMDKIT" write -q "$d/o-000003.vmdk" --offset 3 --length 5 --pattern 0x41
  "$VMDKIT" write -q "$d/o-000003.vmdk" --offset 1310720 --length 1310720 --zero
  "$VMDKIT" write -q "$d/o-000003.vmdk" --offset $((size - 3000)) --length 3000 --pattern 0x42
}
for spec in "monolithicSparse:o.vmdk " "monolithicFlat:o-flat.vmdk o.vmdk " "vmfs:o-flat.vmdk o.vmdk " \
  "twoGbMaxExtentSparse:o-s001.vmdk o-s002.vmdk o.vmdk " "grain256k:o.vmdk " "zeroedbase:o.vmdk "; do
  kind=${spec%%:*}
  # The 2 GiB split chain and the large grains only repeat code paths under the sanitizer.
  [[ -n ${VMDKIT_SANITIZED:-} && ($kind == twoGbMaxExtentSparse || $kind == grain256k) ]] && continue
  case $kind in
    grain256k) own_chain "$T/own-$kind" monolithicSparse --grain-size 256K ;;  # grains larger than the deltas'
    zeroedbase) own_chain "$T/own-$kind" monolithicSparse --zeroed-grains ;;
    *) own_chain "$T/own-$kind" "$kind" ;;
  esac
  merge_and_check "vmdkit $kind" "$T/own-$kind" o-000003.vmdk o.vmdk "${spec#*:}"
  rm -rf "$T/own-$kind"
done

# --- 1d. bases made by VMware Workstation (samples, when present) ---------------------------------
# A vmdkit snapshot over each VMware-made base, consolidated back: the base keeps VMware's layout
# (text or embedded descriptor, redundant grain directory) and reads as the snapshot did.
if [[ -n ${SAMPLES:-} && -f $SAMPLES/MANIFEST.tsv ]]; then
  unpack_samples "$T/samples"
  w=$T/samples/vmware-workstation
  for kind in monolithicSparse twoGbMaxExtentSparse monolithicFlat twoGbMaxExtentFlat; do
    mkdir -p "$T/one"
    for f in "$w/$kind".vmdk "$w/$kind"-flat.vmdk "$w/$kind"-[fs][0-9][0-9][0-9].vmdk; do  # alone in a folder
      [[ -e $f ]] && mv "$f" "$T/one/"
    done
    left=$(files "$T/one")
    delta=$("$VMDKIT" snapshot -q "$T/one/$kind.vmdk" --seed 31 | tail -n 1)
    "$VMDKIT" write -q "$delta" --offset 12345 --length 200000 --pattern 0x61
    "$VMDKIT" write -q "$delta" --offset 3000000 --length 65536 --zero
    "$VMDKIT" write -q "$delta" --offset $((10 * 1024 * 1024 - 700)) --length 700 --pattern 0x62
    merge_and_check "VMware $kind" "$T/one" "$(basename "$delta")" "$kind.vmdk" "$left"
    # The grain directory and its redundant copy still describe the same tables.
    for extent in "$T/one/$kind.vmdk" "$T/one/$kind-s001.vmdk"; do
      [[ -f $extent && $(head -c 4 "$extent") == KDMV ]] || continue
      $PY - "$extent" <<'PYEOF' && echo "ok: VMware $kind: $(basename "$extent"): redundant grain tables match" ||
import struct, sys
f = open(sys.argv[1], "rb").read()
flags, = struct.unpack_from("<I", f, 8)
cap, grain = struct.unpack_from("<QQ", f, 12)
ngte, = struct.unpack_from("<I", f, 44)
rgd, gd = struct.unpack_from("<QQ", f, 48)
assert flags & 2, "no redundant grain directory"
for i in range((cap + grain * ngte - 1) // (grain * ngte)):
    a, = struct.unpack_from("<I", f, gd * 512 + 4 * i)
    b, = struct.unpack_from("<I", f, rgd * 512 + 4 * i)
    assert f[a * 512:a * 512 + 4 * ngte] == f[b * 512:b * 512 + 4 * ngte], f"table {i}: GT and RGT differ"
PYEOF
        fail "VMware $kind: $(basename "$extent"): grain tables and redundant grain tables differ"
    done
    rm -rf "$T/one"
  done
  # ESXi's delta whose extent was never published: refused naming the missing file, nothing changed.
  e=$T/samples/esxi
  before=$(sums "$e")
  if out=$(cd "$e" && "$VMDKIT" consolidate vmfs_thick-000001.vmdk 2>&1); then
    fail "consolidate of a delta without its extent succeeded: $out"
  else
    grep -q "vmfs_thick-000001-delta.vmdk" <<<"$out" && echo "ok: missing extent refused: $out" ||
      fail "missing extent refused without naming it: $out"
  fi
  [[ $(sums "$e") == "$before" ]] && echo "ok: the refused run changed nothing" || fail "the refused run changed files"
  rm -rf "$T/samples"
else
  echo "note: samples folder '${SAMPLES:-}' not found, VMware-made bases not checked"
fi

# --- 2. middle merges: the layer above is re-linked -------------------------------------------------
# relinked LABEL DIR IMG RAW N PARENTS...: IMG (re-linked) still reads RAW in vmdkit, qemu-img and
# python3-libvmdk, passes qemu-img check, and its chain is ok with N layers.
relinked() {
  local label=$1 dir=$2 img=$3 raw=$4 n=$5
  shift 5
  local parents=() p
  for p in "$@"; do parents+=("$dir/$p"); done
  check_reads "$label (re-linked)" "$dir/$img" "$raw" "${parents[@]}"
  check_accepted "$label (re-linked)" "$dir/$img"
  check_chain "$label (re-linked)" "$dir/$img" "$n"
  if qemu-img info -f vmdk --backing-chain "$dir/$img" >"$T/qchain.txt" 2>&1 &&
    [[ $(grep -c '^image:' "$T/qchain.txt") -eq $n ]]; then
    echo "ok: $label: qemu-img follows $img through $n layers"
  else
    fail "$label: qemu-img info --backing-chain $img, want $n layers: $(cat "$T/qchain.txt")"
  fi
}

# (a) qemu-made: flat base <- d1 <- d2 <- {d3, side}; TOP = d2 into the base: d1 and d2 go, d3 and
# side (both children of TOP) are re-linked to the base. Their reads fall through to the base
# wherever they hold no grain, so qemu-img and libvmdk check the new parentCID.
m=$T/mid-qemu
make_chain "$m" cm plain
(cd "$m" && qemu-img create -q -f vmdk -b cm-000002.vmdk -F vmdk side.vmdk)
qio -c "write -P 0x77 5M 100k" "$m/side.vmdk"
raw_of "$m/cm-000003.vmdk" "$T/d3.raw"
raw_of "$m/side.vmdk" "$T/side.raw"
raw_of "$m/cm-000002.vmdk" "$T/before.raw"
if consolidate "qemu middle" "$m" cm-000002.vmdk cm.vmdk; then
  check_reads "qemu middle" "$m/cm.vmdk" "$T/before.raw"
  check_accepted "qemu middle" "$m/cm.vmdk"
  check_gone "qemu middle" "$m" "cm-000003.vmdk cm-flat.vmdk cm.vmdk side.vmdk "
  relinked "qemu middle" "$m" cm-000003.vmdk "$T/d3.raw" 2 cm.vmdk
  relinked "qemu middle" "$m" side.vmdk "$T/side.raw" 2 cm.vmdk
fi
rm -rf "$m" "$T/d3.raw" "$T/side.raw" "$T/before.raw"

# (b) vmdkit-made: sparse base <- d1 <- d2 <- d3 (no zeroed grains: libvmdk misreads them); TOP = d2
# into d1: d2 goes, d3 is re-linked to d1. First a dry run (plan only, nothing written), then the
# real run with --json: the report names the merge, the removed file and the re-link.
m=$T/mid-own
mkdir -p "$m"
"$VMDKIT" create -q "$m/b.vmdk" --size 80M --seed 21
"$VMDKIT" write -q "$m/b.vmdk" --offset 0 --length 20M --pattern 0x11
"$VMDKIT" write -q "$m/b.vmdk" --offset 30000000 --from "$T/data.bin"
"$VMDKIT" snapshot -q "$m/b.vmdk" --seed 22 >/dev/null
"$VMDKIT" write -q "$m/b-000001.vmdk" --offset 1000000 --length 3000000 --pattern 0x21
"$VMDKIT" write -q "$m/b-000001.vmdk" --offset 50000000 --length 70000 --pattern 0x22
"$VMDKIT" snapshot -q "$m/b-000001.vmdk" --seed 23 >/dev/null
"$VMDKIT" write -q "$m/b-000002.vmdk" --offset 2000000 --length 100000 --pattern 0x31
"$VMDKIT" write -q "$m/b-000002.vmdk" --offset 60000000 --from "$T/data.bin"
"$VMDKIT" write -q "$m/b-000002.vmdk" --offset 10000000 --length 65536 --zero
"$VMDKIT" snapshot -q "$m/b-000002.vmdk" --seed 24 >/dev/null
"$VMDKIT" write -q "$m/b-000003.vmdk" --offset 2050000 --length 5000 --pattern 0x41
raw_of "$m/b-000003.vmdk" "$T/d3.raw"
raw_of "$m/b-000002.vmdk" "$T/before.raw"
before=$(sums "$m")
if ! (cd "$m" && "$VMDKIT" consolidate b-000002.vmdk --into b-000001.vmdk --dry-run --json) >"$T/plan.json" 2>"$T/plan.err"; then
  fail "consolidate --dry-run --json: $(cat "$T/plan.err")"
elif $PY - "$T/plan.json" <<'PYEOF'; then
import json, os, sys
r = json.load(open(sys.argv[1]))
p = r["plan"]
base = lambda x: os.path.basename(x)
assert r["done"] is False, "dry run says done"
assert base(p["top"]) == "b-000002.vmdk" and base(p["ancestor"]) == "b-000001.vmdk", p
assert [base(x) for x in p["merged"]] == ["b-000002.vmdk"], p["merged"]
assert [base(x) for x in p["removed"]] == ["b-000002.vmdk"], p["removed"]
assert [base(l["path"]) for l in p["relinks"]] == ["b-000003.vmdk"], p["relinks"]
l = p["relinks"][0]
assert base(l["old_hint"]) == "b-000002.vmdk" and base(l["new_hint"]) == "b-000001.vmdk", l
assert l["new_parent_cid"] == p["new_ancestor_cid"] != p["ancestor_cid"], (l, p)
assert p["grains"] > 0 and p["bytes"] > 0 and p["resumed"] is False, p
PYEOF
  echo "ok: dry run plan: merge b-000002 into b-000001, remove it, re-link b-000003"
else
  fail "dry run plan unexpected: $(cat "$T/plan.json")"
fi
[[ $(sums "$m") == "$before" ]] && echo "ok: the dry run changed nothing" || fail "consolidate --dry-run changed files"
if ! (cd "$m" && "$VMDKIT" consolidate b-000002.vmdk --into b-000001.vmdk --json --seed 9) >"$T/report.json" 2>"$T/report.err"; then
  fail "consolidate b-000002 --into b-000001 --json: $(cat "$T/report.err")"
else
  "$VMDKIT" info "$m/b-000001.vmdk" --json >"$T/info.json"
  if $PY - "$T/report.json" "$T/info.json" <<'PYEOF'; then
import json, os, sys
r = json.load(open(sys.argv[1]))
info = json.load(open(sys.argv[2]))
p = r["plan"]
assert r["done"] is True and os.path.basename(r["result"]) == "b-000001.vmdk", r
assert p["new_ancestor_cid"] == info["cid"], (p["new_ancestor_cid"], info["cid"])
assert p["relinks"][0]["new_parent_cid"] == info["cid"], p["relinks"]
PYEOF
    echo "ok: JSON report: done, result b-000001.vmdk, the re-link carries ANCESTOR's new CID"
  else
    fail "JSON report unexpected: $(cat "$T/report.json") info: $(cat "$T/info.json")"
  fi
  check_reads "vmdkit middle" "$m/b-000001.vmdk" "$T/before.raw" "$m/b.vmdk"
  check_accepted "vmdkit middle" "$m/b-000001.vmdk"
  check_gone "vmdkit middle" "$m" "b-000001.vmdk b-000003.vmdk b.vmdk "
  relinked "vmdkit middle" "$m" b-000003.vmdk "$T/d3.raw" 3 b-000001.vmdk b.vmdk
fi
rm -rf "$m" "$T/d3.raw" "$T/before.raw"

# --- 3. siblings anywhere in the merge are refused, naming them; --force does not override ---------
# refused LABEL DIR SIBLING ARGS...: consolidate ARGS exits 1, names SIBLING, changes no file.
refused() {
  local label=$1 dir=$2 sib=$3 before rc=0 out
  shift 3
  before=$(sums "$dir")
  out=$(cd "$dir" && "$VMDKIT" consolidate "$@" 2>&1) || rc=$?
  if ((rc != 1)); then
    fail "$label: consolidate $* exited $rc, want 1: $out"
  elif ! grep -q "$sib" <<<"$out"; then
    fail "$label: consolidate $* refused without naming $sib: $out"
  else
    echo "ok: $label: consolidate $* refused: $out"
  fi
  [[ $(sums "$dir") == "$before" ]] && echo "ok: $label: no file changed" || fail "$label: the refused run changed files"
}
s=$T/sib
make_chain "$s" cs zeroed  # a sparse base: quick to checksum
(cd "$s" && qemu-img create -q -f vmdk -b cs-000001.vmdk -F vmdk other.vmdk)  # second child of d1
qio -c "write -P 0x66 1M 64k" "$s/other.vmdk"
refused "second child of ANCESTOR" "$s" other.vmdk cs-000003.vmdk --into cs-000001.vmdk
refused "second child of a merged layer, --force" "$s" other.vmdk cs-000003.vmdk --into cs.vmdk --force
(cd "$s" && qemu-img create -q -f vmdk -b cs.vmdk -F vmdk base-child.vmdk)  # second child of the base
refused "second child of the base" "$s" base-child.vmdk cs-000001.vmdk
# A lock folder stops it too (but --force may override that).
mkdir "$s/cs-000003.vmdk.lck"
before=$(sums "$s")
if out=$(cd "$s" && "$VMDKIT" consolidate cs-000003.vmdk --into cs-000002.vmdk 2>&1); then
  fail "consolidate of a locked disk succeeded: $out"
else
  echo "ok: locked disk refused: $out"
fi
[[ $(sums "$s") == "$before" ]] || fail "the refused run on a locked disk changed files"
rmdir "$s/cs-000003.vmdk.lck"
# Siblings outside the merge do not matter: d3 into d2 touches neither d1 nor the base.
raw_of "$s/other.vmdk" "$T/other.raw"
CHAIN_N=3 merge_and_check "siblings outside the merge" "$s" cs-000003.vmdk cs-000002.vmdk \
  "base-child.vmdk cs-000001.vmdk cs-000002.vmdk cs.vmdk other.vmdk " --into cs-000002.vmdk
check_reads "siblings outside the merge: other.vmdk" "$s/other.vmdk" "$T/other.raw" -
rm -rf "$s" "$T/other.raw" "$T/data.bin"
finish
