#!/bin/bash
# vmdkit fixture build: every spec in fixtures/specs builds twice to byte-identical files; each built
# disk reads like a raw file that received the same writes with dd (vmdkit cat), stream files pass
# the layout-A checker; damaged specs fail cat with an error naming the damaged file and info lists
# it as damaged; --overwrite, refusals and JSON-path spec errors. (qemu-img convert and qemu-img
# check on the built disks: tests/interop/fixture_build_qemu.sh.)
# ctest-cost: 35
source "$(dirname "$0")/common.bash"
: "${SOURCE_DIR:?SOURCE_DIR must name the project root}"
SPECS="$SOURCE_DIR/fixtures/specs"

specs=("$SPECS"/*.json)
[ -e "${specs[0]}" ] || { echo "no specs in $SPECS" >&2; exit 1; }

for spec in "${specs[@]}"; do
  name=$(basename "$spec" .json)
  expect_exit 0 "$name: build" -- "$VMDKIT" fixture build "$spec" -o "a/$name"
  expect_exit 0 "$name: build again" -- "$VMDKIT" fixture build "$spec" -o "b/$name"
  if [ "$(ls -A "a/$name")" != "$(ls -A "b/$name")" ]; then
    fail "$name: the two builds made different files: $(ls -A "a/$name" | tr '\n' ' ') / $(ls -A "b/$name" | tr '\n' ' ')"
  fi
  same=1
  for f in "a/$name"/*; do cmp "$f" "b/$name/$(basename "$f")" || same=0; done
  [ "$same" = 1 ] && pass "$name: byte-identical builds" || fail "$name: builds differ"
  ls -A "a/$name" | grep -q vmdkit && fail "$name: staging left behind" || true

  if [[ $name == damaged-* ]]; then
    while read -r kind disk leaf _; do
      [ "$kind" = disk ] || continue
      damaged=$(describe_spec "$spec" | awk -v d="$disk" '$1=="disk"{cur=$2} $1=="damage" && cur==d {print $2; exit}')
      [ -n "$damaged" ] || continue
      expect_exit 1 "$name: cat $leaf fails" -- "$VMDKIT" cat "a/$name/$leaf"
      contains "$TEST_TMPDIR/err" "$damaged" "$name: cat error names $damaged"
      if describe_spec "$spec" | awk -v d="$disk" '$1=="disk"{cur=$2} $1=="damage" && cur==d && $3!="descriptor"{f=1} END{exit !f}'; then
        # info lists a damaged extent as "error" with its damage and still exits 0 (docs/cli.md).
        expect_exit 0 "$name: info $damaged lists the damage" -- "$VMDKIT" info "a/$name/$damaged"
        contains "$TEST_TMPDIR/out" ": error (damaged: a/$name/$damaged: " "$name: info shows $damaged as damaged"
      fi
    done < <(describe_spec "$spec")
    continue
  fi

  while read -r kind disk leaf _; do
    [ "$kind" = disk ] || continue
    spec_raw "$spec" "$disk" "ref-$name-$disk.raw"
    "$VMDKIT" cat "a/$name/$leaf" >"cat-$name-$disk.raw" || fail "$name: cat $leaf"
    cmp "cat-$name-$disk.raw" "ref-$name-$disk.raw" && pass "$name: vmdkit cat $leaf equals the dd image" ||
      fail "$name: vmdkit cat $leaf differs from the dd image"
  done < <(describe_spec "$spec")

  for f in "a/$name"/*.vmdk; do
    case $f in *-flat.vmdk | *-s[0-9][0-9][0-9].vmdk | *-f[0-9][0-9][0-9].vmdk) continue ;; esac
    if head -c 4 "$f" | grep -q KDMV && "$VMDKIT" info "$f" | grep -q 'create type: streamOptimized'; then
      "$PY" "$SOURCE_DIR/tests/support/stream_layout.py" "$f" >/dev/null && pass "$name: $(basename "$f") has layout A" ||
        fail "$name: stream layout of $f"
    fi
  done
done

# The chain spec really is a chain: three deltas, CIDs from the spec, zeroed grains in one delta.
"$VMDKIT" chain a/chain/chain-000003.vmdk >chain.txt 2>&1 && pass "chain: vmdkit chain opens the leaf" || fail "chain: $(cat chain.txt)"
grep -a -q 'CID=c0000003' a/chain/chain-000003.vmdk && grep -a -q 'parentCID=c0000002' a/chain/chain-000003.vmdk &&
  pass "chain: CIDs as in the spec" || fail "chain: CID or parentCID not as in the spec"
[ "$("$VMDKIT" info a/chain/chain-000002.vmdk | awk '$1=="version"{print $2}')" = 2 ] &&
  pass "chain: zeroed-grain delta has header version 2" || fail "chain: delta 2 is not version 2"

# Refusals: existing files without --overwrite (nothing changed), --overwrite replaces, spec errors.
sum=$(cat a/single/* | sha256sum)
expect_exit 1 "build into a folder holding the files" -- "$VMDKIT" fixture build "$SPECS/single.json" -o a/single
contains "$TEST_TMPDIR/err" "already exists" "refusal says the file exists"
[ "$(cat a/single/* | sha256sum)" = "$sum" ] && pass "refused build changed nothing" || fail "refused build changed files"
expect_exit 0 "--overwrite rebuilds" -- "$VMDKIT" fixture build "$SPECS/single.json" -o a/single --overwrite
[ "$(cat a/single/* | sha256sum)" = "$sum" ] && pass "--overwrite gives the same bytes" || fail "--overwrite changed bytes"
expect_exit 0 "--json" -- "$VMDKIT" fixture build "$SPECS/chain.json" -o json --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); n=d["files"]
assert n==["chain.vmdk","chain-000001.vmdk","chain-000002.vmdk","chain-000003.vmdk"], n
assert all(d["sizes"][f]>0 for f in d["files"])' "$TEST_TMPDIR/out" && pass "JSON report lists the files in build order" ||
  fail "JSON report: $(head -c 400 "$TEST_TMPDIR/out")"

mkdir -p bad && cp "$SPECS/data/ramp-5000.bin" bad/
printf '{"seed": 1, "disks": [{"name": "x.vmdk", "capacity": "1M", "writes": [{"offset": 0, "length": 1, "patern": 1}]}]}' >bad/typo.json
expect_exit 1 "unknown key in a spec" -- "$VMDKIT" fixture build bad/typo.json -o bad/out
contains "$TEST_TMPDIR/err" "disks[0].writes[0].patern: unknown key" "unknown key: JSON path in the message"
printf '{"disks": [{"name": "x.vmdk", "capacity": "1M", "layers": [{"writes": [{"offset": "1M", "length": 1, "pattern": 1}]}]}]}' >bad/range.json
expect_exit 1 "write past the capacity" -- "$VMDKIT" fixture build bad/range.json -o bad/out
contains "$TEST_TMPDIR/err" "disks[0].layers[0].writes[0]: range 0x100000+0x1 ends past the capacity 0x100000" "range: message"
[ -e bad/out ] && fail "a bad spec created the output folder" || pass "a bad spec writes nothing"

finish
