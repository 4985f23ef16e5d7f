// In-memory builder of hosted sparse (KDMV) and streamOptimized test images (vmdk-format.md 2, 3):
// header fields, embedded descriptor, GD/RGD/GTs, plain and compressed grains, markers, footer, EOS.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/sparse_header.hpp"
#include "vmdk/io.hpp"

namespace vmdk::test {

enum class KdmvKind {
  sparse,                 ///< plain grains, GD/GTs (and RGD) in front, overHead grain-aligned (QEMU/VMware)
  stream_footer,          ///< layout A: GD_AT_END, GT markers after each table's grains, GD, footer, EOS
  stream_front,           ///< layout B (open-vmdk): GD/GTs after the descriptor, overHead not rounded, EOS
  stream_qemu,            ///< layout C (QEMU): sparse metadata with RGD, grain markers, zero tail
  compressed_no_markers,  ///< 2.12: u32 length + zlib data per grain, GD/GTs in front
};

/// A built image plus where its structures are, so tests can damage them precisely.
struct KdmvImage {
  std::vector<std::uint8_t> bytes;
  format::SparseHeader header;          ///< sector 0 as written
  std::uint64_t footer_offset = 0;      ///< byte offset of the footer, 0 when none
  std::uint64_t gd_sector = 0;          ///< primary directory
  std::uint64_t rgd_sector = 0;         ///< redundant directory, 0 when none
  std::vector<std::uint64_t> gt_sectors;  ///< primary table per directory entry, 0 = none
  std::map<std::uint64_t, std::uint64_t> grain_sectors;  ///< grain index -> sector of grain/record
  std::uint64_t grain_sectors_per_grain = 128;
  std::uint64_t gtes_per_gt = 512;

  /// Byte offset of the primary GTE of a grain (its table must exist).
  std::uint64_t gte_offset(std::uint64_t grain_index) const;
  /// Byte offset of primary directory entry gd_index.
  std::uint64_t gde_offset(std::uint64_t gd_index) const { return gd_sector * 512 + gd_index * 4; }
  /// Writes value little-endian (size bytes) at offset.
  void poke(std::uint64_t offset, std::size_t size, std::uint64_t value);
  /// Changes a header field (by the codec's field table) in sector 0, or in the footer.
  void poke_header(std::string_view field, std::uint64_t value, bool footer = false);
  std::shared_ptr<MemoryFile> file(std::string name = "disk.vmdk") const;
};

class KdmvBuilder {
 public:
  explicit KdmvBuilder(std::uint64_t capacity_sectors, KdmvKind kind = KdmvKind::sparse);

  KdmvBuilder& version(std::uint32_t v) { version_ = v; return *this; }
  KdmvBuilder& flags(std::uint32_t f) { flags_ = f; return *this; }
  KdmvBuilder& grain_sectors(std::uint64_t g) { grain_sectors_ = g; return *this; }
  KdmvBuilder& gtes_per_gt(std::uint32_t n) { gtes_per_gt_ = n; return *this; }
  /// Embedded descriptor text in `sectors` sectors at sector 1 (NUL padded); sectors 0 = none.
  KdmvBuilder& descriptor(std::string text, std::uint64_t sectors = 20);
  KdmvBuilder& redundant(bool on) { redundant_ = on; return *this; }
  /// Grain `index` holds data (zero padded to the grain unless compress_as_given).
  KdmvBuilder& grain(std::uint64_t index, std::vector<std::uint8_t> data);
  KdmvBuilder& fill_grain(std::uint64_t index, std::uint8_t byte);
  /// GTE 1 for grain `index` (sets flags bit 2 and version 2 unless set explicitly).
  KdmvBuilder& zero_grain(std::uint64_t index);
  KdmvBuilder& raw_deflate(bool on) { raw_deflate_ = on; return *this; }
  /// Compress grain data exactly as given (shorter than a grain) instead of a full padded grain.
  KdmvBuilder& compress_as_given(bool on) { compress_as_given_ = on; return *this; }
  /// Puts a type-4 ("progress") marker before every grain record (marker layouts only).
  KdmvBuilder& progress_markers(bool on) { progress_markers_ = on; return *this; }

  KdmvImage build() const;

 private:
  std::uint64_t capacity_;
  KdmvKind kind_;
  std::optional<std::uint32_t> version_;
  std::optional<std::uint32_t> flags_;
  std::uint64_t grain_sectors_ = 128;
  std::uint32_t gtes_per_gt_ = 512;
  std::string descriptor_;
  std::uint64_t descriptor_sectors_ = 0;
  std::optional<bool> redundant_;
  bool raw_deflate_ = false;
  bool compress_as_given_ = false;
  bool progress_markers_ = false;
  std::map<std::uint64_t, std::vector<std::uint8_t>> grains_;  // empty vector = zeroed grain (GTE 1)
  std::map<std::uint64_t, bool> zeroed_;
};

/// Deterministic pseudo-random bytes (a simple LCG) for grain contents.
std::vector<std::uint8_t> pattern_bytes(std::size_t size, std::uint32_t seed);

}  // namespace vmdk::test
