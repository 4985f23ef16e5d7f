// SHA-256 for tests that compare whole disks with a manifest digest: the library's own (checked
// against the FIPS 180-4 test vectors in tests/unit/keep_sha256_test.cpp).
#pragma once

#include "io/sha256.hpp"

namespace vmdk::test {

using Sha256 = vmdk::Sha256;

}  // namespace vmdk::test
