#!/usr/bin/env bash
# Issue 14, finding 4: consolidate removes only files no other descriptor in the folder names. A
# merged layer whose extent line names other-flat.vmdk (the data of an unrelated disk) no longer
# deletes it: the file is kept, listed ("kept: ... named by other.vmdk"), and other.vmdk reads as before.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

"$VMDKIT" create base.vmdk --size 4M -q && "$VMDKIT" write base.vmdk --offset 0 --pattern 0x11 --length 1M -q || exit 1
"$VMDKIT" create other.vmdk --size 4M --type monolithicFlat -q &&
  "$VMDKIT" write other.vmdk --offset 65536 --pattern 0x77 --length 65536 -q || exit 1
other_sum=$("$VMDKIT" cat other.vmdk -q | md5sum)
base_cid=$("$VMDKIT" info base.vmdk --json | sed -n 's/.*"cid": "\([0-9a-f]*\)".*/\1/p' | head -1)
[ -n "$base_cid" ] || { echo "no CID for base.vmdk" >&2; exit 1; }

# top.vmdk: a flat delta on base.vmdk whose extent is other.vmdk's data file.
sed -e "s/^parentCID=.*/parentCID=$base_cid/" -e 's/^createType=.*/createType="monolithicFlat"\nparentFileNameHint="base.vmdk"/' \
  -e 's/^CID=.*/CID=0badc0de/' other.vmdk >top.vmdk
expect_exit 0 "the crafted chain opens" -- "$VMDKIT" chain top.vmdk
top_sum=$("$VMDKIT" cat top.vmdk -q | md5sum)

expect_exit 0 "consolidate top.vmdk" -- "$VMDKIT" consolidate top.vmdk
contains out "kept:" "the report lists the kept file"
contains out "other-flat.vmdk, named by other.vmdk" "the kept file and the descriptor that names it"
if grep -q "remove:.*other-flat.vmdk" out; then fail "other-flat.vmdk is listed as removed"; else pass "other-flat.vmdk is not removed"; fi
[ -e other-flat.vmdk ] && pass "other-flat.vmdk still exists" || fail "other-flat.vmdk was deleted"
[ ! -e top.vmdk ] && pass "the merged descriptor is removed" || fail "top.vmdk was not removed"
[ "$("$VMDKIT" cat other.vmdk -q 2>/dev/null | md5sum)" = "$other_sum" ] && pass "other.vmdk reads as before" ||
  fail "other.vmdk lost its data"
expect_exit 0 "other.vmdk is clean" -- "$VMDKIT" check other.vmdk
[ "$("$VMDKIT" cat base.vmdk -q | md5sum)" = "$top_sum" ] && pass "base.vmdk holds the merged content" ||
  fail "base.vmdk differs from what top.vmdk read"

# JSON lists it too.
"$VMDKIT" create b2.vmdk --size 4M -q || exit 1
b2_cid=$("$VMDKIT" info b2.vmdk --json | sed -n 's/.*"cid": "\([0-9a-f]*\)".*/\1/p' | head -1)
sed -e "s/^parentCID=.*/parentCID=$b2_cid/" -e 's/^createType=.*/createType="monolithicFlat"\nparentFileNameHint="b2.vmdk"/' \
  other.vmdk >t2.vmdk
expect_exit 0 "consolidate --dry-run --json" -- "$VMDKIT" consolidate t2.vmdk --dry-run --json
contains out '"named_by": "other.vmdk"' "JSON names the descriptor that keeps the file"
finish
