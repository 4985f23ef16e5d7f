// A small SHA-256 (FIPS 180-4) for tests that compare whole disks with a manifest digest.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace vmdk::test {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::uint8_t> data);
  /// The digest in lowercase hex; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace vmdk::test
