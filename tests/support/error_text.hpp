// The message of the vmdk::Error an action throws ("" when it throws none), for tests that check
// what a user would read.
#pragma once

#include <functional>
#include <string>

#include "vmdk/error.hpp"

namespace vmdk_test {

inline std::string error_text(const std::function<void()>& action) {
  try {
    action();
  } catch (const vmdk::Error& error) {
    return error.what();
  }
  return "";
}

}  // namespace vmdk_test
