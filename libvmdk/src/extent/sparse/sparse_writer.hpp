// Writer of a new hosted sparse (KDMV) extent (vmdk-format.md 2.1, 2.4, 2.7): header, embedded
// descriptor area, redundant and primary directories with every grain table pre-allocated, then
// grains appended in ascending order. Tables are written as the writer moves past them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "extent/extent_writer.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

struct SparseWriterParams {
  std::uint64_t capacity_bytes = 0;   ///< a positive multiple of 512 (need not be a grain multiple)
  std::uint64_t grain_bytes = 65536;  ///< power of two, 4 KiB .. 1 MiB
  std::uint32_t gtes_per_gt = 512;
  bool zeroed_grains = false;         ///< header version 2 and flag bit 2 (else version 1, flags 0x3)
  /// Embedded descriptor text (monolithicSparse, deltas): written at sector 1, NUL padded to
  /// descriptor_sectors. Empty text with descriptor_sectors > 0 reserves an empty area (split parts,
  /// as QEMU does); descriptor_sectors 0 means no area at all.
  std::string descriptor;
  std::uint64_t descriptor_sectors = 20;
};

/// Starts a new sparse extent in file (random access, expected empty). The header is written
/// last, by finish(), so an interrupted file never looks valid. Throws UsageError for bad params
/// (a descriptor longer than its area, a grain size out of range), IoError.
std::unique_ptr<ExtentWriter> make_sparse_writer(std::shared_ptr<ByteSink> file, const SparseWriterParams& params);

}  // namespace vmdk::sparse
