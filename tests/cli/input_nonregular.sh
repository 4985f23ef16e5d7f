#!/bin/bash
# Finding 9 of issue 14: a FIFO, socket, character device or /proc file as the disk, an extent or
# --from is refused by name at once (never a hang: every command runs under timeout 10), and '-'
# reads standard input to its end for write --from and convert --from raw (an empty one is an error).
source "$(dirname "$0")/common.bash"

# bounded EXPECTED DESCRIPTION TEXT -- command...: the command ends within 10 s with EXPECTED and
# its error or report names TEXT (a hang is exit 124, a failure).
bounded() {
  local want=$1 what=$2 text=$3
  shift 4
  expect_exit "$want" "$what" -- timeout 10 "$@" </dev/null
  cat "$TEST_TMPDIR/err" "$TEST_TMPDIR/out" >"$TEST_TMPDIR/both"
  contains "$TEST_TMPDIR/both" "$text" "$what: says what the file is"
}

"$VMDKIT" create -q d.vmdk --size 4M --seed 1 || { echo "cannot create a disk" >&2; exit 1; }
"$VMDKIT" create -q --type monolithicFlat f.vmdk --size 1M --seed 2 || exit 1
mkfifo fifo.vmdk
sed 's/"f-flat.vmdk"/"fifo.vmdk"/' f.vmdk >fd.vmdk

bounded 1 "info on a FIFO" "FIFO" -- "$VMDKIT" info fifo.vmdk
bounded 1 "chain on a FIFO" "FIFO" -- "$VMDKIT" chain fifo.vmdk
bounded 1 "cat on a FIFO" "FIFO" -- "$VMDKIT" cat fifo.vmdk
bounded 1 "map on a FIFO" "FIFO" -- "$VMDKIT" map fifo.vmdk
bounded 1 "check on a FIFO" "FIFO" -- "$VMDKIT" check fifo.vmdk
bounded 2 "compare with a FIFO" "FIFO" -- "$VMDKIT" compare d.vmdk fifo.vmdk
bounded 1 "convert --from raw of a FIFO" "FIFO" -- "$VMDKIT" convert -q fifo.vmdk out.raw --to raw --from raw
bounded 1 "write --from a FIFO" "FIFO" -- "$VMDKIT" write -q d.vmdk --offset 0 --from fifo.vmdk
# An extent line naming the FIFO, even with --allow-outside-paths (which accepts devices, not FIFOs).
bounded 1 "cat of a disk whose extent is a FIFO" "FIFO" -- "$VMDKIT" cat --allow-outside-paths fd.vmdk
bounded 2 "check of a disk whose extent is a FIFO" "FIFO" -- "$VMDKIT" check --allow-outside-paths fd.vmdk
expect_exit 0 "info of a disk whose extent is a FIFO" -- timeout 10 "$VMDKIT" info --allow-outside-paths fd.vmdk
contains "$TEST_TMPDIR/out" "error (refused" "info shows the FIFO extent as refused"

# Other files that are not disks.
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' sock.vmdk
bounded 1 "info on a socket" "is a socket" -- "$VMDKIT" info sock.vmdk
bounded 1 "info on a character device" "character device" -- "$VMDKIT" info /dev/null
bounded 1 "write --from a /proc file" "procfs" -- "$VMDKIT" write -q d.vmdk --offset 0 --from /proc/self/status
bounded 1 "convert --from raw of a /proc file" "procfs" -- "$VMDKIT" convert -q /proc/self/status o.raw --to raw --from raw
# /dev/stdin on a pipe is the pipe: refused, with '-' named.
printf 'hello' | timeout 10 "$VMDKIT" write -q d.vmdk --offset 0 --from /dev/stdin >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -qF "'-'" "$TEST_TMPDIR/err"; then pass "write --from /dev/stdin on a pipe refused, naming '-'"
else fail "write --from /dev/stdin on a pipe: exit $rc: $(cat "$TEST_TMPDIR/err")"; fi

# '-' reads standard input to its end, in chunks (3 MiB: more than one).
head -c 3145728 /dev/urandom >data.bin
head -c 100000 data.bin | timeout 10 "$VMDKIT" write -q d.vmdk --offset 70000 --from - 2>"$TEST_TMPDIR/err"
rc=$?
[ "$rc" -eq 0 ] && pass "write --from - from a pipe" || fail "write --from -: exit $rc: $(cat "$TEST_TMPDIR/err")"
"$VMDKIT" cat d.vmdk --offset 70000 --length 100000 >back.bin 2>/dev/null
cmp -s back.bin <(head -c 100000 data.bin) && pass "the bytes from standard input are in the disk" ||
  fail "the bytes written from standard input differ"
printf '' | timeout 10 "$VMDKIT" write -q d.vmdk --offset 0 --from - >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "empty" "$TEST_TMPDIR/err"; then pass "write --from - of an empty input is an error"
else fail "write --from - of an empty input: exit $rc: $(cat "$TEST_TMPDIR/err")"; fi

cat data.bin | timeout 10 "$VMDKIT" convert -q - piped.vmdk --to monolithicSparse --from raw 2>"$TEST_TMPDIR/err"
rc=$?
[ "$rc" -eq 0 ] && pass "convert - --from raw from a pipe" || fail "convert - --from raw: exit $rc: $(cat "$TEST_TMPDIR/err")"
expect_exit 0 "the converted standard input has its bytes" -- timeout 10 "$VMDKIT" compare -q piped.vmdk data.bin
printf '' | timeout 10 "$VMDKIT" convert -q - empty.vmdk --to monolithicSparse --from raw >/dev/null 2>"$TEST_TMPDIR/err"
rc=$?
if [ "$rc" -eq 1 ] && [ ! -e empty.vmdk ]; then pass "convert of an empty standard input is an error"
else fail "convert of an empty standard input: exit $rc: $(cat "$TEST_TMPDIR/err")"; fi
expect_exit 1 "convert - without --from raw" -- timeout 10 "$VMDKIT" convert -q - x.vmdk --to monolithicSparse
contains "$TEST_TMPDIR/err" "--from raw" "convert - says to add --from raw"
# The spool is an unnamed file: nothing is left beside the output.
leftover=$(ls -A | grep -c vmdkit-stdin)
[ "$leftover" -eq 0 ] && pass "no temporary file left" || fail "temporary files left: $(ls -A)"
finish
