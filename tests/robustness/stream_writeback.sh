#!/usr/bin/env bash
# Issue 16, acceptance 5 (the I/O shape of streamOptimized export): the stream writer starts the
# write-out of its output file while it compresses (sync_file_range, SYNC_FILE_RANGE_WRITE, every
# 32 MiB emitted), so the device writes during the compression instead of all at once in the final
# fsync. Only with --sync: without it there is no fsync to prepare for (the file is left to the
# kernel, like cp's), and a pipe output gets no such call either. Fails on a binary that leaves the
# whole file to the fsync, or that makes an unsynced convert wait for the device.
# ctest-cost: 10
source "$(dirname "${BASH_SOURCE[0]}")/../cli/common.bash"
# LeakSanitizer cannot run under ptrace (strace): the sanitized run checks leaks everywhere else.
if [[ -n ${VMDKIT_SANITIZED:-} ]]; then export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"; fi
need strace cmp head
strace -f -o /dev/null true 2>/dev/null || { echo "skip: strace cannot trace here"; exit 77; }

# 48 MiB of random bytes stored uncompressed (level 0): the stream file passes 32 MiB at once.
head -c $((48 << 20)) /dev/urandom > raw.bin || exit 1
strace -f -qq -e trace=sync_file_range -o file.trace \
  "$VMDKIT" convert --from raw raw.bin out.vmdk --to streamOptimized --compress-level 0 --seed 1 --sync -q || exit 1
calls=$(grep -c 'sync_file_range(' file.trace)
if [ "$calls" -ge 1 ]; then pass "--sync: write-out started $calls time(s) while writing the stream file"
else fail "--sync: no sync_file_range while writing a 48 MiB stream file"; fi

mkdir nosync || exit 1   # the same file name: a stream file embeds its descriptor, which names it
strace -f -qq -e trace=sync_file_range -o nosync.trace \
  "$VMDKIT" convert --from raw raw.bin nosync/out.vmdk --to streamOptimized --compress-level 0 --seed 1 -q || exit 1
if grep -q 'sync_file_range(' nosync.trace; then fail "write-out forced without --sync"
else pass "no write-out call without --sync"; fi
cmp -s out.vmdk nosync/out.vmdk && pass "the same bytes with and without --sync" || fail "--sync changed the stream file"

# The same stream to a pipe: the bytes are identical and nothing asks for a write-out.
strace -f -qq -e trace=sync_file_range -o pipe.trace \
  "$VMDKIT" convert --from raw raw.bin - --to streamOptimized --compress-level 0 --seed 1 -q > piped.bin || exit 1
if grep -q 'sync_file_range(' pipe.trace; then fail "sync_file_range on a pipe output"; else pass "no write-out call for a pipe"; fi
"$VMDKIT" cat out.vmdk | cmp -s - raw.bin && pass "the stream file reads back as its source" || fail "stream file content differs"
finish
