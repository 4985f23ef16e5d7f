// Shared by the libFuzzer targets in tests/fuzz: a broken property becomes a finding (the input is
// saved and the run stops) just like a sanitizer report or an exception that is not a vmdk::Error.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace vmdk_fuzz {

/// Prints what broke and aborts: libFuzzer reports the abort as a crash and writes the input out.
[[noreturn]] inline void broken(const std::string& what) {
  std::fprintf(stderr, "fuzz property broken: %s\n", what.c_str());
  std::abort();
}

inline void require(bool ok, const char* what) {
  if (!ok) broken(what);
}

}  // namespace vmdk_fuzz
