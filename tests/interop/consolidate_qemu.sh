#!/bin/bash
# Interop half of tests/cli/consolidate.sh: what vmdkit consolidate leaves reads in qemu-img as the
# old leaf read (a base, a re-linked child whose parentCID qemu checks, zero grains with and without
# zeroed-grain entries, a child after a finished "switch" journal) and passes qemu-img check (sparse
# and flat bases). The chains are made by vmdkit as in the cli test (moved from tests/cli for issue 15).
# ctest-cost: 35
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img sha256sum

jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$@"; }
digest() { "$VMDKIT" cat "$1" | sha256sum | cut -d' ' -f1; }
qdigest() { qemu-img convert -f vmdk -O raw "$1" "$TEST_TMPDIR/q.raw" && sha256sum <"$TEST_TMPDIR/q.raw" | cut -d' ' -f1; rm -f "$TEST_TMPDIR/q.raw"; }
same() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: $1 != $2"; fi; }

# base <- 1 <- 2 <- 3 in folder $1 (64 MiB), as tests/cli/consolidate.sh makes it.
make_vmdkit_chain() {
  local dir=$1; shift
  mkdir -p "$dir" && (
    cd "$dir" &&
      "$VMDKIT" create base.vmdk --size 64M --seed 1 -q "$@" &&
      "$VMDKIT" write base.vmdk --offset 0 --pattern 0x11 --length 10M -q &&
      "$VMDKIT" write base.vmdk --offset 40M --pattern 0x12 --length 2M -q &&
      "$VMDKIT" snapshot base.vmdk --seed 2 -q >/dev/null &&
      "$VMDKIT" write base-000001.vmdk --offset 5M --pattern 0x22 --length 3M -q &&
      "$VMDKIT" snapshot base-000001.vmdk --seed 3 -q >/dev/null &&
      "$VMDKIT" write base-000002.vmdk --offset 20M --pattern 0x33 --length 1M -q &&
      "$VMDKIT" write base-000002.vmdk --offset 1M --zero --length 2M -q &&
      "$VMDKIT" snapshot base-000002.vmdk --seed 4 -q >/dev/null &&
      "$VMDKIT" write base-000003.vmdk --offset 30000 --pattern 0x44 --length 100000 -q &&
      "$VMDKIT" write base-000003.vmdk --offset 33554000 --pattern 0x45 --length 1000 -q
  ) || { echo "could not build the chain in $dir" >&2; exit 1; }
}

# 1. base + 3 deltas into the base.
make_vmdkit_chain c1
want=$(digest c1/base-000003.vmdk)
expect_exit 0 "consolidate a 3-delta chain into its base" -- "$VMDKIT" consolidate c1/base-000003.vmdk --seed 5
same "$(qdigest c1/base.vmdk)" "$want" "qemu-img reads the base as the old leaf"
expect_exit 0 "qemu-img check accepts the base" -- qemu-img check c1/base.vmdk

# 2. TOP is a middle layer with a child: merged into another middle layer, the child re-linked.
make_vmdkit_chain c2
want3=$(digest c2/base-000003.vmdk)
expect_exit 0 "consolidate a middle layer into the one below" -- \
  "$VMDKIT" consolidate c2/base-000002.vmdk --into c2/base-000001.vmdk --json
same "$(qdigest c2/base-000003.vmdk)" "$want3" "qemu-img reads the re-linked child (parentCID checked)"
expect_exit 0 "consolidate the rest into the base" -- "$VMDKIT" consolidate c2/base-000001.vmdk -q
same "$(qdigest c2/base-000003.vmdk)" "$want3" "qemu-img still reads the child"

# 5. A flat base is written in place.
make_vmdkit_chain c5 --type monolithicFlat
expect_exit 0 "consolidate into a flat base" -- "$VMDKIT" consolidate c5/base-000003.vmdk
expect_exit 0 "qemu-img check accepts the flat base" -- qemu-img check c5/base.vmdk

# 6. Zero grains: deltas with zeroed-grain entries over base data, into a base with and without
# zeroed-grain support.
for zg in "" --zeroed-grains; do
  d=c6$zg
  mkdir -p "$d"
  "$VMDKIT" create "$d/base.vmdk" --size 16M --seed 1 -q $zg &&
    "$VMDKIT" write "$d/base.vmdk" --offset 0 --pattern 0x55 --length 8M -q &&
    "$VMDKIT" snapshot "$d/base.vmdk" --zeroed-grains --seed 2 -q >/dev/null &&
    "$VMDKIT" snapshot "$d/base-000001.vmdk" --zeroed-grains --seed 3 -q >/dev/null &&
    "$VMDKIT" write "$d/base-000002.vmdk" --offset 1M --zero --length 2M -q &&
    "$VMDKIT" write "$d/base-000002.vmdk" --offset 10M --zero --length 1M -q || { fail "zero chain $zg"; continue; }
  want=$(digest "$d/base-000002.vmdk")
  expect_exit 0 "zero grains into a base ${zg:-without zeroed grains}" -- "$VMDKIT" consolidate "$d/base-000002.vmdk" --json
  same "$(qdigest "$d/base.vmdk")" "$want" "qemu-img agrees ${zg}"
done

# 7. A journal in stage "switch" is finished by running consolidate on the remaining child.
mkdir c7
"$VMDKIT" create c7/base.vmdk --size 16M --seed 1 -q && "$VMDKIT" write c7/base.vmdk --offset 0 --pattern 0x66 --length 4M -q &&
  "$VMDKIT" snapshot c7/base.vmdk --seed 2 -q >/dev/null && "$VMDKIT" snapshot c7/base-000001.vmdk --seed 3 -q >/dev/null &&
  "$VMDKIT" write c7/base-000002.vmdk --offset 3M --pattern 0x77 --length 2M -q || fail "journal chain"
want=$(digest c7/base-000002.vmdk)
"$VMDKIT" info --json c7/base.vmdk >b.json && "$VMDKIT" info --json c7/base-000002.vmdk >c.json
cat >c7/.base.vmdk.vmdkit-consolidate <<JEOF
{"version": 1, "stage": "switch", "top": "base-000001.vmdk", "ancestor": "base.vmdk",
 "merged": ["base-000001.vmdk"], "removed": ["base-000001.vmdk"],
 "relinks": [{"path": "base-000002.vmdk", "old_hint": "base-000001.vmdk", "new_hint": "base.vmdk",
              "old_parent_cid": "$(jget c.json parent_cid)", "new_parent_cid": "0badcafe"}],
 "ancestor_cid": "$(jget b.json cid)", "new_ancestor_cid": "0badcafe"}
JEOF
expect_exit 0 "a switch journal is finished from the remaining child" -- "$VMDKIT" consolidate c7/base-000002.vmdk
same "$(qdigest c7/base-000002.vmdk)" "$want" "qemu-img reads the child"
finish
