#!/bin/bash
# vmdkit fixture build: every spec in fixtures/specs builds twice to byte-identical files; each built
# disk reads like a raw file that received the same writes with dd (vmdkit cat and qemu-img convert),
# passes qemu-img check (stream files also the layout-A checker); damaged specs fail cat with an
# error naming the damaged file and info lists it as damaged; --overwrite, refusals and JSON-path spec errors.
# ctest-cost: 38
source "$(dirname "$0")/common.bash"
need qemu-img
: "${SOURCE_DIR:?SOURCE_DIR must name the project root}"
SPECS="$SOURCE_DIR/fixtures/specs"

# Lists a spec as lines: "disk NAME LEAF CAPACITY", then "write OFFSET LENGTH KIND ARG" for every
# write from the base up, then "damage FILE KIND" (an independent reading of docs/fixture-spec.md).
describe() {
  "$PY" - "$1" <<'EOF'
import json, os, sys
spec_path = sys.argv[1]
spec = json.load(open(spec_path))
folder = os.path.dirname(spec_path)
def size(v):
    if isinstance(v, int): return v
    mult = 1
    if v[-1].upper() in "KMGT":
        mult = 1024 ** ("KMGT".index(v[-1].upper()) + 1); v = v[:-1]
    return int(v, 16 if v.lower().startswith("0x") else 10) * mult
for d in spec["disks"]:
    base = d["name"][:-5]
    layers = d.get("layers", [])
    leaf = d["name"] if not layers else "%s-%06d.vmdk" % (base, len(layers))
    print("disk", d["name"], leaf, size(d["capacity"]))
    for link in [d] + layers:
        for w in link.get("writes", []):
            off = size(w["offset"])
            if "pattern" in w:
                p = w["pattern"]; p = size(p) if isinstance(p, str) else p
                print("write", off, size(w["length"]), "pattern", "%02x" % p)
            elif "zero" in w:
                print("write", off, size(w["length"]), "zero", "-")
            else:
                path = os.path.join(folder, w["file"])
                n = size(w["length"]) if "length" in w else os.path.getsize(path)
                print("write", off, n, "file", path)
    for x in d.get("damage", []):
        kind = "field" if "field" in x else "bytes" if "offset" in x else "descriptor"
        print("damage", x["file"], kind)
EOF
}

# ref_raw SPEC DISK OUT: the raw image of DISK's leaf made with truncate and dd from the spec's writes.
ref_raw() {
  local spec=$1 disk=$2 out=$3 current="" kind off len arg
  rm -f "$out"
  while read -r kind a b c d; do
    if [ "$kind" = disk ]; then current=$a; [ "$a" = "$disk" ] && truncate -s "$c" "$out"; continue; fi
    [ "$kind" = write ] && [ "$current" = "$disk" ] || continue
    off=$a len=$b arg=$d
    case $c in
      pattern) head -c "$len" /dev/zero | tr '\0' "\\$(printf '%03o' "0x$arg")" ;;
      zero) head -c "$len" /dev/zero ;;
      file) head -c "$len" "$arg" ;;
    esac | dd of="$out" bs=64K seek="$off" oflag=seek_bytes conv=notrunc status=none
  done < <(describe "$spec")
}

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
      damaged=$(describe "$spec" | awk -v d="$disk" '$1=="disk"{cur=$2} $1=="damage" && cur==d {print $2; exit}')
      [ -n "$damaged" ] || continue
      expect_exit 1 "$name: cat $leaf fails" -- "$VMDKIT" cat "a/$name/$leaf"
      contains "$TEST_TMPDIR/err" "$damaged" "$name: cat error names $damaged"
      if describe "$spec" | awk -v d="$disk" '$1=="disk"{cur=$2} $1=="damage" && cur==d && $3!="descriptor"{f=1} END{exit !f}'; then
        # info lists a damaged extent as "error" with its damage and still exits 0 (docs/cli.md).
        expect_exit 0 "$name: info $damaged lists the damage" -- "$VMDKIT" info "a/$name/$damaged"
        contains "$TEST_TMPDIR/out" ": error (damaged: a/$name/$damaged: " "$name: info shows $damaged as damaged"
      fi
    done < <(describe "$spec")
    continue
  fi

  while read -r kind disk leaf _; do
    [ "$kind" = disk ] || continue
    ref_raw "$spec" "$disk" "ref-$name-$disk.raw"
    "$VMDKIT" cat "a/$name/$leaf" >"cat-$name-$disk.raw" || fail "$name: cat $leaf"
    cmp "cat-$name-$disk.raw" "ref-$name-$disk.raw" && pass "$name: vmdkit cat $leaf equals the dd image" ||
      fail "$name: vmdkit cat $leaf differs from the dd image"
    qemu-img convert -O raw "a/$name/$leaf" "qemu-$name-$disk.raw" || fail "$name: qemu-img convert $leaf"
    cmp "qemu-$name-$disk.raw" "ref-$name-$disk.raw" && pass "$name: qemu-img reads $leaf as the dd image" ||
      fail "$name: qemu-img reads $leaf differently from the dd image"
  done < <(describe "$spec")

  for f in "a/$name"/*.vmdk; do
    case $f in *-flat.vmdk | *-s[0-9][0-9][0-9].vmdk | *-f[0-9][0-9][0-9].vmdk) continue ;; esac
    out=$(qemu-img check -f vmdk "$f" 2>&1)
    rc=$?
    [ "$rc" -eq 0 ] && pass "$name: qemu-img check $(basename "$f")" || fail "$name: qemu-img check $f: exit $rc: $out"
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
