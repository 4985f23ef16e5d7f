#!/bin/bash
# Read-only commands never write: every file of a chain (and of a broken one) is byte-identical
# and keeps its modification time after info, chain, map, cat, compare, check and repair --dry-run.
# ctest-cost: 60
source "$(dirname "$0")/common.bash"
need sha256sum
make_chain c
mkdir -p x && cp c/top.vmdk c/mid.vmdk x/ && "$VMDKIT" create -q --seed 1 x/base.vmdk --size 64M
chain_raw top.raw
snapshot() { (cd "$TEST_TMPDIR" && sha256sum c/* x/* top.raw && stat -c '%n %Y %s' c/* x/* top.raw); }
before=$(snapshot)

for d in c x; do
  for disk in $d/top.vmdk $d/mid.vmdk $d/base.vmdk; do
    "$VMDKIT" info "$disk" >/dev/null 2>&1
    "$VMDKIT" info --json "$disk" >/dev/null 2>&1
    "$VMDKIT" chain "$disk" >/dev/null 2>&1
    "$VMDKIT" chain --json "$disk" >/dev/null 2>&1
    "$VMDKIT" map "$disk" >/dev/null 2>&1
    "$VMDKIT" map --json --allow-cid-mismatch "$disk" >/dev/null 2>&1
    "$VMDKIT" cat "$disk" >/dev/null 2>&1
    "$VMDKIT" cat --allow-cid-mismatch --offset 1M --length 1M "$disk" >/dev/null 2>&1
    "$VMDKIT" compare "$disk" top.raw >/dev/null 2>&1
    "$VMDKIT" compare --allow-cid-mismatch top.raw "$disk" >/dev/null 2>&1
    "$VMDKIT" check "$disk" >/dev/null 2>&1
    "$VMDKIT" check --json "$disk" >/dev/null 2>&1
    "$VMDKIT" repair --dry-run "$disk" >/dev/null 2>&1
    "$VMDKIT" repair --dry-run --json --accept-cid-mismatch "$disk" >/dev/null 2>&1
  done
done
# convert reads its source read-only too.
"$VMDKIT" convert -q c/top.vmdk out.raw --to raw >/dev/null 2>&1 || fail "convert"

after=$(snapshot)
if [ "$before" = "$after" ]; then pass "no file changed"; else
  fail "files changed"; diff <(echo "$before") <(echo "$after") >&2
fi
ls -a c x | grep -qE 'vmdkit-tmp|\.lck' && fail "stray files created" || pass "no stray files"
finish
