// Writes through the library checked against an in-memory model of the disk: the model gets the
// same bytes, and the whole chain is read back to compare.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "vmdk/chain.hpp"
#include "vmdk/create.hpp"

namespace vmdk_test {

/// Every byte of the chain whose top is leaf.
inline std::vector<std::uint8_t> read_chain(const std::filesystem::path& leaf) {
  auto chain = vmdk::Chain::open(leaf);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(chain->capacity()));
  chain->read(0, bytes);
  return bytes;
}

/// vmdk::write of length bytes of pattern at offset into leaf, and the same into model.
inline void write_both(const std::filesystem::path& leaf, std::vector<std::uint8_t>& model,
                       std::uint64_t offset, std::uint64_t length, std::uint8_t pattern) {
  vmdk::WriteData data;
  data.kind = vmdk::WriteData::Kind::pattern;
  data.pattern = pattern;
  data.length = length;
  vmdk::write(leaf, offset, data);
  std::fill_n(model.begin() + static_cast<std::ptrdiff_t>(offset), length, pattern);
}

}  // namespace vmdk_test
