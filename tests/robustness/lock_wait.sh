#!/bin/bash
# Locks and --wait: while a write holds a disk (caught at work and stopped with SIGSTOP), another
# write and a read (cat, info) are refused at once naming the writer's pid; --wait N keeps
# retrying for N seconds and then gives up with the same message; a command waiting with --wait
# goes on as soon as the holder finishes, and its data is there.
source "$(dirname "$0")/lock_common.bash"
make_expected
cd "$TEST_TMPDIR" || exit 1
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

new_chain d
"${LONG_WRITE[@]}" d/base-000001.vmdk >/dev/null 2>a_err &
holder=$!
stop_in_work "$holder" d/base-000001.vmdk || { kill -CONT "$holder"; wait; fail "could not catch the write at work"; finish; }

start=$(now_ms)
expect_exit 1 "a second write is refused" -- "${SHORT_WRITE[@]}" d/base-000001.vmdk
took=$(($(now_ms) - start))
contains err "held by pid $holder (" "the refusal names the holder's pid and command line"
contains err "--wait" "the refusal says how to wait"
[ "$took" -lt 3000 ] && pass "refused at once (${took} ms)" || fail "the refusal took ${took} ms"

expect_exit 1 "cat is refused while the disk is being written" -- "$VMDKIT" cat -q d/base-000001.vmdk
contains err "cannot lock it for reading: held by pid $holder" "cat's refusal names the writer"
expect_exit 1 "info is refused while the disk is being written" -- "$VMDKIT" info d/base-000001.vmdk
contains err "held by pid $holder" "info's refusal names the writer"

start=$(now_ms)
expect_exit 1 "--wait 0.6 gives up while the holder still holds" -- "${SHORT_WRITE[@]}" d/base-000001.vmdk --wait 0.6
took=$(($(now_ms) - start))
contains err "held by pid $holder" "after the wait the message names the holder"
[ "$took" -ge 550 ] && [ "$took" -lt 5000 ] && pass "it waited about 0.6 s (${took} ms)" || fail "--wait 0.6 took ${took} ms"

"${SHORT_WRITE[@]}" d/base-000001.vmdk --wait 30 >/dev/null 2>b_err &
waiter=$!
"$VMDKIT" cat -q d/base-000001.vmdk --wait 30 >cat.raw 2>c_err &
reader=$!
sleep 0.5
kill -0 "$waiter" 2>/dev/null && pass "a write with --wait 30 is still waiting" || fail "the write with --wait did not wait: $(cat b_err)"
kill -0 "$reader" 2>/dev/null && pass "a cat with --wait 30 is still waiting" || fail "the cat with --wait did not wait: $(cat c_err)"
kill -CONT "$holder"
wait "$holder" && pass "the holder finished" || fail "the holder failed: $(cat a_err)"
wait "$waiter" && pass "the waiting write went on when the holder finished" || fail "the waiting write failed: $(cat b_err)"
wait "$reader" && pass "the waiting cat went on" || fail "the waiting cat failed: $(cat c_err)"
same_content d/base-000001.vmdk E_AB "both writes" && pass "both writes are in the disk, check clean"
# The cat ran after the long write, before or after the short one.
cmp -s cat.raw E_A || cmp -s cat.raw E_AB && pass "the waiting cat read a whole state of the disk" ||
  fail "the cat read a mix"

# Nothing holds the disk any more: no wait needed.
expect_exit 0 "a write with nobody holding the disk" -- "$VMDKIT" write -q d/base-000001.vmdk --offset 0 --length 1 --pattern 0x22
finish
