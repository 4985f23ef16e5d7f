#!/usr/bin/env bash
# The README's second command (and .ci/run): install dependencies, then build and run the CTest
# suite twice: the shell tests with -Werror in build/, then unit and shell tests under
# AddressSanitizer + UBSan in build-asan/; then a brief libFuzzer run of tests/fuzz in build-fuzz/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$ROOT/scripts/install-deps.sh"
start=$SECONDS

# No debug information in the test builds: it costs a third of the compile time and the tests do not
# need it (sanitizer reports still name functions and lines from -g1). The ASan build is -O1, as the
# sanitizer's authors recommend, with assertions on.
# The Catch2 unit tests run once, in the sanitizer build below, where they find more; this pass runs
# every shell test (CLI, interop against qemu/libvmdk, robustness) against the optimised binary.
configure_and_build "$ROOT/build" -DVMDKIT_WERROR=ON -DVMDKIT_UNIT_TESTS=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG"
echo "== test build (-Werror)"
# Four at a time on two cores: most shell tests wait on fsync and on child processes.
ctest --test-dir "$ROOT/build" --output-on-failure -j4

configure_and_build "$ROOT/build-asan" -DVMDKIT_WERROR=ON -DVMDKIT_SANITIZE=ON -DVMDKIT_UNIT_TESTS=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
echo "== test build-asan (AddressSanitizer + UndefinedBehaviorSanitizer)"
# Any sanitizer report stops the process with an exit status no test accepts (86/87, not 1), so a
# robustness test cannot mistake it for a clean "vmdkit: error:" exit. max_allocation_size_mb makes
# an unbounded allocation a failure here too (ulimit -v cannot be used under ASan).
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:exitcode=86:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:max_allocation_size_mb=2048:allocator_may_return_null=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
export VMDKIT_SANITIZED=1
# The interop tests below compare our output with qemu-img, qemu-io and libvmdk byte for byte; the
# -Werror pass above runs them all. Under the sanitizers they add 460 s of test time (about 2
# minutes of the run on two cores), and the vmdkit code they drive (consolidate, convert, write,
# rebuild, ESXi deltas, the subformat readers) runs here anyway through the unit, cli and
# robustness tests. The interop tests that read chains made by qemu (chains, esxi_read, samples)
# and repair them (repair_chain) stay in this pass.
# robustness.own_convert_kill kills convert at each of its 63 renames and unlinks and reads 5 GiB
# disks after each kill (78 s here, over 600 s under the sanitizers); what it proves is the order
# of file operations, which the sanitizers do not change, and convert's code runs under them in
# cli.cat_convert, cli.own_overwrite and cli.own_concurrent_output.
SKIP_UNDER_SANITIZERS='^(interop\.(consolidate|esxi_write|rebuild_descriptor|subformats|convert_types|write_chain|libvmdk)|robustness\.own_convert_kill)$'
ctest --test-dir "$ROOT/build-asan" --output-on-failure -j4 -E "$SKIP_UNDER_SANITIZERS"

# libFuzzer targets (docs/fuzzing.md): clang build in build-fuzz/, the committed regression inputs
# replayed, then each target fuzzed for 12 s from the fixture seeds, two at a time. Any crash,
# sanitizer report or broken property fails the run.
echo "== fuzz (libFuzzer, brief run)"
"$ROOT/tests/fuzz/run.sh" --brief 12

echo "== all tests passed in $((SECONDS - start)) s"
