#!/bin/bash
# VMware's lock folders (vmdk-format.md 5.4): a `<file>.lck` folder beside a disk file means a
# VMware product has it open. Commands that would change the file refuse, naming the folder and
# saying what to do when it is stale; read commands go on with a warning; vmdkit never creates or
# removes such a folder.
source "$(dirname "$0")/common.bash"

"$VMDKIT" create -q disk.vmdk --size 4M --seed 1
"$VMDKIT" write -q disk.vmdk --offset 0 --length 64K --pattern 0x5a
mkdir disk.vmdk.lck && : >disk.vmdk.lck/M12345.lck
sum=$(sha256sum disk.vmdk)

expect_exit 1 "write is refused" -- "$VMDKIT" write disk.vmdk --offset 0 --length 512 --pattern 1
contains err "disk.vmdk.lck" "the refusal names the lock folder"
contains err "stale" "the refusal says what to do with a stale lock"
expect_exit 1 "repair is refused" -- "$VMDKIT" repair disk.vmdk
contains err "disk.vmdk.lck" "repair's refusal names the lock folder"
contains err "stale" "repair says what to do with a stale lock"
[ "$(sha256sum disk.vmdk)" = "$sum" ] && pass "the refused commands changed nothing" || fail "the disk changed"

expect_exit 0 "info goes on" -- "$VMDKIT" info disk.vmdk
contains err "warning: disk.vmdk.lck: lock folder" "info warns about the lock folder"
expect_exit 0 "cat goes on" -- "$VMDKIT" cat -q disk.vmdk
contains err "warning: disk.vmdk.lck: lock folder" "cat warns about the lock folder"
cmp -s out <(head -c 65536 /dev/zero | tr '\0' '\132'; head -c $((4 * 1048576 - 65536)) /dev/zero) &&
  pass "cat reads the disk" || fail "cat read something else"
expect_exit 0 "check goes on" -- "$VMDKIT" check disk.vmdk

# A descriptor whose flat extent has the lock folder: the extent is what VMware locks.
"$VMDKIT" create -q flat.vmdk --size 1M --type monolithicFlat --seed 2
mkdir flat-flat.vmdk.lck
expect_exit 1 "write into a disk whose extent has a lock folder" -- "$VMDKIT" write flat.vmdk --offset 0 --length 1 --zero
contains err "flat-flat.vmdk.lck" "the refusal names the extent's lock folder"
expect_exit 0 "info of that disk goes on" -- "$VMDKIT" info flat.vmdk
contains err "flat-flat.vmdk.lck" "info warns about the extent's lock folder"

[ -d disk.vmdk.lck ] && [ -e disk.vmdk.lck/M12345.lck ] && [ -d flat-flat.vmdk.lck ] &&
  pass "the lock folders are left alone" || fail "a lock folder was removed"
ls -d ./*.lck | grep -vqE '^\./(disk|flat-flat)\.vmdk\.lck$' && fail "a lock folder was created" || pass "no lock folder created"
finish
