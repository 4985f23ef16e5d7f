// SHA-256 (FIPS 180-4) over byte spans: the digest undo logs keep of the bytes repair wrote, so
// that `repair --undo` can tell a disk that changed since from one that did not.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace vmdk {

class Sha256 {
 public:
  Sha256();
  /// Adds bytes to the message.
  void update(std::span<const std::uint8_t> bytes);
  /// The digest as 64 lower-case hex digits; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void block(const std::uint8_t* p);

  std::array<std::uint32_t, 8> h_{};
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t used_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace vmdk
