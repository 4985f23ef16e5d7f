// vmdk::Error and the hex spelling used in every message.
#include "vmdk/error.hpp"

#include <cstdio>

namespace vmdk {

namespace {
std::string compose(const std::string& file, const std::string& message) {
  return file.empty() ? message : file + ": " + message;
}
}  // namespace

Error::Error(std::string file, std::string message, std::optional<std::uint64_t> offset)
    : std::runtime_error(compose(file, message)),
      file_(std::move(file)),
      message_(std::move(message)),
      offset_(offset) {}

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

}  // namespace vmdk
