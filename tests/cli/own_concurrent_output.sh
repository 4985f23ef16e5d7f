#!/usr/bin/env bash
# Two commands writing one new DST at once (issue 14): the existence check at the start of convert
# and create is far from the final rename, so the rename itself must refuse a DST that appeared
# meanwhile. The first command is paused (SIGSTOP) once its temporary exists, the second writes
# DST, the first is resumed: it must fail and leave the second's disk as it is.
source "$(dirname "$0")/common.bash"

"$VMDKIT" create a.vmdk --size 256M -q >/dev/null || fail "create a"
"$VMDKIT" write a.vmdk --offset 0 --pattern 0xaa --length 256M -q || fail "write a"
"$VMDKIT" create b.vmdk --size 1M -q >/dev/null || fail "create b"
"$VMDKIT" write b.vmdk --offset 0 --pattern 0xbb --length 1M -q || fail "write b"

# pause_when_temp_exists PID PATTERN: SIGSTOP PID as soon as a file matching PATTERN appears.
pause_when_temp_exists() {
  local pid=$1 pattern=$2 i
  for i in $(seq 1 2000); do
    if compgen -G "$pattern" >/dev/null; then kill -STOP "$pid"; return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.005
  done
  return 1
}

# digest FILE: the disk's content (a raw file as it is), never empty.
digest() {
  case $1 in
    *.raw) sha256sum <"$1" ;;
    *) "$VMDKIT" cat "$1" | sha256sum ;;
  esac
}
want_b=$("$VMDKIT" cat b.vmdk | sha256sum)

for to in raw monolithicSparse twoGbMaxExtentFlat; do
  dst=out-$to.vmdk
  [ "$to" = raw ] && dst=out.raw
  "$VMDKIT" convert -q a.vmdk "$dst" --to "$to" 2>first.err &
  first=$!
  if pause_when_temp_exists "$first" ".${dst%.vmdk}*vmdkit-*"; then
    "$VMDKIT" convert -q b.vmdk "$dst" --to "$to" || fail "$to: the second convert failed"
    want=$(digest "$dst")
    kill -CONT "$first"
    wait "$first"
    rc=$?
    [ "$rc" -eq 1 ] && pass "$to: the first convert fails (exit 1)" || fail "$to: the first convert exited $rc"
    contains first.err "never overwrites" "$to: it says why"
    got=$(digest "$dst")
    [ "$want" = "$want_b" ] || fail "$to: the second convert did not write b's content"
    [ "$got" = "$want" ] && pass "$to: the second disk is left as it was" || fail "$to: DST changed under the second convert"
    leftovers=$(ls -A | grep -c 'vmdkit-' || true)
    [ "$leftovers" -eq 0 ] && pass "$to: no temporary left" || fail "$to: leftovers: $(ls -A | grep vmdkit-)"
  else
    wait "$first"
    fail "$to: could not catch the first convert with its temporary in place"
  fi
done
finish
