#!/usr/bin/env bash
# Samples made by VMware Workstation, ESXi and VirtualBox ($SAMPLES, ../shared/samples): every disk in
# MANIFEST.tsv reads to its raw_sha256 through `vmdkit cat`; the vmfsSparse delta whose -delta.vmdk
# was never published fails with exit 1 naming the missing file; the SESparse sample reads too.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
: "${VMDKIT:?}" "${TEST_TMPDIR:?}"
require_samples
rm -rf "$TEST_TMPDIR"
work="$TEST_TMPDIR/samples"
unpack_samples "$work"

checked=0
while IFS=$'\t' read -r disk _producer _source size sha _notes; do
  [[ $disk == disk ]] && continue  # header
  img="$work/$disk"
  err="$TEST_TMPDIR/stderr"
  checked=$((checked + 1))
  if [[ $sha == - ]]; then
    # A descriptor whose extent file is missing: a clear error, exit 1, naming the missing file.
    missing=$(sed -n 's/^[A-Z]* [0-9]* [A-Z]* "\([^"]*\)".*/\1/p' "$img" | head -n 1)
    set +e
    "$VMDKIT" cat "$img" >/dev/null 2>"$err"
    rc=$?
    set -e
    if [[ $rc -ne 1 ]] || ! grep -q "vmdkit: error:" "$err" || ! grep -qF "$missing" "$err"; then
      fail "$disk: expected exit 1 naming $missing, got exit $rc: $(cat "$err")"
    else
      echo "ok: $disk fails cleanly: $(head -n 1 "$err")"
    fi
    continue
  fi
  set +e
  got=$("$VMDKIT" cat "$img" 2>"$err" | $HELPER sha256 -)
  set -e
  if [[ $got == "$sha $size" ]]; then
    echo "ok: $disk reads to $sha"
  else
    fail "$disk: got '$got', manifest says '$sha $size'; stderr: $(cat "$err")"
  fi
done <"$SAMPLES/MANIFEST.tsv"

echo "$checked sample disks checked"
((checked > 0)) || fail "MANIFEST.tsv lists no disks"
finish
