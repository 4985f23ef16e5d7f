#!/usr/bin/env bash
# Interop: snapshot chains of depth 4 made with `qemu-img create -b` and written with qemu-io at
# unaligned offsets across grain and grain-table boundaries, with and without zeroed grains
# (`-o zeroed_grain=on`, `write -z`), over sparse, flat and streamOptimized bases. Every layer
# reads like qemu-img reads it, map agrees byte for byte, and `vmdkit chain --json` sees the links.
# ctest-cost: 71
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
interop_init

for kind in zeroed plain stream; do
  dir="$TEST_TMPDIR/$kind"
  name="c$kind"
  make_chain "$dir" "$name" "$kind"
  leaf="$dir/$name-000003.vmdk"
  base_file="$name.vmdk"
  [[ $kind == plain ]] && base_file="$name-flat.vmdk"
  for layer in "$name.vmdk" "$name-000001.vmdk" "$name-000002.vmdk"; do
    check_cat "$dir/$layer"
  done
  check_cat "$leaf" 33553000:70001 65535:3 1234000:400000 0:$((96 * 1024 * 1024))
  check_map "$leaf" --offsets --layers "$name-000003.vmdk,$name-000002.vmdk,$name-000001.vmdk,$base_file"
  check_map "$dir/$name-000001.vmdk" --offsets --layers "$name-000001.vmdk,$base_file"

  # The chain: four layers from the leaf down, every link intact.
  if "$VMDKIT" chain "$leaf" --json >"$TEST_TMPDIR/chain.json"; then
    if $PY - "$TEST_TMPDIR/chain.json" "$name" <<'PYEOF'; then
import json, sys
doc = json.load(open(sys.argv[1]))
name = sys.argv[2]
want = [f"{name}-000003.vmdk", f"{name}-000002.vmdk", f"{name}-000001.vmdk", f"{name}.vmdk"]
layers = doc["layers"]
assert doc["ok"] is True, "chain not ok"
assert [l["path"].rsplit("/", 1)[-1] for l in layers] == want, [l["path"] for l in layers]
assert [l["link"] for l in layers] == ["ok", "ok", "ok", "base"], [l["link"] for l in layers]
for child, parent in zip(layers, layers[1:]):
    assert child["parent_cid"] == parent["cid"], (child, parent)
assert all(l["capacity"] == 96 * 1024 * 1024 for l in layers)
PYEOF
      echo "ok: chain --json $name"
    else
      fail "vmdkit chain --json $name: unexpected layers: $(cat "$TEST_TMPDIR/chain.json")"
    fi
  else
    fail "vmdkit chain --json $(basename "$leaf") failed"
  fi
  rm -rf "$dir"
done
finish
