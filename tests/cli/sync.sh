#!/bin/bash
# Durability on request (issue 16, DESIGN.md "Durability"), traced on the real binary with strace:
# new files (convert to a file or to standard output, create, fixture build) are renamed into place
# with no fsync at all by default, like cp and qemu-img; with --sync every new file is fsynced before
# its rename and the folder after it. Changes in place (write, snapshot's new delta) keep their
# fsyncs without any option. Skipped when strace is missing or cannot trace here.
# ctest-cost: 8
source "$(dirname "$0")/common.bash"
# LeakSanitizer cannot run under ptrace (strace): the sanitized run checks leaks everywhere else.
if [[ -n ${VMDKIT_SANITIZED:-} ]]; then export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"; fi
need strace
strace -f -o /dev/null true 2>/dev/null || { echo "skip: strace cannot trace in this environment"; exit 77; }

TRACE="$TEST_TMPDIR/trace"
# traced DESCRIPTION -- command...: runs the command under strace (paths of descriptors shown).
traced() {
  local what=$1; shift 2
  strace -f -y -qq -o "$TRACE" -e trace=fsync,fdatasync,sync_file_range,rename,renameat,renameat2,link "$@" \
    >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err"
  local got=$?
  if [ "$got" -eq 0 ]; then pass "$what: runs"; else fail "$what: exit $got; stderr: $(head -c 400 "$TEST_TMPDIR/err")"; fi
}
no_fsync() {
  if grep -qE 'fsync|fdatasync|sync_file_range' "$TRACE"; then
    fail "$1: fsyncs without --sync: $(grep -E 'fsync|fdatasync' "$TRACE" | head -n 3)"
  else
    pass "$1: no fsync without --sync"
  fi
}
# synced_before_rename DESCRIPTION FINAL: a file is fsynced before the rename that makes FINAL
# appear, and FINAL's folder is fsynced after that rename.
synced_before_rename() {
  local what=$1 final=$2
  local rename_line file_sync folder_sync
  rename_line=$(grep -nE "rename(at2?)?\(.*\"([^\"]*/)?$final\"" "$TRACE" | tail -n 1 | cut -d: -f1)
  file_sync=$(grep -nE 'fsync\([0-9]+<[^>]*(vmdkit-tmp|vmdkit-stage)[^>]*>\)' "$TRACE" | head -n 1 | cut -d: -f1)
  folder_sync=$(grep -nE "fsync\([0-9]+<$PWD>\)" "$TRACE" | tail -n 1 | cut -d: -f1)
  if [ -z "$rename_line" ]; then
    fail "$what: no rename to $final traced: $(head -c 600 "$TRACE")"
  elif [ -n "$file_sync" ] && [ "$file_sync" -lt "$rename_line" ]; then
    pass "$what: the new file is fsynced before its rename"
  else
    fail "$what: no fsync of the new file before the rename to $final: $(head -c 600 "$TRACE")"
  fi
  if [ -n "$folder_sync" ] && [ -n "$rename_line" ] && [ "$folder_sync" -gt "$rename_line" ]; then
    pass "$what: the folder is fsynced after the rename"
  else
    fail "$what: no fsync of the folder after the rename to $final"
  fi
}

"$VMDKIT" create --size 64M -q src.vmdk &&
  "$VMDKIT" write src.vmdk --offset 1M --length 3M --pattern 0x5a >/dev/null ||
  { echo "cannot build the source disk" >&2; exit 1; }

for type in raw monolithicSparse twoGbMaxExtentSparse monolithicFlat streamOptimized; do
  traced "convert --to $type" -- "$VMDKIT" convert --to "$type" -q src.vmdk "plain-$type.vmdk"
  no_fsync "convert --to $type"
  traced "convert --to $type --sync" -- "$VMDKIT" convert --to "$type" --sync -q src.vmdk "synced-$type.vmdk"
  synced_before_rename "convert --to $type --sync" "synced-$type.vmdk"
  cmp -s <("$VMDKIT" cat "plain-$type.vmdk" 2>/dev/null || cat "plain-$type.vmdk") \
    <("$VMDKIT" cat "synced-$type.vmdk" 2>/dev/null || cat "synced-$type.vmdk") &&
    pass "convert --to $type: the same bytes with and without --sync" ||
    fail "convert --to $type: --sync changed the content"
done

# Standard output is a new file too when redirected to one.
strace -f -y -qq -o "$TRACE" -e trace=fsync,fdatasync "$VMDKIT" convert --to streamOptimized -q src.vmdk - >stdout.vmdk
no_fsync "convert to standard output"
strace -f -y -qq -o "$TRACE" -e trace=fsync,fdatasync "$VMDKIT" convert --to raw --sync -q src.vmdk - >stdout.raw
grep -qE "fsync\([0-9]+<$PWD/stdout.raw>\)" "$TRACE" && pass "convert to standard output --sync: fsynced" ||
  fail "convert to standard output --sync: no fsync of the output: $(head -c 400 "$TRACE")"

for type in monolithicSparse twoGbMaxExtentFlat vmfsThin; do
  traced "create --type $type" -- "$VMDKIT" create --size 5G --type "$type" -q "plain-new-$type.vmdk"
  no_fsync "create --type $type"
  traced "create --type $type --sync" -- "$VMDKIT" create --size 5G --type "$type" --sync -q "synced-new-$type.vmdk"
  synced_before_rename "create --type $type --sync" "synced-new-$type.vmdk"
done

cat >spec.json <<'EOF'
{"seed": 3, "disks": [{"name": "one.vmdk", "capacity": "8M", "cid": "00000001"},
                      {"name": "two.vmdk", "capacity": "8M", "cid": "00000002", "type": "monolithicFlat"}]}
EOF
traced "fixture build" -- "$VMDKIT" fixture build spec.json -o built-plain
no_fsync "fixture build"
traced "fixture build --sync" -- "$VMDKIT" fixture build spec.json -o built-synced --sync
grep -qE 'fsync\([0-9]+<[^>]*vmdkit-tmp' "$TRACE" && pass "fixture build --sync: the new files are fsynced" ||
  fail "fixture build --sync: no fsync of a new file"
grep -qE "fsync\([0-9]+<$PWD/built-synced>\)" "$TRACE" && pass "fixture build --sync: DIR is fsynced" ||
  fail "fixture build --sync: DIR is not fsynced"

# Changes in place keep their ordered fsyncs without --sync.
traced "write" -- "$VMDKIT" write plain-monolithicSparse.vmdk --offset 8M --length 64K --pattern 0x11
grep -qE 'fsync\([0-9]+<[^>]*plain-monolithicSparse.vmdk>\)' "$TRACE" && pass "write: fsyncs the disk it changes" ||
  fail "write: no fsync of the changed disk"
traced "snapshot" -- "$VMDKIT" snapshot plain-monolithicSparse.vmdk -q
synced_before_rename "snapshot: the new delta" "plain-monolithicSparse-000001.vmdk"

finish
