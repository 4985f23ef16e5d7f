#!/bin/bash
# Exit codes of repair (issue 14, "honest exit codes"): 0 fixed with nothing lost (a clean disk
# too), 4 finished but ranges lost, 2 findings remain, 1 could not run; a dry run returns what
# the real run would and writes nothing. The help texts say so.
source "$(dirname "$0")/common.bash"

make_disk() {
  "$PY" -c 'import random; open("w.bin","wb").write(random.Random(9).randbytes(200000))'
  "$VMDKIT" create "$1" --size 64M --seed 1 -q && "$VMDKIT" write "$1" --offset 0 --from w.bin --seed 2 -q ||
    { echo "set-up failed" >&2; exit 1; }
}
# poke_entry FILE ENTRY COPIES: entry ENTRY of grain table 0 far past the end, in the primary
# table ("p") or in both ("pr").
poke_entry() {
  "$PY" - "$@" <<'PYEOF'
import struct, sys
path, entry, copies = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d = open(path, "rb").read()
rgd, gd = struct.unpack_from("<QQ", d, 48)
with open(path, "r+b") as f:
    for directory in ([gd] if copies == "p" else [gd, rgd]):
        f.seek(struct.unpack_from("<I", d, directory * 512)[0] * 512 + 4 * entry)
        f.write(struct.pack("<I", 0x7FFF0000))
PYEOF
}

make_disk clean.vmdk
expect_exit 0 "a clean disk: 0" -- "$VMDKIT" repair clean.vmdk
expect_exit 0 "a clean disk, dry run: 0" -- "$VMDKIT" repair --dry-run clean.vmdk

make_disk restorable.vmdk && poke_entry restorable.vmdk 1 p
expect_exit 0 "damage repaired from the other copy, nothing lost: 0" -- "$VMDKIT" repair restorable.vmdk

make_disk lossy.vmdk && poke_entry lossy.vmdk 1 pr
before=$(sha256sum < lossy.vmdk)
expect_exit 4 "dry run of a repair that loses a range: 4, what the real run returns" -- \
  "$VMDKIT" repair --dry-run --json lossy.vmdk
contains out '"exit_status": 4' "the dry run's JSON says 4"
[ "$(sha256sum < lossy.vmdk)" = "$before" ] && pass "the dry run wrote nothing" || fail "the dry run changed the disk"
expect_exit 4 "repair that loses a range: 4" -- "$VMDKIT" repair lossy.vmdk
contains out "lost: lossy.vmdk bytes 0x10000+0x10000" "the lost range is listed"
"$VMDKIT" cat lossy.vmdk -q >/dev/null && pass "the disk reads afterwards" || fail "the disk does not read afterwards"

# A finding repair cannot fix by itself: a CID mismatch without --accept-cid-mismatch.
make_disk base.vmdk && "$VMDKIT" snapshot base.vmdk --seed 3 -q >/dev/null || fail "snapshot"
"$PY" - base-000001.vmdk <<'PYEOF'
import re, sys
p = sys.argv[1]
d = open(p, "rb").read()
open(p, "wb").write(re.sub(rb"parentCID=[0-9a-fA-F]{8}", b"parentCID=0badc0de", d, count=1))
PYEOF
expect_exit 2 "findings remain: 2" -- "$VMDKIT" repair base-000001.vmdk
expect_exit 2 "findings remain, dry run: 2" -- "$VMDKIT" repair --dry-run base-000001.vmdk
expect_exit 1 "could not run: 1" -- "$VMDKIT" repair missing.vmdk

expect_exit 0 "repair --help" -- "$VMDKIT" repair --help
contains out "4 finished but virtual ranges were lost" "repair --help names exit status 4"
expect_exit 0 "vmdkit --help" -- "$VMDKIT" --help
contains out "repair: 0 fixed with nothing lost, 4 fixed but ranges lost, 2 findings remain" \
  "the root help names repair's exit codes"
finish
