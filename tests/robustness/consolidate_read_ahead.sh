#!/usr/bin/env bash
# Issue 16, acceptance 5 (consolidate): the copy reads the chain on reader threads, ahead of the
# writes into the base, instead of reading and then writing in turn on one thread; the base still
# reads as the leaf did. Fails on a binary that reads the chain in its main thread only.
# ctest-cost: 5
source "$(dirname "${BASH_SOURCE[0]}")/../cli/common.bash"
# LeakSanitizer cannot run under ptrace (strace): the sanitized run checks leaks everywhere else.
if [[ -n ${VMDKIT_SANITIZED:-} ]]; then export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"; fi
need strace cmp
strace -f -o /dev/null true 2>/dev/null || { echo "skip: strace cannot trace here"; exit 77; }

# 96 MiB base with data, a delta with grains in three map windows: several read batches.
"$VMDKIT" create -q --seed 1 base.vmdk --size 96M || exit 1
"$VMDKIT" write -q base.vmdk --offset 0 --pattern 0x11 --length 8M || exit 1
"$VMDKIT" snapshot -q --seed 2 base.vmdk >/dev/null || exit 1
leaf=$(ls -- *.vmdk | grep -v '^base.vmdk$')
for off in 1M 20M 40M 70M 90M; do "$VMDKIT" write -q "$leaf" --offset $off --pattern 0x22 --length 1M || exit 1; done
"$VMDKIT" cat "$leaf" > want.raw || exit 1

strace -f -qq -e trace=pread64,preadv,preadv2,io_uring_enter -o reads.trace "$VMDKIT" consolidate -q "$leaf" >/dev/null || exit 1
main=$(head -n 1 reads.trace | awk '{print $1}')
others=$(awk -v main="$main" '$1 != main' reads.trace | wc -l)
if [ "$others" -ge 1 ]; then pass "the chain is read on reader threads ($others read calls off the main thread)"
else fail "every chain read of the copy ran on the main thread"; fi
"$VMDKIT" cat base.vmdk | cmp -s - want.raw && pass "the base reads as the leaf did" || fail "base content differs"
finish
