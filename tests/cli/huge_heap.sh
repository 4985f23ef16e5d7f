#!/bin/bash
# The tool asks for transparent huge pages for its malloc heap (cli/huge_heap.cpp): a running
# `vmdkit cat` has huge pages in its [heap] mapping wherever the kernel offers them. It fails on a
# binary that does not ask (the one before cli/huge_heap.cpp shows 0 KiB).
# ctest-cost: 5
source "$(dirname "$0")/common.bash"
[ -z "${VMDKIT_SANITIZED:-}" ] || { echo "skip: the sanitizers bring their own allocator"; exit 77; }
thp=/sys/kernel/mm/transparent_hugepage/enabled
if [ ! -r "$thp" ] || grep -q '\[never\]' "$thp"; then echo "skip: no transparent huge pages here"; exit 77; fi
# An empty 256 MiB sparse disk: cat's reads and buffers, no file data.
"$VMDKIT" create -q --seed 1 disk.vmdk --size 256M || exit 1

# KiB of huge pages in the [heap] of a `vmdkit cat` blocked on a pipe nobody reads (so that the
# process stays up while its mappings are looked at); "dead" when it ended first.
heap_huge_kib() {
  local reader pid huge=0
  exec 3> >(exec sleep 30 >/dev/null 2>&1)
  reader=$!
  "$VMDKIT" cat disk.vmdk >&3 2>/dev/null &
  pid=$!
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || { huge=dead; break; }
    huge=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { heap = ($NF == "[heap]") } heap && /^AnonHugePages:/ { kib += $2 }
                END { print kib + 0 }' "/proc/$pid/smaps" 2>/dev/null)
    [ "${huge:-0}" -ge 2048 ] && break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  exec 3>&-
  kill "$reader" 2>/dev/null
  echo "${huge:-0}"
}

# A second process when the first found none: the kernel may fail to find a free huge page once.
huge=$(heap_huge_kib)
[ "$huge" = dead ] || [ "$huge" -ge 2048 ] || huge=$(heap_huge_kib)
if [ "$huge" = dead ]; then fail "vmdkit cat ended before its pipe was read"
elif [ "$huge" -ge 2048 ]; then pass "the heap holds huge pages (${huge} KiB)"
else fail "no huge page in the heap of a running vmdkit (AnonHugePages ${huge} KiB)"; fi
finish
