#!/bin/bash
# One JSON vocabulary: every key that any --json report prints (info, chain, map, convert, compare,
# write, create, snapshot, fixture build, consolidate, check, repair, repair --undo, repair
# --rebuild-descriptor, and the error object) is in the vocabulary table of docs/json-output.md,
# with that command listed and a value of the type the table gives; and the keys that name the same
# thing agree across commands (capacity, create_type, cid, path, files, undo_log).
# ctest-cost: 15
source "$(dirname "$0")/common.bash"
: "${SOURCE_DIR:?SOURCE_DIR must name the project root}"
SPECS="$SOURCE_DIR/fixtures/specs"
mkdir -p j n

# run NAME -- vmdkit arguments: the JSON report goes to j/NAME.json (any exit status: check and
# repair exit 2 or 4 on damaged disks, chain 1 on a broken link).
run() {
  local name=$1; shift 2
  "$VMDKIT" "$@" --json >"j/$name.json" 2>"j/$name.err"
  [ -s "j/$name.json" ] || fail "$name: no JSON: $(head -c 300 "j/$name.err")"
  if [ "$name" != error ] && grep -q '^  "error": {' "j/$name.json"; then fail "$name: $(head -c 300 "j/$name.err")"; fi
}

run fixture -- fixture build "$SPECS/chain.json" -o c
"$VMDKIT" fixture build "$SPECS/damaged-header.json" -o d >/dev/null 2>&1 || fail "fixture build damaged-header"
"$VMDKIT" fixture build "$SPECS/damaged-cid.json" -o m >/dev/null 2>&1 || fail "fixture build damaged-cid"
run create -- create n/disk.vmdk --size 4M --type monolithicSparse --seed 7
run create_flat -- create n/flat.vmdk --size 1M --type monolithicFlat --seed 8
run info -- info c/chain-000003.vmdk
run info_base -- info n/disk.vmdk
run info_flat -- info n/flat.vmdk
run info_damaged -- info d/badgd.vmdk
run chain -- chain c/chain-000003.vmdk
run chain_broken -- chain m/cidbase-000001.vmdk
run map -- map c/chain-000003.vmdk
run snapshot -- snapshot n/disk.vmdk --seed 9
run write -- write n/disk-000001.vmdk --offset 4096 --pattern 0x5a --length 70000 --seed 10
run convert -- convert c/chain-000003.vmdk n/export.vmdk --to streamOptimized --seed 11
run convert_raw -- convert c/chain-000003.vmdk n/export.raw --to raw
run compare -- compare c/chain-000003.vmdk n/export.raw
run compare_diff -- compare c/chain-000003.vmdk c/chain-000002.vmdk
run check -- check d/badgd.vmdk
run check_chain -- check m/cidbase-000001.vmdk
cp -r d r
run repair -- repair r/badgd.vmdk
run repair_dry -- repair m/cidbase-000001.vmdk --dry-run
run undo -- repair --undo r/badgd.vmdk
# A disk whose grain table entry 0 is damaged in both copies: repair loses the range and keeps the
# grain it pointed at (lost[] and kept[] of the report).
"$VMDKIT" create -q n/lossy.vmdk --size 1M --grain-size 4K --seed 3 &&
  "$VMDKIT" write -q n/lossy.vmdk --offset 0 --pattern 7 --length 8192 --seed 4 || fail "make the lossy disk"
"$PY" - n/lossy.vmdk <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
rgd, gd = struct.unpack_from("<QQ", data, 48)  # sparse header: rgdOffset, gdOffset (sectors)
for directory in (gd, rgd):
    table = struct.unpack_from("<I", data, directory * 512)[0]
    struct.pack_into("<I", data, table * 512, 0xFFFFFF00)  # entry 0 points far past the end
open(sys.argv[1], "wb").write(data)
PY
run repair_lossy -- repair n/lossy.vmdk
# Consolidating the middle of the chain re-links its child (relinks[] of the plan).
cp -r c k
run consolidate -- consolidate k/chain-000002.vmdk --seed 12
run consolidate_dry -- consolidate c/chain-000003.vmdk --dry-run
rm n/flat.vmdk
run rebuild -- repair --rebuild-descriptor n/flat-flat.vmdk --seed 13
run error -- info nosuch.vmdk

"$PY" - "$SOURCE_DIR/docs/json-output.md" j <<'PY' && pass "every key is in the vocabulary, for its command, with its type" || fail "JSON keys against the vocabulary table"
import json, os, re, sys

doc, folder = sys.argv[1], sys.argv[2]
# The vocabulary table: | `key`, `key2` | meaning | type | commands |
vocabulary = {}
text = open(doc).read()
section = text.split("## Vocabulary", 1)[1].split("\n## ", 1)[0]
for line in section.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 4 or not cells[0].startswith("`"):
        continue
    types = {t.strip() for t in cells[2].split(" or ")}
    commands = {c.strip() for c in cells[3].split(",")}
    for key in re.findall(r"`([a-z_]+)`", cells[0]):
        assert key not in vocabulary, f"{key} has two rows in the vocabulary table"
        vocabulary[key] = (types, commands)
assert len(vocabulary) > 50, len(vocabulary)

def type_name(value):
    if value is None: return "null"
    if isinstance(value, bool): return "bool"
    if isinstance(value, int): return "integer"
    if isinstance(value, str): return "string"
    if isinstance(value, list): return "array"
    return "object"

# Objects whose keys are names from the files (descriptor keys, header fields, file names).
FREE = {"header", "ddb", "sizes"}
problems = []
def walk(command, value, where):
    if isinstance(value, list):
        for item in value:
            walk(command, item, where + "[]")
    elif isinstance(value, dict):
        for key, item in value.items():
            at = f"{where}.{key}" if where else key
            if key not in vocabulary:
                problems.append(f"{command}: {at} is not in the vocabulary table")
                continue
            types, commands = vocabulary[key]
            if command not in commands:
                problems.append(f"{command}: {at} is in the table but not for {command} ({sorted(commands)})")
            if type_name(item) not in types:
                problems.append(f"{command}: {at} is {type_name(item)}, the table says {' or '.join(sorted(types))}")
            if key not in FREE:
                walk(command, item, at)

names = {"fixture": "fixture", "create": "create", "create_flat": "create", "info": "info", "info_base": "info",
         "info_flat": "info", "info_damaged": "info", "chain": "chain", "chain_broken": "chain", "map": "map",
         "snapshot": "snapshot", "write": "write", "convert": "convert", "convert_raw": "convert",
         "compare": "compare", "compare_diff": "compare", "check": "check", "check_chain": "check",
         "repair": "repair", "repair_dry": "repair", "repair_lossy": "repair", "undo": "undo", "consolidate": "consolidate",
         "consolidate_dry": "consolidate", "rebuild": "rebuild", "error": "error"}
reports = {}
for name, command in names.items():
    reports[name] = json.load(open(os.path.join(folder, name + ".json")))
    walk(command, reports[name], "")
for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

"$PY" - j <<'PY' && pass "the same key says the same thing across commands" || fail "keys disagree across commands"
import json, os, sys
r = {n[:-5]: json.load(open(os.path.join(sys.argv[1], n))) for n in os.listdir(sys.argv[1]) if n.endswith(".json")}
# The disk type: create_type in create, info, chain, snapshot, convert, rebuild.
assert r["create"]["create_type"] == r["info_base"]["create_type"] == "monolithicSparse"
assert r["snapshot"]["create_type"] == "monolithicSparse"
assert r["convert"]["create_type"] == "streamOptimized" and r["convert_raw"]["create_type"] is None
assert r["rebuild"]["create_type"] == r["create_flat"]["create_type"] == "monolithicFlat"
assert all(l["create_type"] == r["info"]["create_type"] for l in r["chain"]["layers"])
# The size of a disk: capacity everywhere.
cap = r["info"]["capacity"]
assert r["chain"]["layers"][0]["capacity"] == r["map"]["capacity"] == r["convert"]["capacity"] == cap
assert r["compare"]["a"]["capacity"] == r["compare"]["b"]["capacity"] == cap
assert r["create"]["capacity"] == r["info_base"]["capacity"] == 4 << 20
# CIDs: the one create and snapshot print is the one info reads; write's old_cid is snapshot's cid.
assert r["create"]["cid"] == r["info_base"]["cid"] == r["snapshot"]["parent_cid"]
assert r["write"]["old_cid"] == r["snapshot"]["cid"]
assert r["chain"]["layers"][0]["cid"] == r["info"]["cid"]
# Paths: the disk the command made or acted on exists under the name it printed.
for name in ("create", "snapshot", "convert", "write", "rebuild", "info", "check", "repair"):
    assert os.path.exists(r[name]["path"]), (name, r[name]["path"])
# files: lists of names or paths of files that exist.
for name in ("create", "snapshot", "convert", "check"):
    assert all(isinstance(f, str) and os.path.exists(f) for f in r[name]["files"]), (name, r[name]["files"])
assert all(os.path.exists(os.path.join(r["fixture"]["output_dir"], f)) for f in r["fixture"]["files"])
assert r["repair_lossy"]["lost"] and r["repair_lossy"]["kept"] and r["consolidate"]["plan"]["relinks"]
# The undo log: repair names the log that undo applies.
assert r["repair"]["undo_log"] and os.path.basename(r["undo"]["undo_log"]) == os.path.basename(r["repair"]["undo_log"])
# Absent values are null, not missing or empty: a ZERO-less flat extent has its offset, a damaged
# extent null details, a map range without data a null file.
e = r["info_damaged"]["extents"][0]
assert e["format"] is None and e["header"] is None and e["problem"], e
assert r["info_flat"]["extents"][0]["offset"] == 0
assert all(x["file"] is None for x in r["map"]["ranges"] if not x["data"])
assert r["info_base"]["parent_hint"] is None and r["rebuild"]["parent"] is None
PY

finish
