#!/usr/bin/env bash
# Issue 14 finding 6: files used twice. Two extent lines of one disk over the same bytes of one file
# (by any name: the same name, a hard link, a symlink), or a flat line over its own descriptor,
# are refused by reading commands and reported by check (extents_share_file); a child whose extent
# line names its parent's file is refused by write, snapshot, consolidate and repair, leaves the
# parent untouched, and check reports it (layers_share_file). Lines over disjoint ranges of one
# flat file stay legal.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/common.bash"

# has_finding CODE: the check report in out lists a corruption CODE.
has_finding() {
  if $PY -c "
import json, sys
report = json.load(open('out'))
sys.exit(0 if any(f['code'] == '$1' and f['severity'] == 'corruption' for f in report['findings']) else 1)"; then
    pass "check lists $1"
  else
    fail "check does not list $1: $(head -c 600 out)"
  fi
}

# descriptor NAME LINE...: a hosted descriptor with the given extent lines.
descriptor() {
  local name=$1; shift
  { printf '# Disk DescriptorFile\nversion=1\nCID=0badf00d\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n'
    printf '# Extent description\n'; printf '%s\n' "$@"; } >"$name"
}

head -c $((256 * 1024)) /dev/urandom >data-flat.vmdk
ln data-flat.vmdk hard-flat.vmdk
ln -s data-flat.vmdk sym-flat.vmdk
descriptor disjoint.vmdk 'RW 256 FLAT "data-flat.vmdk" 0' 'RW 256 FLAT "data-flat.vmdk" 256'
descriptor overlap.vmdk 'RW 256 FLAT "data-flat.vmdk" 0' 'RW 256 FLAT "data-flat.vmdk" 128'
descriptor hardlink.vmdk 'RW 256 FLAT "data-flat.vmdk" 0' 'RW 256 FLAT "hard-flat.vmdk" 0'
descriptor symlink.vmdk 'RW 256 FLAT "sym-flat.vmdk" 64' 'RW 128 FLAT "data-flat.vmdk" 0'

expect_exit 0 "disjoint ranges of one flat file read" -- "$VMDKIT" cat disjoint.vmdk
expect_exit 0 "disjoint ranges of one flat file are clean" -- "$VMDKIT" check disjoint.vmdk
for disk in overlap hardlink symlink; do
  expect_exit 1 "$disk: cat refuses aliased extent lines" -- "$VMDKIT" cat $disk.vmdk
  contains err "use the same bytes of" "$disk: the error says why"
  expect_exit 1 "$disk: write refuses it" -- "$VMDKIT" write -q --offset 0 --pattern 1 --length 512 $disk.vmdk
  expect_exit 2 "$disk: check reports a corruption" -- "$VMDKIT" check --json $disk.vmdk
  has_finding extents_share_file
done

# A flat line over the descriptor file itself (NUL padded to a sector): a write would overwrite it.
descriptor self.vmdk 'RW 1 FLAT "self.vmdk" 0'
$PY -c "
import os
with open('self.vmdk', 'ab') as f: f.write(bytes(1024 - os.path.getsize('self.vmdk')))"
expect_exit 1 "self: cat refuses a line over its own descriptor" -- "$VMDKIT" cat self.vmdk
contains err "uses the descriptor file" "self: the error says why"
cp self.vmdk self.before
expect_exit 1 "self: write refuses it" -- "$VMDKIT" write -q --offset 0 --pattern 1 --length 512 self.vmdk
cmp -s self.vmdk self.before && pass "self: the descriptor is intact" || fail "self: the descriptor changed"
expect_exit 2 "self: check reports a corruption" -- "$VMDKIT" check --json self.vmdk
has_finding extents_share_file

# One sparse file named by two lines always aliases (its grains serve both halves of the disk).
"$VMDKIT" create -q --size 1M --seed 1 part.vmdk || fail "create part.vmdk"
descriptor twice.vmdk 'RW 2048 SPARSE "part.vmdk"' 'RW 2048 SPARSE "part.vmdk"'
expect_exit 1 "a sparse file named twice is refused" -- "$VMDKIT" cat twice.vmdk
expect_exit 2 "check reports it" -- "$VMDKIT" check --json twice.vmdk
has_finding extents_share_file

# A child whose extent line names its parent's file.
"$VMDKIT" create -q --size 1M --seed 2 base.vmdk || fail "create base.vmdk"
"$VMDKIT" write -q --offset 0 --pattern 0xab --length 65536 base.vmdk || fail "write base.vmdk"
cid=$("$VMDKIT" info --json base.vmdk | $PY -c "import json, sys; print(json.load(sys.stdin)['cid'])")
cat >child.vmdk <<DESC
# Disk DescriptorFile
version=1
CID=12345678
parentCID=$cid
createType="monolithicSparse"
parentFileNameHint="base.vmdk"

# Extent description
RW 2048 SPARSE "base.vmdk"
DESC
sum_before=$(sha256sum base.vmdk child.vmdk)
expect_exit 1 "write into the child is refused" -- "$VMDKIT" write -q --offset 0 --pattern 0xcd --length 512 child.vmdk
contains err "both use the file" "write says which layers share the file"
expect_exit 1 "snapshot of the child is refused" -- "$VMDKIT" snapshot -q --seed 4 child.vmdk
expect_exit 1 "consolidate is refused" -- "$VMDKIT" consolidate -q child.vmdk
expect_exit 1 "repair is refused" -- "$VMDKIT" repair -q child.vmdk
[ "$sum_before" = "$(sha256sum base.vmdk child.vmdk)" ] && pass "no file changed" || fail "a file changed"
[ -e child-000001.vmdk ] && fail "snapshot left child-000001.vmdk"
expect_exit 2 "check reports the shared file" -- "$VMDKIT" check --json child.vmdk
has_finding layers_share_file
contains out "layer 0 (child.vmdk) and layer 1 (base.vmdk)" "the finding names both layers"
# Reading it stays possible: the child reads what the parent's file holds.
expect_exit 0 "cat of the child still reads" -- "$VMDKIT" cat --length 512 child.vmdk
# A sound chain is not affected (in a folder of its own: child.vmdk would be a second child).
mkdir sound && cp base.vmdk sound/ && cd sound || exit 1
"$VMDKIT" snapshot -q --seed 5 base.vmdk >/dev/null || fail "snapshot of the sound base"
expect_exit 0 "write into a sound delta" -- "$VMDKIT" write -q --offset 0 --pattern 0xcd --length 512 base-000001.vmdk
expect_exit 0 "the sound chain is clean" -- "$VMDKIT" check base-000001.vmdk
finish
