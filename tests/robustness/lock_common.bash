# Shared by tests/robustness/lock_*.sh (sourced, not a test itself): a small chain made with
# vmdkit, expected raw images made with dd, and a way to catch a command in the middle of its work
# (holding its locks, or with its output growing) and stop it there, so that a second command
# overlaps it every time instead of by chance.
source "$(dirname "$0")/../cli/common.bash"

MB=1048576

# fill FILE OFFSET_MB LENGTH_MB BYTE: BYTE repeated over [OFFSET, OFFSET+LENGTH) MiB of FILE.
fill() {
  head -c $(($3 * MB)) /dev/zero | tr '\0' "$(printf '\\%03o' "$4")" |
    dd of="$1" bs=1M seek="$2" conv=notrunc status=none
}

# new_chain DIR [written]: DIR/base.vmdk (128 MiB, 0x11 in [8, 16) MiB) <- DIR/base-000001.vmdk,
# empty or (with "written") holding LONG_WRITE. Made once and copied (a new chain costs fsyncs).
new_chain() {
  local template=$TEST_TMPDIR/template-${2:-empty}
  if [ ! -d "$template" ]; then
    mkdir -p "$template" &&
      "$VMDKIT" create -q "$template/base.vmdk" --size 128M --seed 1 &&
      "$VMDKIT" write -q "$template/base.vmdk" --offset 8M --length 8M --pattern 0x11 &&
      "$VMDKIT" snapshot -q "$template/base.vmdk" --seed 2 >/dev/null || { echo "cannot make the chain" >&2; exit 1; }
    [ "${2:-}" = written ] && { "${LONG_WRITE[@]}" "$template/base-000001.vmdk" || exit 1; }
  fi
  rm -rf "$1" && cp -a --sparse=always "$template" "$1"
}

# The two writes, as commands (not functions: started with &, $! must be vmdkit's own pid).
LONG_WRITE=("$VMDKIT" write -q --offset 0 --length 12M --pattern 0x22)
SHORT_WRITE=("$VMDKIT" write -q --offset 96M --length 4M --pattern 0x33)

# Expected contents: E_A after the long write ([0, 12) MiB = 0x22, partly over the base's 0x11),
# E_AB after it and the short one ([96, 100) MiB = 0x33).
make_expected() {
  truncate -s 128M "$TEST_TMPDIR/E_A" && fill "$TEST_TMPDIR/E_A" 8 8 0x11 && fill "$TEST_TMPDIR/E_A" 0 12 0x22
  cp "$TEST_TMPDIR/E_A" "$TEST_TMPDIR/E_AB" && fill "$TEST_TMPDIR/E_AB" 96 4 0x33
}

# stopped PID: sends SIGSTOP and waits until the process is really stopped (state T); fails when
# it was already ending (a process caught while it exits cannot be stopped any more).
stopped() {
  local pid=$1 stat i
  kill -STOP "$pid" 2>/dev/null || return 1
  for ((i = 0; i < 2000; i++)); do
    read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
    stat=${stat##*) }
    case ${stat%% *} in
      T | t) return 0 ;;
      Z | X) return 1 ;;
    esac
  done
  return 1
}

# holds_write_lock PID: one of PID's descriptors holds a write lock (a "lock:" line of its fdinfo).
holds_write_lock() {
  local f line
  for f in /proc/"$1"/fdinfo/*; do
    while IFS= read -r line; do
      [[ $line == lock:*WRITE* ]] && return 0
    done 2>/dev/null <"$f"
  done
  return 1
}

# A vmdkit that takes locks says so in write --help (--wait); one that does not (an older binary
# these tests are checked against) can only be caught by its output growing.
LOCKING=0
"$VMDKIT" write --help 2>/dev/null | grep -q -- --wait && LOCKING=1

# stop_in_work PID FILE: waits until PID holds a write lock (vmdkit with locks) or FILE has grown
# by 1 MiB (a vmdkit without locks: it is writing), then stops PID with SIGSTOP. A vmdkit with
# locks must still hold its lock once stopped: a growing file alone is not enough (it may have
# written everything and released its locks), nor a lock seen just before it let go of it. Fails
# when PID ended or let go first (the caller runs again). Polls with shell builtins only (a fork
# per look is too slow to catch a short command).
stop_in_work() {
  local pid=$1 file=$2 start n=0 deadline=$((SECONDS + 20))
  start=$(stat -c %s "$file")
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
    if holds_write_lock "$pid"; then
      stopped "$pid" && holds_write_lock "$pid"
      return $?
    fi
    if [ "$LOCKING" -eq 0 ] && ((++n % 10 == 0)) &&
      [ "$(stat -c %s "$file" 2>/dev/null || echo 0)" -gt $((start + MB)) ]; then
      stopped "$pid"
      return $?
    fi
  done
  return 1
}

# same_content DISK RAW DESCRIPTION: the disk reads exactly like RAW and check finds nothing.
same_content() {
  if "$VMDKIT" compare "$1" "$2" >"$TEST_TMPDIR/cmp" 2>&1; then :; else
    fail "$3: wrong data: $(head -c 300 "$TEST_TMPDIR/cmp")"
    return 1
  fi
  if "$VMDKIT" check "$1" >"$TEST_TMPDIR/chk" 2>&1; then :; else
    fail "$3: check: $(tail -c 300 "$TEST_TMPDIR/chk")"
    return 1
  fi
  return 0
}
