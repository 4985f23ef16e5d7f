#!/usr/bin/env bash
# `cmake --install` of the build tree that made $VMDKIT gives a usable package: a separate project
# finds it with find_package(vmdkit), links vmdkit::vmdk, builds, and opens a disk with it.
set -euo pipefail
: "${VMDKIT:?}" "${TEST_TMPDIR:?}"
rm -rf "$TEST_TMPDIR"
mkdir -p "$TEST_TMPDIR/consumer"

# The binary lives in <build>/cli/vmdkit; the build tree is the folder holding CMakeCache.txt.
build=$(dirname "$VMDKIT")
while [[ $build != / && ! -f $build/CMakeCache.txt ]]; do build=$(dirname "$build"); done
[[ -f $build/CMakeCache.txt ]] || { echo "FAIL: no build tree above $VMDKIT" >&2; exit 1; }
prefix="$TEST_TMPDIR/prefix"
cmake --install "$build" --prefix "$prefix" >"$TEST_TMPDIR/install.log"
[[ -x $prefix/bin/vmdkit ]] || { echo "FAIL: vmdkit binary not installed" >&2; exit 1; }
ls "$prefix"/include/vmdk/disk.hpp >/dev/null

# Sanitized builds need the same flags in the consumer (the library's objects call into ASan).
sanitize_flags=""
if grep -q '^VMDKIT_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  sanitize_flags="-fsanitize=address,undefined"
fi
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")

cat >"$TEST_TMPDIR/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(vmdkit_consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(vmdkit REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE vmdkit::vmdk)
CMAKE
cat >"$TEST_TMPDIR/consumer/main.cpp" <<'CPP'
// Opens a disk through the installed library and prints its capacity in bytes.
#include <vmdk/disk.hpp>
#include <vmdk/error.hpp>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  try {
    auto disk = vmdk::Disk::open(argv[1]);
    std::cout << disk->capacity() << "\n";
  } catch (const vmdk::Error& e) {
    std::cerr << "consumer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
CPP
cmake -S "$TEST_TMPDIR/consumer" -B "$TEST_TMPDIR/consumer/build" -G Ninja \
  -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="$sanitize_flags" -DCMAKE_EXE_LINKER_FLAGS="$sanitize_flags" >"$TEST_TMPDIR/configure.log" ||
  { cat "$TEST_TMPDIR/configure.log" >&2; echo "FAIL: find_package(vmdkit) failed" >&2; exit 1; }
cmake --build "$TEST_TMPDIR/consumer/build" >"$TEST_TMPDIR/build.log" 2>&1 ||
  { cat "$TEST_TMPDIR/build.log" >&2; echo "FAIL: consumer does not build against the installed package" >&2; exit 1; }

# A disk to open: a descriptor with one ZERO extent of 2048 sectors needs no other file.
cat >"$TEST_TMPDIR/zero.vmdk" <<'VMDK'
# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW 2048 ZERO
VMDK
got=$("$TEST_TMPDIR/consumer/build/consumer" "$TEST_TMPDIR/zero.vmdk")
if [[ $got != 1048576 ]]; then
  echo "FAIL: consumer printed '$got', expected 1048576" >&2
  exit 1
fi
echo "ok: installed package builds a consumer that reads a disk of $got bytes"
