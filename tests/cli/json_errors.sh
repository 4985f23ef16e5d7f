#!/bin/bash
# With --json an error is one JSON object on stdout ({"error": {"message", "file", "offset"}}) for
# every command that takes --json: a missing file, a damaged disk, a bad option. The exit status and
# the "vmdkit: error:" line on stderr are those of the same command without --json.
# ctest-cost: 30
source "$(dirname "$0")/common.bash"
: "${SOURCE_DIR:?SOURCE_DIR must name the project root}"

"$VMDKIT" fixture build "$SOURCE_DIR/fixtures/specs/damaged-header.json" -o d >/dev/null 2>&1 ||
  { fail "fixture build of the damaged disks"; finish; }
"$VMDKIT" create -q ok.vmdk --size 1M --seed 1 || { fail "create a sound disk"; finish; }

# is_error_json FILE WANT_FILE WANT_OFFSET: FILE is exactly one JSON object {"error": {...}} whose
# keys have their types; WANT_FILE/WANT_OFFSET "set" ask for a file name / an integer offset.
is_error_json() {
  "$PY" - "$@" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
doc = json.loads(text)  # one document: trailing text would make this fail
assert isinstance(doc, dict) and list(doc) == ["error"], doc
e = doc["error"]
assert list(e) == ["message", "file", "offset"], e
assert isinstance(e["message"], str) and e["message"], e
assert e["file"] is None or isinstance(e["file"], str), e
assert e["offset"] is None or (isinstance(e["offset"], int) and not isinstance(e["offset"], bool)), e
if sys.argv[2] == "set":
    assert e["file"], e
if sys.argv[3] == "set":
    assert e["offset"] is not None, e
PY
}

# case DESCRIPTION WANT_FILE WANT_OFFSET -- vmdkit arguments (without --json): runs them without
# and with --json (appended last) and compares.
case_() {
  local what=$1 want_file=$2 want_offset=$3; shift 4
  "$VMDKIT" "$@" >plain.out 2>plain.err
  local plain=$?
  "$VMDKIT" "$@" --json >json.out 2>json.err
  local got=$?
  if [ "$plain" -eq 0 ]; then fail "$what: the case does not fail (exit 0)"; return; fi
  [ "$got" -eq "$plain" ] || fail "$what: exit $got with --json, $plain without"
  grep -q '^vmdkit: error: ' json.err || fail "$what: stderr has no 'vmdkit: error:' line: $(head -c 300 json.err)"
  [ "$(grep '^vmdkit: error: ' json.err)" = "$(grep '^vmdkit: error: ' plain.err)" ] ||
    fail "$what: the stderr message changed with --json"
  if is_error_json json.out "$want_file" "$want_offset" 2>py.err; then
    pass "$what"
  else
    fail "$what: stdout is not one error object: $(head -c 400 json.out) $(tail -n 2 py.err)"
  fi
}

# A missing file, for every command that takes --json.
case_ "info: missing file" set - -- info nosuch.vmdk
case_ "chain: missing file" set - -- chain nosuch.vmdk
case_ "map: missing file" set - -- map nosuch.vmdk
case_ "convert: missing file" set - -- convert nosuch.vmdk out.vmdk --to monolithicSparse
case_ "compare: missing file (exit 2)" set - -- compare nosuch.vmdk ok.vmdk
case_ "write: missing file" set - -- write nosuch.vmdk --offset 0 --zero --length 512
case_ "create: a folder that does not exist" - - -- create nofolder/new.vmdk --size 1M
case_ "snapshot: missing file" set - -- snapshot nosuch.vmdk
case_ "fixture build: missing spec" set - -- fixture build nosuch.json -o out
case_ "consolidate: missing file" set - -- consolidate nosuch.vmdk
case_ "check: missing file" set - -- check nosuch.vmdk
case_ "repair: missing file" set - -- repair nosuch.vmdk
case_ "repair --undo: no undo log" - - -- repair --undo ok.vmdk
case_ "repair --rebuild-descriptor: missing extent" - - -- repair --rebuild-descriptor nosuch-flat.vmdk

# A damaged disk: the error names the file and the offset of the bad header field.
case_ "map: damaged header" set set -- map d/badgrain-000001.vmdk
case_ "convert: damaged header" set set -- convert d/badgrain-000001.vmdk out.raw --to raw
case_ "compare: damaged header (exit 2)" set set -- compare d/badgrain-000001.vmdk ok.vmdk
case_ "snapshot: damaged header" set set -- snapshot d/badgrain-000001.vmdk
case_ "write: damaged grain directory" set - -- write d/badgd.vmdk --offset 0 --zero --length 512
case_ "consolidate: damaged header" set set -- consolidate d/badgrain-000001.vmdk --dry-run
case_ "repair --rebuild-descriptor: damaged extent" set - -- repair --rebuild-descriptor d/badgrain-000001.vmdk --dry-run

# Bad options and values: usage errors from option parsing and from the command.
case_ "info: unknown option" - - -- info --no-such-option ok.vmdk
case_ "chain: missing PATH" - - -- chain
case_ "map: --width out of range" - - -- map ok.vmdk --width 0
case_ "map: bad --offset" - - -- map ok.vmdk --offset lots
case_ "convert: unknown --to" - - -- convert ok.vmdk out.vmdk --to nosuch
case_ "compare: unknown option (exit 2)" - - -- compare --no-such-option ok.vmdk ok.vmdk
case_ "write: --zero and --pattern together" - - -- write ok.vmdk --offset 0 --zero --pattern 1 --length 512
case_ "create: size not a multiple of 512" - - -- create new.vmdk --size 1000
case_ "snapshot: unknown --delta-format" - - -- snapshot ok.vmdk --delta-format nosuch
case_ "fixture build: missing -o" - - -- fixture build "$SOURCE_DIR/fixtures/specs/single.json"
case_ "consolidate: bad --seed" - - -- consolidate ok.vmdk --seed x
case_ "check: unknown option" - - -- check --no-such-option ok.vmdk
case_ "repair: --undo with --rebuild-descriptor" - - -- repair --undo --rebuild-descriptor ok.vmdk
case_ "repair: bad --parent-cid" - - -- repair --rebuild-descriptor ok.vmdk --parent-cid xyz
[ ! -e out.vmdk ] && [ ! -e out.raw ] && [ ! -e new.vmdk ] && pass "the failed commands wrote nothing" ||
  fail "a failed command left an output file"

# --json before the bad option counts as well as after it.
"$VMDKIT" check --json --no-such-option ok.vmdk >json.out 2>json.err
[ $? -eq 1 ] && is_error_json json.out - - && pass "--json given before the bad option" ||
  fail "--json before the bad option: $(head -c 300 json.out)"

# convert to standard output: stdout carries the image, so the error object goes to stderr, after
# the message, and stdout stays empty.
"$VMDKIT" convert --json nosuch.vmdk - --to raw >json.out 2>json.err
rc=$?
[ $rc -eq 1 ] && [ ! -s json.out ] && grep -q '^vmdkit: error: ' json.err &&
  sed -n '/^{/,$p' json.err >err.json && is_error_json err.json set - &&
  pass "convert to '-': the error object on stderr, nothing on stdout" ||
  fail "convert to '-': exit $rc, stdout $(head -c 200 json.out), stderr $(head -c 300 json.err)"

# A report that is not an error stays a report: a broken chain (exit 1) and a damaged disk's check.
"$VMDKIT" check d/badgd.vmdk --json >json.out 2>/dev/null
rc=$?
[ $rc -eq 2 ] && "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "error" not in d and d["findings"]' json.out &&
  pass "check of a damaged disk is a report (exit 2), not an error" || fail "check of a damaged disk: exit $rc"

# Commands without --json print no JSON for their errors.
"$VMDKIT" cat nosuch.vmdk >json.out 2>json.err
[ $? -eq 1 ] && [ ! -s json.out ] && pass "cat (no --json) prints nothing on stdout" || fail "cat printed on stdout"

finish
