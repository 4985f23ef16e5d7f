// Writes through the library checked against an in-memory model of the disk: the model gets the
// same bytes, and the whole chain is read back to compare.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "vmdk/chain.hpp"
#include "vmdk/create.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/write.hpp"

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

/// A 48 MiB monolithicSparse disk in dir with four snapshots above it, each layer written at twelve
/// scattered places (some hiding grains below), so a 4 MiB read gathers pieces from several files.
/// Returns the leaf; model receives the chain's expected bytes.
inline std::filesystem::path scattered_chain(const std::filesystem::path& dir, std::vector<std::uint8_t>& model) {
  vmdk::CreateOptions create;
  create.capacity = 48u << 20;
  create.seed = 7;
  std::filesystem::path leaf = dir / "disk.vmdk";
  vmdk::create(leaf, create);
  model.assign(create.capacity, 0);
  for (int layer = 0; layer < 4; ++layer) {
    for (int k = 0; k < 12; ++k) {
      const std::uint64_t grain = static_cast<std::uint64_t>((layer * 37 + k * 53) % 768);
      write_both(leaf, model, grain * 65536 + 100, 70000, static_cast<std::uint8_t>(layer * 16 + k + 1));
    }
    vmdk::SnapshotOptions snap;
    snap.seed = 8;
    leaf = dir / vmdk::snapshot(leaf, snap).path;
  }
  return leaf;
}

}  // namespace vmdk_test
