#!/usr/bin/env bash
# Issue 16, acceptance 5 (depth 33 against depth 2): opening a chain of single-file layers under its
# shared locks reads each layer once. Each layer's file is locked before it is read (one descriptor
# for the lock, one for reading) and its descriptor text is read once, instead of the whole chain
# being opened a second time under the locks. Fails on a binary that opens the chain twice.
# ctest-cost: 5
source "$(dirname "${BASH_SOURCE[0]}")/../cli/common.bash"
# LeakSanitizer cannot run under ptrace (strace): the sanitized run checks leaks everywhere else.
if [[ -n ${VMDKIT_SANITIZED:-} ]]; then export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"; fi
need strace
strace -f -o /dev/null true 2>/dev/null || { echo "skip: strace cannot trace here"; exit 77; }

"$VMDKIT" create base.vmdk --size 64M -q || exit 1
top=base.vmdk
for _ in 1 2 3 4 5; do
  top=$("$VMDKIT" snapshot "$top" -q | tail -n 1) || exit 1  # it prints the new delta's name
  [ -f "$top" ] || { fail "snapshot did not name its new delta: $top"; finish; }
done
layers=$(ls -- *.vmdk | wc -l)
[ "$layers" -eq 6 ] || { fail "expected 6 layers, found $layers"; finish; }

strace -f -qq -e trace=openat,pread64 -o open.trace "$VMDKIT" cat "$top" > /dev/null || exit 1
for layer in *.vmdk; do
  opens=$(grep -c "openat(.*\"$layer\"" open.trace)
  if [ "$opens" -le 2 ]; then pass "$layer opened $opens time(s)"
  else fail "$layer opened $opens times (lock + read should be 2: the chain was opened again)"; fi
done
# The descriptor text (the pread of its descriptor area) is read once per layer.
texts=$(grep -c 'pread64(.*"# Disk DescriptorFile' open.trace)
if [ "$texts" -le "$layers" ]; then pass "$texts descriptor reads for $layers layers"
else fail "$texts descriptor reads for $layers layers (each layer read more than once)"; fi
# Locks are still taken on every layer.
if strace -f -qq -e trace=fcntl -o lock.trace "$VMDKIT" cat "$top" > /dev/null &&
   [ "$(grep -c 'F_OFD_SETLK.*F_RDLCK' lock.trace)" -ge "$layers" ]; then pass "every layer locked shared"
else fail "fewer shared locks than layers"; fi
finish
