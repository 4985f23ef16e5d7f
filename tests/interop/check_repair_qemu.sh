#!/bin/bash
# Interop half of tests/cli/check_repair.sh: qemu-io's `write -z` over a written grain of a
# zeroed-grain image leaks the old grain; check finds it (exit 3), repair reclaims it, qemu-img check
# accepts the result and the chain reads as before (moved from tests/cli for issue 15).
source "$(dirname "$0")/lib/cli_common.bash"
need qemu-img qemu-io
make_chain c

# qemu-io's `write -z` over a written grain of a zeroed-grain image sets the entry to 1 and leaks
# the old grain (vmdk-format.md 2.5): mid.vmdk of make_chain has one leaked grain at 0x30000.
expect_exit 3 "check finds qemu's leaked grain (exit 3: only leaks)" -- "$VMDKIT" check --json c/top.vmdk
"$PY" - "$TEST_TMPDIR/out" <<'PYEOF' && pass "check JSON keys and the leak" || fail "check JSON keys and the leak"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"path", "files", "findings", "corruptions", "leaks", "warning_count"}, d.keys()
assert d["files"][0] == "c/top.vmdk" and len(d["files"]) == 3, d["files"]
assert d["corruptions"] == 0 and d["leaks"] == 1, d
f = d["findings"][0]
assert (f["code"], f["severity"], f["file"], f["offset"], f["repairable"]) == \
    ("leaked_grains", "leak", "c/mid.vmdk", 0x30000, True), f
PYEOF
qemu-img convert -O raw c/top.vmdk before.raw
expect_exit 0 "repair reclaims the leak" -- "$VMDKIT" repair c/top.vmdk
contains out "reclaimed 0x10000 leaked bytes" "repair says what it reclaimed"
expect_exit 0 "clean afterwards" -- "$VMDKIT" check c/top.vmdk
[ "$(stat -c %s c/mid.vmdk)" -lt 393216 ] && pass "mid.vmdk shrank" || fail "mid.vmdk did not shrink"
qemu-img check -q c/mid.vmdk && pass "qemu-img check" || fail "qemu-img check after reclaiming"
expect_exit 0 "same content" -- "$VMDKIT" compare c/top.vmdk before.raw
finish
