#!/usr/bin/env bash
# Memory and time bounded by the input, not by what it claims (issue 16, acceptance 3 and 4): on a
# 2047 GiB monolithicSparse made by qemu-img holding three grains, info, chain, map --json, check
# and cat of the last GiB each peak at <= 64 MiB under `ulimit -n 256`; check of a 4 MB sparse file
# whose million directory entries all name one table, and of a descriptor with a 2^60-byte ZERO
# extent, finish in under 2 s within 64 MiB; a split disk of 512 extent files works under the same
# descriptor limit. Files are sparse: they cost no space.
# The sanitized build (VMDKIT_SANITIZED=1) runs the same commands without the RSS and time bounds
# (AddressSanitizer's shadow memory and slowdown are not the tool's).
# ctest-cost: 20
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib/common.sh"
interop_init
LIB=$(dirname "${BASH_SOURCE[0]}")/lib
ulimit -Sn 256  # soft: probe limits are the tool's, not the shell's
max_rss_kib=$((64 * 1024))
max_seconds=2
sanitized=${VMDKIT_SANITIZED:-}

# probe EXPECTED_EXIT LABEL CMD...: runs CMD, fails on another exit code or a bound exceeded.
probe() {
  local expected=$1 label=$2 rss seconds code
  shift 2
  read -r rss seconds code < <($PY "$LIB/mem_probe.py" "$@")
  echo "$label: exit $code, peak RSS $((rss / 1024)) MiB, $seconds s"
  [[ $code == "$expected" ]] || fail "$label: exit code $code, expected $expected"
  [[ -n $sanitized ]] && return 0
  [[ -n ${NO_RSS_BOUND:-} ]] || ((rss <= max_rss_kib)) || fail "$label: peak RSS $rss KiB > $max_rss_kib KiB"
  if [[ -n ${TIME_BOUND:-} ]] && ! awk -v s="$seconds" -v m="$max_seconds" 'BEGIN { exit !(s < m) }'; then
    fail "$label: took $seconds s (bound: $max_seconds s)"
  fi
}

big=$TEST_TMPDIR/big.vmdk
qemu-img create -q -f vmdk "$big" 2047G
qio -c "write -P 0x11 0 64k" -c "write -P 0x22 1T 64k" -c "write -P 0x33 2046G 64k" "$big"
for command in info chain "map --json" check; do
  # shellcheck disable=SC2086  # "map --json" is two words
  probe 0 "2047 GiB: $command" "$VMDKIT" $command "$big"
done
probe 0 "2047 GiB: cat of the last GiB" "$VMDKIT" cat -q --offset 2046G --length 1G "$big"

# A million directory entries naming one table: each is reported (up to the cap), the table is
# read once, and nothing is kept per claimed grain.
dup=$TEST_TMPDIR/dup.vmdk
$PY "$LIB/hostile_sparse.py" "$dup" 1048576 --shared
"$VMDKIT" check "$dup" >"$TEST_TMPDIR/dup.out" 2>&1 || true
grep -q "gd_entries_share_table" "$TEST_TMPDIR/dup.out" || fail "dup: no gd_entries_share_table finding"
TIME_BOUND=1 probe 2 "1M entries naming one table: check" "$VMDKIT" check "$dup"

# 2^51 sectors of ZERO: nothing to walk.
zero=$TEST_TMPDIR/zero60.vmdk
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 2251799813685248 ZERO\n\nddb.adapterType = "ide"\n' >"$zero"
TIME_BOUND=1 probe 0 "2^60-byte ZERO extent: check" "$VMDKIT" check "$zero"

# A split disk of more extent files than the descriptor limit: its files are opened on use through
# the file pool and the disk is locked through its descriptor. 1 TiB (512 files) keeps the test
# short; the 8 TiB disk of the issue (4096 files) was measured by hand (docs/NOTES-mem.md,
# docs/NOTES-scale.md). Every command stays within 64 MiB: the extents' grain tables share one
# process-wide cache budget and an empty table costs no memory (without them, map --json and
# consolidate kept 128 KiB of tables per extent: 64 MiB here, 512 MiB at 8 TiB).
split=$TEST_TMPDIR/split/t1.vmdk
mkdir -p "$(dirname "$split")"
probe 0 "1 TiB split (512 files): create" "$VMDKIT" create -q --size 1T --type twoGbMaxExtentSparse "$split"
printf 'split disk written\n' | "$VMDKIT" write -q --offset 1023G --from - "$split" ||
  fail "split: write into the last extent failed"
for command in info chain "map --json" check; do
  # shellcheck disable=SC2086  # "map --json" is two words
  probe 0 "1 TiB split (512 files): $command" "$VMDKIT" $command "$split"
done
probe 0 "1 TiB split: cat of the last GiB" "$VMDKIT" cat -q --offset 1023G --length 1G "$split"
# Raw export: bounded too, and the output keeps the disk's holes (a few KiB on disk for 1 TiB).
raw=$TEST_TMPDIR/split.raw
probe 0 "1 TiB split: convert --to raw" "$VMDKIT" convert -q --to raw "$split" "$raw"
raw_kib=$(du -k "$raw" | cut -f1)
((raw_kib <= 1024)) || fail "split: the raw export takes $raw_kib KiB on disk (holes not kept)"
cmp -n 19 <(tail -c +$((1023 * 1024 * 1024 * 1024 + 1)) "$raw" | head -c 19) <(printf 'split disk written\n') ||
  fail "split: the raw export does not hold what was written"
rm -f "$raw"
"$VMDKIT" cat -q --offset 1023G --length 19 "$split" | grep -q "split disk written" ||
  fail "split: cat does not read back what was written"
# consolidate of a snapshot into the split base: its targets are opened on demand.
top=$("$VMDKIT" snapshot -q "$split")
printf 'consolidated\n' | "$VMDKIT" write -q --offset 1000G --from - "$top" || fail "split: write into the snapshot failed"
probe 0 "1 TiB split: consolidate" "$VMDKIT" consolidate -q "$top"
"$VMDKIT" cat -q --offset 1000G --length 12 "$split" | grep -q "consolidated" ||
  fail "split: consolidate did not bring the snapshot's write into the base"
# Writing a split disk: each part is finished and closed once the writing has passed it.
copy=$TEST_TMPDIR/split-copy/t1.vmdk
mkdir -p "$(dirname "$copy")"
probe 0 "1 TiB split: convert to twoGbMaxExtentSparse" "$VMDKIT" convert -q --to twoGbMaxExtentSparse "$split" "$copy"
"$VMDKIT" compare -q "$split" "$copy" || fail "split: the split copy differs from its source"
finish
