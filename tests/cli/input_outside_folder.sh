#!/bin/bash
# Finding 12 of issue 14: a parent that exists outside the child's folder ("..", an absolute path,
# a symlink leading out) is the link state outside_folder, not missing_parent: chain reports it
# (text and JSON), reading commands refuse it naming --allow-outside-paths, check and repair name
# the option too, and with the option the chain reads.
source "$(dirname "$0")/common.bash"

# set_hint DELTA HINT: the parentFileNameHint of DELTA's embedded descriptor becomes HINT (the
# descriptor area keeps its size: the text takes from the NUL padding after it).
set_hint() {
  "$PY" - "$1" "$2" <<'PY'
import re, struct, sys
path, hint = sys.argv[1], sys.argv[2]
data = bytearray(open(path, "rb").read())
off, size = struct.unpack_from("<QQ", data, 28)
start, end = off * 512, (off + size) * 512
text = bytes(data[start:end]).split(b"\0")[0]
text = re.sub(rb'parentFileNameHint="[^"]*"', b'parentFileNameHint="' + hint.encode() + b'"', text, count=1)
data[start:end] = text + bytes(end - start - len(text))
open(path, "wb").write(data)
PY
}

# Children whose hint leads out of their folder, as qemu-img create -b writes a hint: as given,
# relative to the child's folder (b) or absolute (c).
mkdir -p a b c
"$VMDKIT" create -q --seed 1 a/base.vmdk --size 4M && "$VMDKIT" snapshot -q --seed 2 a/base.vmdk >/dev/null || exit 1
mv a/base-000001.vmdk b/child.vmdk && set_hint b/child.vmdk ../a/base.vmdk || exit 1
cp b/child.vmdk c/child.vmdk && set_hint c/child.vmdk "$TEST_TMPDIR/a/base.vmdk" || exit 1

expect_exit 1 "chain --json with a '..' parent" -- "$VMDKIT" chain --json b/child.vmdk
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "chain JSON: link outside_folder" || fail "chain JSON: $(head -c 600 "$TEST_TMPDIR/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is False
assert d["layers"][0]["link"] == "outside_folder", d["layers"][0]
assert any("--allow-outside-paths" in w for w in d["warnings"]), d["warnings"]
PY
expect_exit 1 "chain text with a '..' parent" -- "$VMDKIT" chain b/child.vmdk
contains "$TEST_TMPDIR/out" "outside_folder" "chain text names the link state"
contains "$TEST_TMPDIR/out" "--allow-outside-paths" "chain text names the option"
if grep -q "tried: nothing" "$TEST_TMPDIR/out"; then fail "chain text says 'tried: nothing'"; else pass "no 'tried: nothing'"; fi

expect_exit 1 "cat refuses the '..' parent" -- "$VMDKIT" cat b/child.vmdk
contains "$TEST_TMPDIR/err" "--allow-outside-paths" "cat's error names the option"
expect_exit 1 "cat refuses the absolute parent" -- "$VMDKIT" cat c/child.vmdk
contains "$TEST_TMPDIR/err" "--allow-outside-paths" "absolute hint: the error names the option"
expect_exit 1 "chain with an absolute parent hint" -- "$VMDKIT" chain --json c/child.vmdk
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["layers"][0]["link"] == "outside_folder", d' \
  "$TEST_TMPDIR/out" && pass "absolute hint: outside_folder" || fail "absolute hint: $(head -c 600 "$TEST_TMPDIR/out")"

# A symlink in the folder that leads out of it.
mkdir -p s && cp b/child.vmdk s/child.vmdk && ln -s ../a/base.vmdk s/base.vmdk
"$PY" - s/child.vmdk <<'PY'
import sys
p = sys.argv[1]
b = open(p, "rb").read()
b = b.replace(b'parentFileNameHint="../a/base.vmdk"', b'parentFileNameHint="base.vmdk"' + b" " * 5, 1)
open(p, "wb").write(b)
PY
expect_exit 1 "chain with a symlinked parent outside" -- "$VMDKIT" chain --json s/child.vmdk
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["layers"][0]["link"] == "outside_folder", d' \
  "$TEST_TMPDIR/out" && pass "symlink out: outside_folder" || fail "symlink out: $(head -c 600 "$TEST_TMPDIR/out")"

# A parent that is nowhere stays missing_parent (deep/m/../a/base.vmdk does not exist).
mkdir -p deep/m && cp b/child.vmdk deep/m/
expect_exit 1 "chain with a '..' hint to nothing" -- "$VMDKIT" chain --json deep/m/child.vmdk
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["layers"][0]["link"] == "missing_parent", d' \
  "$TEST_TMPDIR/out" && pass "hint to nothing: missing_parent" || fail "hint to nothing: $(head -c 600 "$TEST_TMPDIR/out")"

expect_exit 2 "check finds the outside parent" -- "$VMDKIT" check --json b/child.vmdk
"$PY" - "$TEST_TMPDIR/out" <<'PY' && pass "check: parent_outside_folder naming the option" || fail "check JSON: $(head -c 800 "$TEST_TMPDIR/out")"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["code"] == "parent_outside_folder"]
assert f and "--allow-outside-paths" in f[0]["message"], d["findings"]
assert not any(f["code"] == "parent_missing" for f in d["findings"]), d["findings"]
PY
expect_exit 2 "repair --search without the option" -- "$VMDKIT" repair b/child.vmdk --search a
contains "$TEST_TMPDIR/out" "--allow-outside-paths" "repair names the option"
contains "$TEST_TMPDIR/out" "parent_outside_folder" "repair names the finding"

expect_exit 0 "chain with --allow-outside-paths" -- "$VMDKIT" chain --allow-outside-paths b/child.vmdk
expect_exit 0 "check with --allow-outside-paths" -- "$VMDKIT" check --allow-outside-paths b/child.vmdk
finish
