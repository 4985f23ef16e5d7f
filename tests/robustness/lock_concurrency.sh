#!/bin/bash
# Issue 14 acceptance 2: 20 runs each of two writers, writer plus consolidate (each first in turn),
# two consolidates, and a write plus repair, on one chain made with vmdkit. In each run the first
# command is caught at work (holding its locks or writing) and stopped with SIGSTOP, so that the
# second one overlaps it every time; the second runs without --wait (it must be refused at once,
# naming the holder's pid) or with --wait (it must still be waiting while the first is stopped,
# then finish or say the chain changed while it waited). Every run ends with the disk reading what
# the commands that exited 0 wrote (compared with a raw image made with dd) and check clean.
# ctest-cost: 60
source "$(dirname "$0")/lock_common.bash"
make_expected
cd "$TEST_TMPDIR" || exit 1
RUNS=${LOCK_RUNS:-20}
bad_runs=0

# merged_meanwhile: the first command was a consolidate caught after it had removed the merged
# layer (it still holds its locks while it finishes): the second one then names a file that no
# longer exists and must say so (exit 1, nothing changed); verify() checks the data.
merged_meanwhile() {
  [ "${a[1]}" = consolidate ] && [ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 1 ] &&
    grep -q "base-000001.vmdk: cannot open: No such file or directory" b_err
}

# overlap KIND RUN A... -- B...: one run; the second command gets --wait 30 on odd runs.
# Sets rc_a, rc_b; records a failure (and returns 1) when the run breaks a rule; returns 2 when
# the first command ended before it was caught at work.
overlap() {
  local kind=$1 run=$2 a=() b=()
  shift 2
  while [ "$1" != "--" ]; do a+=("$1"); shift; done
  shift
  b=("$@")
  local waits=$((run % 2))
  [ "$waits" -eq 1 ] && b+=(--wait 30)
  "${a[@]}" >/dev/null 2>a_err &
  local pid=$!
  if ! stop_in_work "$pid" "$WATCH"; then
    kill -CONT "$pid" 2>/dev/null
    wait "$pid"
    return 2  # it ended before it could be caught: no overlap, the run is made again
  fi
  if [ "$waits" -eq 0 ]; then
    "${b[@]}" >/dev/null 2>b_err
    rc_b=$?
    kill -CONT "$pid"
  else
    "${b[@]}" >/dev/null 2>b_err &
    local waiter=$!
    # The waiter must reach its lock before the first command goes on: a process start takes
    # longer under the sanitizers than a fixed pause. Between its tries it sleeps in
    # clock_nanosleep (syscall 230 on x86-64, 35 nanosleep elsewhere); give it at most 10 s.
    local tries
    for tries in $(seq 1 1000); do
      kill -0 "$waiter" 2>/dev/null || break
      read -r nr _ <"/proc/$waiter/syscall" 2>/dev/null && { [ "$nr" = 230 ] || [ "$nr" = 35 ]; } && break
      sleep 0.01
    done
    if ! kill -0 "$waiter" 2>/dev/null; then
      wait "$waiter"
      rc_b=$?
      kill -CONT "$pid"
      wait "$pid"
      rc_a=$?
      merged_meanwhile && return 0
      fail "$kind run $run: the second command did not wait (exit $rc_b: $(head -c 300 b_err))"
      return 1
    fi
    kill -CONT "$pid"
    wait "$waiter"
    rc_b=$?
  fi
  wait "$pid"
  rc_a=$?
  if [ "$rc_a" -ne 0 ]; then
    fail "$kind run $run: the first command failed (exit $rc_a: $(head -c 300 a_err))"
    return 1
  fi
  merged_meanwhile && return 0
  if [ "$waits" -eq 0 ] && ! { [ "$rc_b" -eq 1 ] && grep -q "held by pid $pid (" b_err; }; then
    fail "$kind run $run: the second command was not refused naming pid $pid (exit $rc_b: $(head -c 300 b_err))"
    return 1
  fi
  if [ "$waits" -eq 1 ] && [ "$rc_b" -ne 0 ] && ! grep -q "changed while waiting for its lock" b_err; then
    fail "$kind run $run: the waiting command failed (exit $rc_b: $(head -c 300 b_err))"
    return 1
  fi
  return 0
}

# Outcome of one run: the disk reads WANT (or WANT_B when the second command exited 0).
verify() {
  local kind=$1 run=$2 disk=$3 want=$4 want_b=$5
  [ "$rc_b" -eq 0 ] && want=$want_b
  same_content "$disk" "$want" "$kind run $run" || return 1
  ls -a d | grep -qE 'vmdkit-(tmp|consolidate)' && { fail "$kind run $run: leftovers: $(ls -a d)"; return 1; }
  return 0
}

ok_runs() { [ "$1" -eq 0 ] && pass "$2: $RUNS runs, one command refused or waiting in each, data and check right (at ${SECONDS} s)"; }

# repeat KIND FUNCTION: FUNCTION RUN for RUN = 0..RUNS-1, each made again (up to 5 times) when
# its commands did not overlap.
repeat() {
  local kind=$1 body=$2 run try rc errors=$failures
  for ((run = 0; run < RUNS; run++)); do
    for ((try = 0; try < 5; try++)); do
      "$body" "$run"
      rc=$?
      [ "$rc" -ne 2 ] && break
    done
    [ "$rc" -eq 2 ] && fail "$kind run $run: could not catch the first command at work in 5 tries"
  done
  ok_runs $((failures - errors)) "$kind"
}

# Two writers into the top layer.
two_writers() {
  new_chain d
  WATCH=d/base-000001.vmdk
  overlap "two writers" "$1" "${LONG_WRITE[@]}" d/base-000001.vmdk -- "${SHORT_WRITE[@]}" d/base-000001.vmdk || return
  verify "two writers" "$1" d/base-000001.vmdk E_A E_AB
  return 0
}
repeat "two writers" two_writers

# A writer and consolidate, each first in turn (a write waiting for consolidate finds its layer gone).
writer_and_consolidate() {
  if [ $((($1 / 2) % 2)) -eq 0 ]; then
    new_chain d written
    WATCH=d/base.vmdk
    overlap "consolidate then write" "$1" "$VMDKIT" consolidate -q d/base-000001.vmdk -- \
      "${SHORT_WRITE[@]}" d/base-000001.vmdk || return
    verify "consolidate then write" "$1" d/base.vmdk E_A E_AB
  else
    new_chain d
    WATCH=d/base-000001.vmdk
    overlap "write then consolidate" "$1" "${LONG_WRITE[@]}" d/base-000001.vmdk -- \
      "$VMDKIT" consolidate -q d/base-000001.vmdk || return
    local disk=d/base-000001.vmdk
    [ "$rc_b" -eq 0 ] && disk=d/base.vmdk
    verify "write then consolidate" "$1" "$disk" E_A E_A
  fi
  return 0
}
repeat "writer and consolidate" writer_and_consolidate

# Two consolidates of one chain.
two_consolidates() {
  new_chain d written
  WATCH=d/base.vmdk
  overlap "two consolidates" "$1" "$VMDKIT" consolidate -q d/base-000001.vmdk -- \
    "$VMDKIT" consolidate -q d/base-000001.vmdk || return
  verify "two consolidates" "$1" d/base.vmdk E_A E_A
  return 0
}
repeat "two consolidates" two_consolidates

# A write and a repair of the same chain.
write_and_repair() {
  new_chain d
  WATCH=d/base-000001.vmdk
  overlap "write and repair" "$1" "${LONG_WRITE[@]}" d/base-000001.vmdk -- "$VMDKIT" repair d/base-000001.vmdk || return
  verify "write and repair" "$1" d/base-000001.vmdk E_A E_A
  return 0
}
repeat "write and repair" write_and_repair

finish
