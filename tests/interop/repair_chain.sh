#!/usr/bin/env bash
# Repair of broken chain links (issue 5, acceptance 2), with qemu-img and python3-libvmdk as oracles:
# a qemu chain base <- d1 <- d2 copied elsewhere with its base renamed and d1's hint an absolute
# ESXi path (parent found by CID in the delta's folder, in a --search folder, or given by --parent),
# and a chain whose base CID changed (fixed only with --accept-cid-mismatch). Repaired, each reads
# through vmdkit cat, qemu-img convert and libvmdk as the original chain's raw export does.
# ctest-cost: 40
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
interop_init
RC=("$PY" "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/repair_chain.py")
have_pyvmdk=1
"$PY" -c "import pyvmdk" 2>/dev/null || have_pyvmdk=0
((have_pyvmdk)) || echo "note: python3-libvmdk missing, only vmdkit and qemu-img are compared"
ESXI_HINT='"/vmfs/volumes/datastore1/vm/base.vmdk"'
cd "$TEST_TMPDIR" || exit 1

ok() { echo "ok: $*"; }
check() {  # check DESCRIPTION COMMAND...: passes when the command succeeds
  local what=$1
  shift
  local out
  if out=$("$@" 2>&1); then ok "$what"; else fail "$what: $out"; fi
}
state() { (cd "$1" && find . -type f | sort | xargs sha256sum); }  # every file, undo logs included
expect_exit() {  # expect_exit CODE DESCRIPTION OUTFILE -- command...: stdout to OUTFILE
  local want=$1 what=$2 outfile=$3 got
  shift 4
  "$@" >"$outfile" 2>"$TEST_TMPDIR/err" && got=0 || got=$?
  if [[ $got == "$want" ]]; then
    ok "$what (exit $got)"
  else
    fail "$what: exit $got, expected $want: $(head -c 600 "$TEST_TMPDIR/err") $(head -c 600 "$outfile")"
  fi
}

# The original chain: no zero writes (libvmdk reads zeroed grains wrong), data in both grain tables
# of every layer, across the 32 MiB table boundary and in the last grain.
mkdir orig
(
  cd orig || exit 1
  qemu-img create -q -f vmdk base.vmdk 64M
  qio -c 'write -P 0x11 0 100000' -c 'write -P 0x12 33488896 131072' -c 'write -P 0x13 67043328 65536' base.vmdk
  qemu-img create -q -f vmdk -b base.vmdk -F vmdk d1.vmdk
  qio -c 'write -P 0x21 65536 70000' -c 'write -P 0x22 33550000 10000' -c 'write -P 0x23 50000000 4096' d1.vmdk
  qemu-img create -q -f vmdk -b d1.vmdk -F vmdk d2.vmdk
  qio -c 'write -P 0x31 1000000 70000' -c 'write -P 0x32 40000000 65536' -c 'write -P 0x33 67100000 8864' d2.vmdk
)
qemu-img convert -f vmdk -O raw orig/d2.vmdk orig.raw
read -r WANT _ < <($HELPER sha256 orig.raw)
rm -f orig.raw
echo "original chain d2 <- d1 <- base: sha256 $WANT"

# readers LABEL TOP [vmdkit options]: vmdkit cat, qemu-img convert -O raw and libvmdk read TOP's
# chain as the original chain reads.
readers() {
  local label=$1 top=$2 got
  shift 2
  if got=$("$VMDKIT" cat -q "$@" "$top" | $HELPER sha256 -) && [[ ${got%% *} == "$WANT" ]]; then
    ok "$label: vmdkit cat = original"
  else
    fail "$label: vmdkit cat gives $got, the original $WANT"
  fi
  if qemu-img convert -f vmdk -O raw "$top" "$TEST_TMPDIR/read.raw" 2>"$TEST_TMPDIR/err" &&
    got=$($HELPER sha256 "$TEST_TMPDIR/read.raw") && [[ ${got%% *} == "$WANT" ]]; then
    ok "$label: qemu-img convert -O raw = original"
  else
    fail "$label: qemu-img convert gives ${got:-nothing}, the original $WANT: $(cat "$TEST_TMPDIR/err")"
  fi
  rm -f "$TEST_TMPDIR/read.raw"
  ((have_pyvmdk)) || return 0
  if got=$("${RC[@]}" pyvmdk-sha256 "$top" 2>&1) && [[ ${got%% *} == "$WANT" ]]; then
    ok "$label: libvmdk (following the hints, checking CIDs) = original"
  else
    fail "$label: libvmdk gives '$got', the original $WANT"
  fi
}
readers "original chain" orig/d2.vmdk

# clean_after LABEL TOP [options]: vmdkit check finds nothing, qemu-img check passes on every layer.
clean_after() {
  local label=$1 top=$2 f
  shift 2
  expect_exit 0 "$label: vmdkit check after repair" check.json -- "$VMDKIT" check "$@" "$top" --json
  check "$label: no finding left" "$PY" -c \
    "import json,sys; d=json.load(open('check.json')); sys.exit(len(d['findings']))"
  for f in $(qemu-img info --backing-chain -U "$top" | sed -n 's/^image: //p'); do
    check "$label: qemu-img check $f" qemu-img check -q -f vmdk "$f"
  done
}

# break_links DIR: d1's parent hint becomes the ESXi datastore path (in place, same descriptor size).
break_links() { "${RC[@]}" set-key "$1/d1.vmdk" parentFileNameHint "$ESXI_HINT"; }

# expect_broken LABEL TOP D1 [options]: check reports the missing parent and the absolute hint at
# d1's parentFileNameHint line, and qemu-img cannot open the chain.
expect_broken() {
  local label=$1 top=$2 d1=$3 at
  shift 3
  at=$("${RC[@]}" key-offset "$d1" parentFileNameHint)
  expect_exit 2 "$label: vmdkit check reports corruption" check.json -- "$VMDKIT" check "$@" "$top" --json
  check "$label: parent_missing at $(basename "$d1")+$at" "${RC[@]}" finding check.json parent_missing "$d1" "$at"
  check "$label: parent_hint_absolute warning at $(basename "$d1")+$at" \
    "${RC[@]}" finding check.json parent_hint_absolute "$d1" "$at" --severity warning
  if qemu-img info --backing-chain "$top" >/dev/null 2>&1; then
    fail "$label: qemu-img opens the chain with the parent renamed"
  else
    ok "$label: qemu-img cannot open the broken chain"
  fi
}

# 1. Copied to another folder, base renamed: the parent is found by CID beside the delta.
cp -r orig moved
mv moved/base.vmdk moved/moved-base.vmdk
break_links moved
expect_broken "renamed parent" moved/d2.vmdk moved/d1.vmdk
before=$(state moved)
expect_exit 0 "renamed parent: repair --dry-run (docs/cli.md: exit 0)" dry.json -- \
  "$VMDKIT" repair moved/d2.vmdk --dry-run --json
check "renamed parent: --dry-run plans the hint and leaves nothing unrepaired" "$PY" -c \
  "import json,sys; d=json.load(open('dry.json'))
sys.exit(d['unrepaired'] != [] or not any(a['code'] == 'parent_missing' for a in d['actions']))"
check "renamed parent: --dry-run changes nothing" test "$(state moved)" == "$before"
expect_exit 0 "renamed parent: repair" repair.json -- "$VMDKIT" repair moved/d2.vmdk --json
check "renamed parent: nothing lost" "$PY" -c \
  "import json,sys; sys.exit(len(json.load(open('repair.json'))['lost']))"
check "renamed parent: hint rewritten to moved-base.vmdk" \
  test "$("${RC[@]}" get-key moved/d1.vmdk parentFileNameHint)" == moved-base.vmdk
clean_after "renamed parent" moved/d2.vmdk
readers "renamed parent, repaired" moved/d2.vmdk
expect_exit 0 "renamed parent: repair --undo" undo.out -- "$VMDKIT" repair --undo moved/d2.vmdk
check "renamed parent: --undo restores every file byte for byte" test "$(state moved)" == "$before"

# 2. The parent in another folder, found with --search (the hint then leaves the delta's folder,
#    which vmdkit reads only with --allow-outside-paths).
mkdir -p split/vm split/store
cp orig/d1.vmdk orig/d2.vmdk split/vm/
cp orig/base.vmdk split/store/moved-base.vmdk
break_links split/vm
expect_broken "parent in another folder" split/vm/d2.vmdk split/vm/d1.vmdk --allow-outside-paths
before=$(state split)
expect_exit 2 "parent in another folder: repair without --search does not find it" repair.json -- \
  "$VMDKIT" repair split/vm/d2.vmdk --allow-outside-paths --json
check "parent in another folder: nothing changed without --search" test "$(state split)" == "$before"
expect_exit 0 "parent in another folder: repair --search split/store" repair.json -- \
  "$VMDKIT" repair split/vm/d2.vmdk --search split/store --allow-outside-paths --json
check "parent in another folder: hint rewritten to ../store/moved-base.vmdk" \
  test "$("${RC[@]}" get-key split/vm/d1.vmdk parentFileNameHint)" == ../store/moved-base.vmdk
clean_after "parent in another folder" split/vm/d2.vmdk --allow-outside-paths
readers "parent in another folder, repaired" split/vm/d2.vmdk --allow-outside-paths

# 3. Two copies of the parent (same CID) beside the delta: repair asks for --parent, then uses it.
mkdir given
cp orig/d1.vmdk orig/d2.vmdk given/
cp orig/base.vmdk given/base-a.vmdk
cp orig/base.vmdk given/base-b.vmdk
break_links given
expect_broken "two candidate parents" given/d2.vmdk given/d1.vmdk
before=$(state given)
expect_exit 2 "two candidate parents: repair without --parent refuses to choose" repair.json -- \
  "$VMDKIT" repair given/d2.vmdk --json
check "two candidate parents: nothing changed without --parent" test "$(state given)" == "$before"
expect_exit 0 "two candidate parents: repair --parent given/base-b.vmdk" repair.json -- \
  "$VMDKIT" repair given/d2.vmdk --parent given/base-b.vmdk --json
check "two candidate parents: hint rewritten to base-b.vmdk" \
  test "$("${RC[@]}" get-key given/d1.vmdk parentFileNameHint)" == base-b.vmdk
clean_after "two candidate parents" given/d2.vmdk
readers "two candidate parents, repaired" given/d2.vmdk

# 4. The base's CID changed: repaired only when the user accepts the parent as it is.
cp -r orig cid
"${RC[@]}" set-key cid/base.vmdk CID 0badc0de
at=$("${RC[@]}" key-offset cid/d1.vmdk parentCID)
expect_exit 2 "CID mismatch: vmdkit check reports corruption" check.json -- "$VMDKIT" check cid/d2.vmdk --json
check "CID mismatch: cid_mismatch at d1.vmdk+$at" "${RC[@]}" finding check.json cid_mismatch cid/d1.vmdk "$at"
if ((have_pyvmdk)); then
  if "${RC[@]}" pyvmdk-sha256 cid/d2.vmdk >/dev/null 2>&1; then
    fail "CID mismatch: libvmdk reads the chain although d1's parentCID is not the base's CID"
  else
    ok "CID mismatch: libvmdk refuses the chain before the repair"
  fi
fi
before=$(state cid)
expect_exit 2 "CID mismatch: repair without --accept-cid-mismatch" repair.json -- \
  "$VMDKIT" repair cid/d2.vmdk --json
check "CID mismatch: repair without --accept-cid-mismatch lists it unrepaired" "$PY" -c \
  "import json,sys; d=json.load(open('repair.json'))
sys.exit(not any(f['code'] == 'cid_mismatch' for f in d['unrepaired']))"
check "CID mismatch: repair without --accept-cid-mismatch changes nothing" test "$(state cid)" == "$before"
expect_exit 0 "CID mismatch: repair --accept-cid-mismatch" repair.json -- \
  "$VMDKIT" repair cid/d2.vmdk --accept-cid-mismatch --json
check "CID mismatch: d1's parentCID is now 0badc0de" \
  test "$("${RC[@]}" get-key cid/d1.vmdk parentCID)" == 0badc0de
clean_after "CID mismatch" cid/d2.vmdk
readers "CID mismatch, repaired" cid/d2.vmdk
finish
