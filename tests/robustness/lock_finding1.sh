#!/bin/bash
# Issue 14 finding 1, no locking: a second command started while a first one is in the middle of
# its work (caught holding its locks or writing, and stopped there with SIGSTOP so that the two
# overlap every time) must be refused with a message naming the first one's pid, and the disk must
# read what the finished command wrote, check clean. Without locks the second write goes through
# and interleaves (grains shared, data lost), a write during consolidate exits 0 and its data is
# deleted with the top layer, and a second consolidate finishes the first one's journal.
source "$(dirname "$0")/lock_common.bash"
make_expected

# run_pair NAME RESULT_DISK EXPECTED_IF_B_REFUSED EXPECTED_IF_B_RAN WATCHED_FILE A... -- B...
run_pair() {
  local name=$1 disk=$2 refused_raw=$3 ran_raw=$4 watched=$5 a=() b=()
  shift 5
  while [ "$1" != "--" ]; do a+=("$1"); shift; done
  shift
  b=("$@")
  "${a[@]}" >/dev/null 2>"$TEST_TMPDIR/a_err" &
  local pid=$!
  if ! stop_in_work "$pid" "$watched"; then
    kill -CONT "$pid" 2>/dev/null
    wait "$pid"
    return 2  # it ended before it could be caught: no overlap, made again
  fi
  "${b[@]}" >"$TEST_TMPDIR/b_out" 2>"$TEST_TMPDIR/b_err"
  local rc_b=$?
  kill -CONT "$pid"
  wait "$pid"
  local rc_a=$?
  [ "$rc_a" -eq 0 ] && pass "$name: the first command finished" || fail "$name: first command exit $rc_a: $(cat "$TEST_TMPDIR/a_err")"
  if [ "$rc_b" -eq 1 ] && grep -q "held by pid $pid (" "$TEST_TMPDIR/b_err"; then
    pass "$name: the second command is refused naming the holder"
  else
    fail "$name: second command exit $rc_b, not refused naming pid $pid: $(head -c 300 "$TEST_TMPDIR/b_err")"
  fi
  # Whatever exited 0 must be in the disk.
  local want=$refused_raw
  [ "$rc_b" -eq 0 ] && want=$ran_raw
  same_content "$disk" "$want" "$name" && pass "$name: the disk reads what was written, check clean"
}

cd "$TEST_TMPDIR" || exit 1

# again NAME SETUP... -- PAIR...: makes the chain with SETUP and runs the pair, again (up to 5
# times) when the first command ended before it was caught at work.
again() {
  local name=$1 setup=() try
  shift
  while [ "$1" != "--" ]; do setup+=("$1"); shift; done
  shift
  for ((try = 0; try < 5; try++)); do
    "${setup[@]}"
    run_pair "$name" "$@"
    [ $? -ne 2 ] && return
  done
  fail "$name: could not catch the first command at work in 5 tries"
}

# Two writers at once into one top layer (different offsets).
again "two writers" new_chain w -- w/base-000001.vmdk "$TEST_TMPDIR/E_A" "$TEST_TMPDIR/E_AB" w/base-000001.vmdk \
  "${LONG_WRITE[@]}" w/base-000001.vmdk -- "${SHORT_WRITE[@]}" w/base-000001.vmdk

# A write into the top layer while consolidate merges it into the base (and then deletes it).
again "write during consolidate" new_chain c written -- c/base.vmdk "$TEST_TMPDIR/E_A" "$TEST_TMPDIR/E_AB" \
  c/base.vmdk "$VMDKIT" consolidate -q c/base-000001.vmdk -- "${SHORT_WRITE[@]}" c/base-000001.vmdk
[ -e c/base-000001.vmdk ] && fail "write during consolidate: top layer still there" || pass "write during consolidate: top layer merged and removed"

# Two consolidates of one chain.
again "two consolidates" new_chain cc written -- cc/base.vmdk "$TEST_TMPDIR/E_A" "$TEST_TMPDIR/E_A" cc/base.vmdk \
  "$VMDKIT" consolidate -q cc/base-000001.vmdk -- "$VMDKIT" consolidate -q cc/base-000001.vmdk
ls -a cc | grep -qE 'vmdkit-(tmp|consolidate)' && fail "two consolidates: temporaries or journal left: $(ls -a cc)" ||
  pass "two consolidates: no temporary or journal left"

finish
