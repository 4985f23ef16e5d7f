#!/bin/bash
# vmdkit --help, --version and usage errors: every command explains itself; bad usage is exit 1
# (compare: 2) with "vmdkit: error: ..." on stderr.
source "$(dirname "$0")/common.bash"

expect_exit 0 "--help" -- "$VMDKIT" --help
for c in info chain map cat convert compare; do
  contains "$TEST_TMPDIR/out" "$c" "--help lists $c"
done
expect_exit 0 "--version" -- "$VMDKIT" --version
contains "$TEST_TMPDIR/out" "vmdkit " "--version prints the name"

for c in info chain map cat convert compare; do
  expect_exit 0 "$c --help" -- "$VMDKIT" "$c" --help
  contains "$TEST_TMPDIR/out" "Usage" "$c --help shows usage"
done
for c in info chain map cat convert compare; do
  expect_exit 0 "$c -h" -- "$VMDKIT" "$c" -h
done
for c in info chain map cat convert compare; do
  contains <("$VMDKIT" "$c" --help) "--allow-outside-paths" "$c has --allow-outside-paths"
done
for c in map cat convert compare; do
  contains <("$VMDKIT" "$c" --help) "--allow-cid-mismatch" "$c has --allow-cid-mismatch"
done

expect_exit 1 "no command" -- "$VMDKIT"
contains "$TEST_TMPDIR/err" "vmdkit: error:" "no command: error prefix"
expect_exit 1 "unknown command" -- "$VMDKIT" frobnicate
contains "$TEST_TMPDIR/err" "unknown command 'frobnicate'" "unknown command named"
expect_exit 1 "info without PATH" -- "$VMDKIT" info
expect_exit 1 "unknown option" -- "$VMDKIT" info --frob x
expect_exit 2 "compare without arguments" -- "$VMDKIT" compare
expect_exit 1 "info of a missing file" -- "$VMDKIT" info "$TEST_TMPDIR/nope.vmdk"
contains "$TEST_TMPDIR/err" "vmdkit: error: " "missing file: error prefix"
contains "$TEST_TMPDIR/err" "nope.vmdk" "missing file: names it"
expect_exit 1 "info of a folder" -- "$VMDKIT" info "$TEST_TMPDIR"
printf 'this is not a disk\n' > junk.vmdk
expect_exit 1 "info of junk" -- "$VMDKIT" info junk.vmdk
contains "$TEST_TMPDIR/err" "vmdkit: error: " "junk: error prefix"
finish
