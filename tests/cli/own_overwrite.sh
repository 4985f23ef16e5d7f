#!/usr/bin/env bash
# Issue 14, finding 5: convert, create and fixture build refuse an existing DST (the descriptor or
# any extent file they would write) unless --overwrite, and refuse even then a DST that is a layer
# with children, a file another disk's descriptor names, or a file of the source.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

"$VMDKIT" create a.vmdk --size 4M -q && "$VMDKIT" write a.vmdk --offset 0 --pattern 0x5a --length 65536 -q || exit 1
"$VMDKIT" create other.vmdk --size 4M --type monolithicFlat -q &&
  "$VMDKIT" write other.vmdk --offset 0 --pattern 0x77 --length 4096 -q || exit 1
other_sum=$("$VMDKIT" cat other.vmdk -q | md5sum)

# An existing DST, then an existing extent file only.
"$VMDKIT" convert a.vmdk b.vmdk --to monolithicSparse -q || exit 1
b_sum=$(md5sum <b.vmdk)
expect_exit 1 "convert refuses an existing DST" -- "$VMDKIT" convert a.vmdk b.vmdk --to monolithicSparse -q
contains err "--overwrite" "the refusal names --overwrite"
[ "$(md5sum <b.vmdk)" = "$b_sum" ] && pass "the refused DST is untouched" || fail "the refused DST changed"
echo keep >c-s001.vmdk
expect_exit 1 "convert refuses an existing extent file of DST" -- \
  "$VMDKIT" convert a.vmdk c.vmdk --to twoGbMaxExtentSparse -q
[ "$(cat c-s001.vmdk)" = keep ] && [ ! -e c.vmdk ] && pass "nothing was written" || fail "the extent file was replaced"
expect_exit 0 "convert --overwrite replaces DST" -- "$VMDKIT" convert a.vmdk c.vmdk --to twoGbMaxExtentSparse --overwrite -q
expect_exit 0 "the replaced DST is clean" -- "$VMDKIT" check c.vmdk
cmp -s <("$VMDKIT" cat a.vmdk -q) <("$VMDKIT" cat c.vmdk -q) && pass "the new DST reads the source" || fail "the new DST differs"
# Replacing a two-file disk with a one-file one removes the old extent nobody names any more.
"$VMDKIT" convert a.vmdk d.vmdk --to monolithicFlat -q || exit 1
expect_exit 0 "convert --overwrite of a flat disk by a sparse one" -- \
  "$VMDKIT" convert a.vmdk d.vmdk --to monolithicSparse --overwrite -q
[ ! -e d-flat.vmdk ] && pass "the old extent is removed" || fail "d-flat.vmdk was left behind"

# create.
expect_exit 1 "create refuses an existing disk" -- "$VMDKIT" create b.vmdk --size 1M -q
expect_exit 0 "create --overwrite replaces it" -- "$VMDKIT" create b.vmdk --size 1M --overwrite -q
"$VMDKIT" info b.vmdk --json >out 2>err && contains out '"capacity": 1048576' "the new disk is the created one"

# A layer with children: never replaced, even with --overwrite; the child is named.
"$VMDKIT" convert a.vmdk p.vmdk --to monolithicSparse -q && "$VMDKIT" snapshot p.vmdk -q >/dev/null || exit 1
expect_exit 1 "convert --overwrite refuses a disk with a child" -- \
  "$VMDKIT" convert other.vmdk p.vmdk --to monolithicSparse --overwrite -q
contains err "p-000001.vmdk" "the refusal names the child"
expect_exit 0 "the child's chain still opens" -- "$VMDKIT" chain p-000001.vmdk
expect_exit 1 "create --overwrite refuses a disk with a child" -- "$VMDKIT" create p.vmdk --size 4M --overwrite -q
contains err "p-000001.vmdk" "create's refusal names the child"

# Another disk's file, and the source's own files.
expect_exit 1 "convert --overwrite refuses another disk's extent" -- \
  "$VMDKIT" convert a.vmdk other-flat.vmdk --to raw --overwrite -q
contains err "other.vmdk" "the refusal names the descriptor that owns it"
[ "$("$VMDKIT" cat other.vmdk -q | md5sum)" = "$other_sum" ] && pass "the other disk is intact" || fail "other.vmdk changed"
expect_exit 1 "convert refuses DST = SRC" -- "$VMDKIT" convert a.vmdk a.vmdk --to monolithicSparse --overwrite -q
expect_exit 1 "convert refuses DST = an extent of SRC" -- \
  "$VMDKIT" convert other.vmdk other-flat.vmdk --to raw --overwrite -q
ln other-flat.vmdk hard.raw
expect_exit 1 "convert refuses DST = a hard link of an extent of SRC" -- \
  "$VMDKIT" convert other.vmdk hard.raw --to raw --overwrite -q
[ "$("$VMDKIT" cat other.vmdk -q | md5sum)" = "$other_sum" ] && pass "the source is intact" || fail "other.vmdk changed"

# fixture build --overwrite never replaces a disk that has a child.
"$VMDKIT" fixture build "$SOURCE_DIR/fixtures/specs/single.json" -o fx -q >/dev/null 2>&1 ||
  "$VMDKIT" fixture build "$SOURCE_DIR/fixtures/specs/single.json" -o fx >/dev/null || exit 1
disk=$(cd fx && ls *.vmdk | head -1)
"$VMDKIT" snapshot "fx/$disk" -q >/dev/null || exit 1
expect_exit 1 "fixture build --overwrite refuses a disk with a child" -- \
  "$VMDKIT" fixture build "$SOURCE_DIR/fixtures/specs/single.json" -o fx --overwrite
contains err "000001.vmdk" "the refusal names the child"
finish
