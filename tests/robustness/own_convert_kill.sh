#!/usr/bin/env bash
# Issue 14, acceptance 3: `vmdkit convert --overwrite` over an existing multi-file DST is killed
# (strace fault injection, SIGKILL) at every rename and unlink call it makes, one run per call; after
# each kill DST reads as wholly the old disk or wholly the new one (vmdkit cat of every extent's
# data, qemu-img compare of the whole disk), `vmdkit check` calls it clean, and the next run over DST
# completes and leaves no vmdkit temporary files behind.
# ctest-cost: 180
source "$(dirname "${BASH_SOURCE[0]}")/../cli/common.bash"
need strace qemu-img cmp

# Split parts are 2047 MiB (vmdk-format.md 2.10): 5000 MiB gives three extents. Only a few grains
# hold data, so the files stay small (sparse files and holes).
size=5000M
windows="100M 2100M 3000M 4900M"
# Binaries before --overwrite existed replaced DST silently: the same run without the flag shows
# what they leave behind.
ow=()
"$VMDKIT" convert --help 2>/dev/null | grep -q -- --overwrite && ow=(--overwrite)

mkdir -p src
"$VMDKIT" create src/old.vmdk --size $size -q && "$VMDKIT" create src/new.vmdk --size $size -q || exit 1
for off in 100M 3000M 4900M; do "$VMDKIT" write src/old.vmdk --offset $off --pattern 0x11 --length 65536 -q || exit 1; done
for off in 100M 2100M 4900M; do "$VMDKIT" write src/new.vmdk --offset $off --pattern 0x22 --length 65536 -q || exit 1; done

# signature DISK: digests of the data windows as vmdkit reads them (one per extent at least).
signature() {
  local w out=""
  for w in $windows; do
    out+=$("$VMDKIT" cat "$1" --offset $w --length 65536 -q 2>/dev/null | md5sum | cut -c1-32)
  done
  echo "$out"
}
sig_old=$(signature src/old.vmdk) sig_new=$(signature src/new.vmdk)
[ "$sig_old" != "$sig_new" ] || { echo "sources do not differ" >&2; exit 1; }

# state DIR WHAT: DST is wholly old or wholly new (which= says which), and clean.
state() {
  local sig
  which=
  sig=$(signature "$1/d.vmdk")
  if [ "$sig" = "$sig_old" ]; then which=old; elif [ "$sig" = "$sig_new" ]; then which=new; else
    fail "$2: DST reads neither the old nor the new disk (mixed extents)"
    return 1
  fi
  qemu-img compare -q -f vmdk -F vmdk "$1/d.vmdk" "src/$which.vmdk" >/dev/null 2>&1 ||
    { fail "$2: qemu-img reads DST differently from the $which disk"; return 1; }
  "$VMDKIT" check "$1/d.vmdk" >/dev/null 2>&1 || { fail "$2: check does not call DST ($which) clean"; return 1; }
}

runs=0
for case in twoGbMaxExtentSparse:twoGbMaxExtentSparse monolithicFlat:monolithicFlat \
  twoGbMaxExtentFlat:twoGbMaxExtentFlat twoGbMaxExtentSparse:monolithicFlat; do
  old_type=${case%%:*} new_type=${case##*:}
  before=$failures
  rm -rf pristine && mkdir pristine
  "$VMDKIT" convert src/old.vmdk pristine/d.vmdk --to "$old_type" -q || exit 1
  for call in rename renameat renameat2 unlink unlinkat; do
    for n in $(seq 1 60); do
      rm -rf w && cp -a pristine w || exit 1
      strace -f -o /dev/null -e inject=$call:signal=SIGKILL:when=$n \
        "$VMDKIT" convert src/new.vmdk w/d.vmdk --to "$new_type" "${ow[@]}" -q >/dev/null 2>err
      rc=$?
      what="$old_type -> $new_type, killed at $call #$n"
      runs=$((runs + 1))
      state w "$what" || break 2
      if [ "$rc" -eq 0 ]; then
        [ "$which" = new ] || fail "$what: convert succeeded but DST is the old disk"
        break  # the command finished: no call number $n
      fi
      # The next run over DST completes and removes what the killed one left.
      "$VMDKIT" convert src/new.vmdk w/d.vmdk --to "$new_type" "${ow[@]}" -q >/dev/null 2>err ||
        { fail "$what: the next run failed: $(head -c 300 err)"; break 2; }
      state w "$what, then run again" || break 2
      [ "$which" = new ] || { fail "$what: the next run did not give the new disk"; break 2; }
      left=$(cd w && ls -A | grep -F vmdkit)
      [ -z "$left" ] || { fail "$what: the next run left $left"; break 2; }
      [ "$n" -lt 60 ] || { fail "$what: more than 60 calls"; break 2; }
    done
  done
  [ "$failures" -eq "$before" ] && pass "$old_type -> $new_type: DST wholly old or wholly new at every rename and unlink"
done
echo "$runs runs"
finish
