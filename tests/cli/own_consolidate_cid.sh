#!/usr/bin/env bash
# Issue 14, finding 4: consolidate refuses to re-link a child of TOP whose link is already broken
# (its parentCID is not TOP's CID): re-linking would hide that finding. --accept-cid-mismatch (as
# repair takes it) re-links it anyway.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

"$VMDKIT" create base.vmdk --size 4M -q && "$VMDKIT" write base.vmdk --offset 0 --pattern 0x11 --length 64K -q || exit 1
"$VMDKIT" snapshot base.vmdk -q >/dev/null && "$VMDKIT" write base-000001.vmdk --offset 64K --pattern 0x22 --length 64K -q &&
  "$VMDKIT" snapshot base-000001.vmdk -q >/dev/null || exit 1
# Break the link of base-000002.vmdk: its embedded descriptor gets another parentCID (same length).
$PY - base-000002.vmdk <<'PY' || exit 1
import re, sys
data = bytearray(open(sys.argv[1], "rb").read())
m = re.search(rb"parentCID=([0-9a-f]{8})", data)
data[m.start(1):m.end(1)] = b"deadbeef" if m.group(1) != b"deadbeef" else b"feedface"
open(sys.argv[1], "wb").write(bytes(data))
PY
expect_exit 2 "check finds the broken link" -- "$VMDKIT" check base-000002.vmdk
mid_sum=$(md5sum <base-000001.vmdk)

expect_exit 1 "consolidate refuses to re-link a child whose link is broken" -- "$VMDKIT" consolidate base-000001.vmdk
contains err "base-000002.vmdk" "the refusal names the child"
contains err "--accept-cid-mismatch" "the refusal names the option"
[ -e base-000001.vmdk ] && [ "$(md5sum <base-000001.vmdk)" = "$mid_sum" ] && pass "nothing was changed" || fail "TOP changed"
expect_exit 2 "the finding is still there" -- "$VMDKIT" check base-000002.vmdk

expect_exit 0 "consolidate --accept-cid-mismatch re-links it" -- \
  "$VMDKIT" consolidate base-000001.vmdk --accept-cid-mismatch
[ ! -e base-000001.vmdk ] && pass "TOP is merged" || fail "TOP still exists"
expect_exit 0 "the re-linked chain opens" -- "$VMDKIT" chain base-000002.vmdk
finish
