#!/bin/bash
# Committed fixtures must match their specs: every fixtures/specs/*.json is rebuilt and compared
# with fixtures/generated/<spec>/ file by file. A drift names the file and the first differing byte
# (cmp output); files missing or extra on either side fail too. Regenerate with
#   vmdkit fixture build fixtures/specs/NAME.json -o fixtures/generated/NAME --overwrite
source "$(dirname "$0")/common.bash"
: "${SOURCE_DIR:?SOURCE_DIR must name the project root}"
SPECS="$SOURCE_DIR/fixtures/specs"
GENERATED="$SOURCE_DIR/fixtures/generated"

specs=("$SPECS"/*.json)
[ -e "${specs[0]}" ] || { echo "no specs in $SPECS" >&2; exit 1; }
for spec in "${specs[@]}"; do
  name=$(basename "$spec" .json)
  if [ ! -d "$GENERATED/$name" ]; then
    fail "$name: fixtures/generated/$name is missing (build it from $spec and commit it)"
    continue
  fi
  expect_exit 0 "$name: rebuild" -- "$VMDKIT" fixture build "$spec" -o "$name"
  built=$(cd "$name" && ls -A | sort)
  committed=$(cd "$GENERATED/$name" && ls -A | sort)
  if [ "$built" != "$committed" ]; then
    fail "$name: files differ: built [$(echo $built)], committed [$(echo $committed)]"
  fi
  drift=0
  for f in $built; do
    [ -e "$GENERATED/$name/$f" ] || continue
    if ! msg=$(cmp "$GENERATED/$name/$f" "$name/$f" 2>&1); then
      fail "$name: fixtures/generated/$name/$f drifted from its spec: $msg"
      drift=1
    fi
  done
  [ "$drift" = 0 ] && pass "$name: committed files match the spec"
done

# Generated folders without a spec are stale.
for dir in "$GENERATED"/*/; do
  [ -d "$dir" ] || continue
  name=$(basename "$dir")
  [ -e "$SPECS/$name.json" ] || fail "fixtures/generated/$name has no spec fixtures/specs/$name.json"
done
finish
