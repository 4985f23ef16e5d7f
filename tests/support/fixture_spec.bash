# Fixture specs read independently of vmdkit (sourced by tests/cli/common.bash and
# tests/interop/fixture_build_qemu.sh): a spec's disks and writes as lines, and the raw image those
# writes make with truncate and dd, the reference a built disk must read as. Needs PY (a python3).

# Lists a spec as lines: "disk NAME LEAF CAPACITY", then "write OFFSET LENGTH KIND ARG LINK" for every
# write from the base (link 0) up, then "damage FILE KIND" (an independent reading of
# docs/fixture-spec.md).
describe_spec() {
  "$PY" - "$1" <<'PYEOF'
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
    for link, layer in enumerate([d] + layers):
        for w in layer.get("writes", []):
            off = size(w["offset"])
            if "pattern" in w:
                p = w["pattern"]; p = size(p) if isinstance(p, str) else p
                print("write", off, size(w["length"]), "pattern", "%02x" % p, link)
            elif "zero" in w:
                print("write", off, size(w["length"]), "zero", "-", link)
            else:
                path = os.path.join(folder, w["file"])
                n = size(w["length"]) if "length" in w else os.path.getsize(path)
                print("write", off, n, "file", path, link)
    for x in d.get("damage", []):
        kind = "field" if "field" in x else "bytes" if "offset" in x else "descriptor"
        print("damage", x["file"], kind)
PYEOF
}

# spec_raw SPEC DISK OUT [LINK]: the raw image that DISK's layers 0..LINK (default: all, i.e. the
# leaf) read as, made with truncate and dd from the spec's writes.
spec_raw() {
  local spec=$1 disk=$2 out=$3 top=${4:-999999} current="" kind off len arg link
  rm -f "$out"
  while read -r kind a b c d link; do
    if [ "$kind" = disk ]; then current=$a; [ "$a" = "$disk" ] && truncate -s "$c" "$out"; continue; fi
    [ "$kind" = write ] && [ "$current" = "$disk" ] && [ "$link" -le "$top" ] || continue
    off=$a len=$b arg=$d
    case $c in
      pattern) head -c "$len" /dev/zero | tr '\0' "\\$(printf '%03o' "0x$arg")" ;;
      zero) head -c "$len" /dev/zero ;;
      file) head -c "$len" "$arg" ;;
    esac | dd of="$out" bs=64K seek="$off" oflag=seek_bytes conv=notrunc status=none
  done < <(describe_spec "$spec")
}
