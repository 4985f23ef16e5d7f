#!/bin/bash
# vmdkit consolidate: a chain folded into its base reads as the old leaf; --into a middle layer
# re-links TOP's child (vmdkit chain ok); dry runs write nothing; siblings and locks are refused;
# flat bases; zero grains with and without zeroed-grain entries; a journal in stage "switch" is
# finished by running consolidate on the remaining child; damaged journals. (qemu-img reading and
# checking the results: tests/interop/consolidate_qemu.sh.)
# ctest-cost: 60
source "$(dirname "$0")/common.bash"
need sha256sum

jget() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$@"; }
digest() { "$VMDKIT" cat "$1" | sha256sum | cut -d' ' -f1; }
same() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: $1 != $2"; fi; }
gone() { if [ ! -e "$1" ]; then pass "$1 removed"; else fail "$1 still exists"; fi; }

# base <- 1 <- 2 <- 3 in folder $1 (64 MiB): data, overwrites, zero writes, unaligned ranges.
# Extra create options (e.g. --type monolithicFlat, --zeroed-grains) come after the folder.
make_chain() {
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
make_chain c1
want=$(digest c1/base-000003.vmdk)
expect_exit 0 "consolidate a 3-delta chain into its base" -- "$VMDKIT" consolidate c1/base-000003.vmdk --seed 5
[ "$(tail -n 1 out)" = "c1/base.vmdk" ] && pass "last line is the base" || fail "last line: $(tail -n 1 out)"
same "$(digest c1/base.vmdk)" "$want" "base reads as the old leaf"
for f in c1/base-000001.vmdk c1/base-000002.vmdk c1/base-000003.vmdk; do gone "$f"; done
ls -A c1 | grep -q vmdkit && fail "journal or temporary left: $(ls -A c1)" || pass "no journal left"
expect_exit 0 "check accepts the base" -- "$VMDKIT" check c1/base.vmdk
expect_exit 0 "vmdkit chain says ok" -- "$VMDKIT" chain c1/base.vmdk

# 2. TOP is a middle layer with a child: merged into another middle layer, the child re-linked.
make_chain c2
want3=$(digest c2/base-000003.vmdk)
want2=$(digest c2/base-000002.vmdk)
expect_exit 0 "consolidate a middle layer into the one below" -- \
  "$VMDKIT" consolidate c2/base-000002.vmdk --into c2/base-000001.vmdk --json
[ "$(jget out result)" = "c2/base-000001.vmdk" ] && pass "json result is the ancestor" || fail "json result $(jget out result)"
[ "$(jget out plan relinks 0 path)" = "c2/base-000003.vmdk" ] && pass "plan re-links the child" || fail "relinks: $(cat out)"
gone c2/base-000002.vmdk
same "$(digest c2/base-000001.vmdk)" "$want2" "ancestor reads as TOP did"
same "$(digest c2/base-000003.vmdk)" "$want3" "the re-linked child reads as before"
"$VMDKIT" chain --json c2/base-000003.vmdk >chain.json
[ "$(jget chain.json ok)" = True ] && pass "chain of the child is ok" || fail "chain: $(cat chain.json)"
[ "$(jget chain.json layers 1 path)" = "c2/base-000001.vmdk" ] && pass "child's parent is the ancestor" ||
  fail "parent $(jget chain.json layers 1 path)"
grep -a -q 'parentFileNameHint="base-000001.vmdk"' c2/base-000003.vmdk && pass "relative hint" || fail "hint text"
# Then the rest into the base: the child is re-linked again.
expect_exit 0 "consolidate the rest into the base" -- "$VMDKIT" consolidate c2/base-000001.vmdk -q
[ "$(cat out)" = "c2/base.vmdk" ] && pass "-q prints only the result" || fail "-q printed $(cat out)"
same "$(digest c2/base-000003.vmdk)" "$want3" "child still reads as before"

# 3. A dry run writes nothing.
make_chain c3
sums=$(sha256sum c3/* | sort)
expect_exit 0 "dry run" -- "$VMDKIT" consolidate c3/base-000003.vmdk --dry-run
contains out "plan (dry run)" "dry run says it is a plan"
[ "$(tail -n 1 out)" = "c3/base-000003.vmdk" ] && pass "dry run's last line is TOP" || fail "last line $(tail -n 1 out)"
same "$(sha256sum c3/* | sort)" "$sums" "dry run changed no file"
[ "$(ls -A c3 | wc -l)" = 4 ] && pass "dry run made no file" || fail "files: $(ls -A c3)"
expect_exit 0 "dry run --json" -- "$VMDKIT" consolidate c3/base-000003.vmdk --dry-run --json
[ "$(jget out done)" = False ] && [ "$(jget out plan merged 2)" = "c3/base-000001.vmdk" ] &&
  [ "$(jget out plan grains)" -gt 0 ] && pass "json plan" || fail "json plan: $(cat out)"

# 4. A sibling anywhere in the merge is refused, naming it; --force does not help; a lock is refused.
"$VMDKIT" snapshot c3/base-000001.vmdk --force --seed 7 -q >/dev/null  # c3/base-000004.vmdk, sibling of 2
expect_exit 1 "sibling refused" -- "$VMDKIT" consolidate c3/base-000003.vmdk
contains err "base-000004.vmdk" "the error names the sibling"
expect_exit 1 "sibling refused with --force" -- "$VMDKIT" consolidate c3/base-000003.vmdk --force
expect_exit 1 "sibling refused in a dry run too" -- "$VMDKIT" consolidate c3/base-000003.vmdk --dry-run
same "$(sha256sum c3/base.vmdk c3/base-00000[1-3].vmdk | sort)" "$sums" "refusals changed no file"
rm c3/base-000004.vmdk
mkdir c3/base.vmdk.lck
expect_exit 1 "lock refused" -- "$VMDKIT" consolidate c3/base-000003.vmdk
contains err "base.vmdk.lck" "the error names the lock"
rmdir c3/base.vmdk.lck
expect_exit 1 "--into a layer outside the chain refused" -- "$VMDKIT" consolidate c3/base-000002.vmdk --into c3/base-000003.vmdk

# 5. A flat base is written in place.
make_chain c5 --type monolithicFlat
want=$(digest c5/base-000003.vmdk)
size_before=$(stat -c %s c5/base-flat.vmdk)
expect_exit 0 "consolidate into a flat base" -- "$VMDKIT" consolidate c5/base-000003.vmdk
same "$(digest c5/base.vmdk)" "$want" "flat base reads as the old leaf"
same "$(stat -c %s c5/base-flat.vmdk)" "$size_before" "flat extent did not grow"
expect_exit 0 "check accepts the flat base" -- "$VMDKIT" check c5/base.vmdk

# 6. Zero grains: deltas with zeroed-grain entries over base data, into a base with and without
# zeroed-grain support; and into a non-base layer, where the grandparent's data must not show.
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
  cp -r "$d" "$d-into"
  expect_exit 0 "zero grains into a base ${zg:-without zeroed grains}" -- "$VMDKIT" consolidate "$d/base-000002.vmdk" --json
  [ "$(jget out plan zero_grains)" = 48 ] && pass "48 zero grains counted" || fail "zero grains $(jget out plan zero_grains)"
  same "$(digest "$d/base.vmdk")" "$want" "base reads zeros where the delta had them ${zg}"
  expect_exit 0 "zero grains into a middle layer" -- "$VMDKIT" consolidate "$d-into/base-000002.vmdk" --into "$d-into/base-000001.vmdk"
  same "$(digest "$d-into/base-000001.vmdk")" "$want" "middle layer hides the base's data with zeros ${zg}"
done

# 7. A journal in stage "switch" (the copy done, nothing switched yet) is finished by running
# consolidate on the remaining child. Merging an empty delta needs no copy, so the hand-made
# journal describes a state the real command passes through.
mkdir c7
"$VMDKIT" create c7/base.vmdk --size 16M --seed 1 -q && "$VMDKIT" write c7/base.vmdk --offset 0 --pattern 0x66 --length 4M -q &&
  "$VMDKIT" snapshot c7/base.vmdk --seed 2 -q >/dev/null && "$VMDKIT" snapshot c7/base-000001.vmdk --seed 3 -q >/dev/null &&
  "$VMDKIT" write c7/base-000002.vmdk --offset 3M --pattern 0x77 --length 2M -q || fail "journal chain"
want=$(digest c7/base-000002.vmdk)
"$VMDKIT" info --json c7/base.vmdk >b.json && "$VMDKIT" info --json c7/base-000002.vmdk >c.json
cat >c7/.base.vmdk.vmdkit-consolidate <<EOF
{"version": 1, "stage": "switch", "top": "base-000001.vmdk", "ancestor": "base.vmdk",
 "merged": ["base-000001.vmdk"], "removed": ["base-000001.vmdk"],
 "relinks": [{"path": "base-000002.vmdk", "old_hint": "base-000001.vmdk", "new_hint": "base.vmdk",
              "old_parent_cid": "$(jget c.json parent_cid)", "new_parent_cid": "0badcafe"}],
 "ancestor_cid": "$(jget b.json cid)", "new_ancestor_cid": "0badcafe"}
EOF
cp c7/.base.vmdk.vmdkit-consolidate journal.good
expect_exit 0 "a switch journal is finished from the remaining child" -- "$VMDKIT" consolidate c7/base-000002.vmdk
contains out "finished an interrupted consolidation" "says it finished an interrupted run"
gone c7/base-000001.vmdk
gone c7/.base.vmdk.vmdkit-consolidate
"$VMDKIT" info --json c7/base.vmdk >b.json
[ "$(jget b.json cid)" = 0badcafe ] && pass "ancestor got the journal's CID" || fail "cid $(jget b.json cid)"
same "$(digest c7/base-000002.vmdk)" "$want" "child reads as before"
expect_exit 0 "the finished chain is ok" -- "$VMDKIT" chain c7/base-000002.vmdk

# 8. Damaged journals are refused, naming the journal; nothing changes.
make_chain c8
sums=$(sha256sum c8/* | sort)
for bad in '{"version": 1, "stage": "copy"' \
  '{"version": 1, "stage": "switch", "top": "base-000003.vmdk", "ancestor": "base.vmdk", "merged": ["base-000003.vmdk"], "removed": ["../x.vmdk"], "relinks": [], "ancestor_cid": "1", "new_ancestor_cid": "2"}' \
  '{"version": 1, "stage": "switch", "top": "base-000003.vmdk", "ancestor": "base.vmdk", "merged": ["base-000003.vmdk"], "removed": ["base.vmdk"], "relinks": [], "ancestor_cid": "1", "new_ancestor_cid": "2"}' \
  '{"version": 7, "stage": "switch"}'; do
  printf '%s' "$bad" >c8/.base.vmdk.vmdkit-consolidate
  expect_exit 1 "damaged journal refused: ${bad:0:60}" -- "$VMDKIT" consolidate c8/base-000003.vmdk
  contains err ".base.vmdk.vmdkit-consolidate" "the error names the journal"
done
rm c8/.base.vmdk.vmdkit-consolidate
same "$(sha256sum c8/* | sort)" "$sums" "damaged journals changed no file"

finish
