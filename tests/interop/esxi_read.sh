#!/usr/bin/env bash
# ESXi extents read by `vmdkit cat` (vmdk-format.md 4.1-4.3): the real SESparse sample reads to its
# manifest sha256; vmfsSparse and seSparse chains under a vmfs base, built byte by byte by
# lib/esxi_images.py, read like `qemu-img convert -O raw` and like their expected raw bytes.
# ctest-cost: 39
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
interop_init
work="$TEST_TMPDIR/esxi"
mkdir -p "$work"

# same_bytes WHAT FILE EXPECTED: reports whether two files are byte for byte equal.
same_bytes() {
  if cmp -s "$2" "$3"; then echo "ok: $1"; else fail "$1: $(cmp "$2" "$3" 2>&1 | head -n 1)"; fi
}

if [[ -n ${SAMPLES:-} && -f $SAMPLES/esxi/disk-sesparse.vmdk.gz ]]; then
  sample="$work/sample"
  mkdir -p "$sample"
  cp "$SAMPLES/esxi/sesparse.vmdk" "$sample/"
  gunzip -c "$SAMPLES/esxi/disk-sesparse.vmdk.gz" >"$sample/disk-sesparse.vmdk"
  want=3afa48010241335528fe402f083fc9f3a1013a49485221443a78d9a8604e2f90
  got=$("$VMDKIT" cat "$sample/sesparse.vmdk" | sha256sum | cut -d' ' -f1)
  [[ $got == "$want" ]] && echo "ok: SESparse sample reads to $want" || fail "SESparse sample sha256 $got, manifest $want"
  qemu-img convert -f vmdk -O raw "$sample/sesparse.vmdk" "$work/sample-qemu.raw"
  "$VMDKIT" cat "$sample/sesparse.vmdk" >"$work/sample-vmdkit.raw"
  same_bytes "SESparse sample = qemu-img convert -O raw" "$work/sample-vmdkit.raw" "$work/sample-qemu.raw"
  rm -f "$work/sample-qemu.raw" "$work/sample-vmdkit.raw"
  if "$VMDKIT" info --json "$sample/sesparse.vmdk" | grep -q '"format": *"sesparse"'; then
    echo "ok: info shows the SESparse header"
  else
    fail "info --json of the sample does not show format sesparse"
  fi
else
  echo "skip: samples folder '${SAMPLES:-}' has no esxi/disk-sesparse.vmdk.gz"
fi

$PY "$INTEROP_LIB/esxi_images.py" "$work"
for leaf in cowd-000001 cowd-000002 se-000001 se-000002; do
  "$VMDKIT" cat "$work/$leaf.vmdk" >"$work/$leaf.vmdkit.raw"
  qemu-img convert -f vmdk -O raw "$work/$leaf.vmdk" "$work/$leaf.qemu.raw"
  same_bytes "$leaf: vmdkit cat = expected bytes" "$work/$leaf.vmdkit.raw" "$work/$leaf.raw"
  same_bytes "$leaf: vmdkit cat = qemu-img convert -O raw" "$work/$leaf.vmdkit.raw" "$work/$leaf.qemu.raw"
done
"$VMDKIT" info --json "$work/cowd-000002.vmdk" | grep -q '"format": *"cowd"' && echo "ok: info shows the COWD header" ||
  fail "info --json of a vmfsSparse link does not show format cowd"

# A bare delta is refused, naming the descriptor to open instead.
for bare in cowd-000001-delta se-000001-sesparse; do
  set +e
  "$VMDKIT" cat "$work/$bare.vmdk" >/dev/null 2>"$work/err"
  rc=$?
  set -e
  if [[ $rc -eq 1 ]] && grep -q "vmdkit: error:.*open its descriptor (${bare%-*}.vmdk)" "$work/err"; then
    echo "ok: bare $bare refused: $(head -n 1 "$work/err")"
  else
    fail "bare $bare: exit $rc: $(cat "$work/err")"
  fi
done
finish
