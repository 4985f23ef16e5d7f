// Common part of the KDMV extent kinds (vmdk-format.md 2.4, 2.5): virtual-to-grain walk, block
// status, map and coalesced reads. Sparse (plain grains) and stream (compressed grains) derive from it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "extent/sparse/grain_tables.hpp"
#include "extent/sparse/kdmv_layout.hpp"
#include "format/grain_directory.hpp"
#include "vmdk/extent.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

class KdmvExtentBase : public Extent {
 public:
  std::uint64_t size() const override { return size_; }
  Run block_status(std::uint64_t offset, std::uint64_t max_len) const override;
  void map(std::uint64_t offset, std::uint64_t length, std::vector<Run>& out) const override;
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override;
  const std::string& host_file() const override { return layout_.name; }
  const ByteSource* host_source() const override { return layout_.compressed ? nullptr : file_.get(); }
  const KdmvLayout& layout() const { return layout_; }
  /// Compressed grains cannot be updated in place; plain ones can, zeroed entries when flag bit 2 is set.
  ExtentCapabilities capabilities() const override {
    ExtentCapabilities caps;
    caps.compressed = layout_.compressed;
    caps.grain_updates = !layout_.compressed;
    caps.zeroed_grains = !layout_.compressed && (layout_.header.flags & format::kFlagZeroedGrainGte) != 0;
    return caps;
  }

 protected:
  /// size_bytes: the descriptor line's size; the range past the header capacity is unallocated.
  KdmvExtentBase(std::shared_ptr<const ByteSource> file, KdmvLayout layout, std::uint64_t size_bytes);

  /// A run inside a walked range: part of one grain, or several neighbouring grains of one state
  /// (plain data only when they follow each other on disk; compressed grains are never joined).
  struct Piece {
    std::uint64_t offset = 0;  ///< extent byte offset
    std::uint64_t length = 0;
    BlockState state = BlockState::unallocated;
    std::uint64_t grain_offset = 0;  ///< extent byte offset where the grain starts
    std::uint64_t host = kNoHostOffset;  ///< byte offset of the grain (or its record) in the file
    std::uint64_t gd_index = 0;
    std::uint64_t gt_entry = 0;
  };

  /// Calls f(piece) for consecutive pieces covering [offset, offset + length) until f returns false.
  /// Each grain table is fetched once per call.
  template <typename F>
  void walk(std::uint64_t offset, std::uint64_t length, F&& f) const;

  /// Calls f(piece) for each distinct grain inside the mapped range, table by table: a table named
  /// by several directory entries is visited once (at its first entry, where most of its grains are
  /// in use) and entries of one table naming one grain once, so the cost is bounded by the file's
  /// tables, not by what the directory claims. Grains named by two tables are not told apart.
  template <typename F>
  void for_each_distinct_grain(F&& f) const;

  /// Fills out with this layer's bytes of the compressed grain piece p (stream extents only).
  virtual void read_compressed(const Piece& p, std::span<std::uint8_t> out) const;

  /// Header fields in on-disk order for details() (footer values for GD-at-end streams).
  std::vector<std::pair<std::string, std::uint64_t>> header_fields() const;

  /// count() the first time, its answer after: info asks once per extent line, and lines naming
  /// one file share its extent (a hostile descriptor may have hundreds).
  template <typename F>
  std::uint64_t allocated_bytes_once(F&& count) const {
    std::call_once(allocated_once_, [&] { allocated_ = count(); });
    return allocated_;
  }

  void check_range(std::uint64_t offset, std::uint64_t length) const;
  Run to_run(const Piece& p) const;

  std::shared_ptr<const ByteSource> file_;
  KdmvLayout layout_;
  std::uint64_t size_;
  std::uint64_t mapped_bytes_;  ///< min(size, header capacity): the part grains can cover
  GrainTables tables_;

 private:
  mutable std::once_flag allocated_once_;
  mutable std::uint64_t allocated_ = 0;

  /// Directory entries inside the mapped range that name a table, one per distinct table (the
  /// first entry naming it), in ascending order.
  std::vector<std::uint64_t> distinct_tables() const;
};

template <typename F>
void KdmvExtentBase::for_each_distinct_grain(F&& f) const {
  const std::uint64_t grain = layout_.grain_bytes;
  const std::uint64_t coverage = layout_.gt_coverage_bytes;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> grains;  // (sector, entry)
  for (std::uint64_t gd_index : distinct_tables()) {
    GrainTables::Table table = tables_.table(gd_index);
    if (tables_.is_empty(table)) continue;
    const std::uint64_t table_start = gd_index * coverage;
    const std::uint64_t used = std::min<std::uint64_t>(layout_.geometry.gtes_per_gt,
                                                       (mapped_bytes_ - table_start + grain - 1) / grain);
    grains.clear();
    for (std::uint64_t e = 0; e < used; ++e) {
      if (table[static_cast<std::size_t>(e)] > format::kGteZeroed) grains.emplace_back(table[static_cast<std::size_t>(e)], e);
    }
    std::sort(grains.begin(), grains.end());
    for (std::size_t k = 0; k < grains.size(); ++k) {
      if (k > 0 && grains[k].first == grains[k - 1].first) continue;
      const std::uint64_t start = table_start + grains[k].second * grain;
      f(Piece{start, std::min(grain, mapped_bytes_ - start), BlockState::data, start,
              std::uint64_t{grains[k].first} * 512, gd_index, grains[k].second});
    }
  }
}

template <typename F>
void KdmvExtentBase::walk(std::uint64_t offset, std::uint64_t length, F&& f) const {
  const std::uint64_t end = offset + length;
  const std::uint64_t grain = layout_.grain_bytes;
  const std::uint64_t coverage = layout_.gt_coverage_bytes;
  while (offset < end) {
    if (offset >= mapped_bytes_) {
      f(Piece{offset, end - offset, BlockState::unallocated, offset, kNoHostOffset, 0, 0});
      return;
    }
    const std::uint64_t gd_index = offset / coverage;
    const std::uint64_t table_end = std::min({(gd_index + 1) * coverage, mapped_bytes_, end});
    GrainTables::Table table = tables_.table(gd_index);
    // An empty table is one unallocated piece, as its entries one by one would merge into.
    if (!table || tables_.is_empty(table)) {
      const std::uint64_t entry = table ? (offset - gd_index * coverage) / grain : 0;
      const std::uint64_t grain_start = table ? offset - offset % grain : offset;
      if (!f(Piece{offset, table_end - offset, BlockState::unallocated, grain_start, kNoHostOffset, gd_index, entry})) return;
      offset = table_end;
      continue;
    }
    const std::uint64_t grain_sectors = grain / 512;
    while (offset < table_end) {
      const std::uint64_t grain_start = offset - offset % grain;
      std::uint64_t entry = (offset - gd_index * coverage) / grain;
      std::uint64_t piece_end = std::min(grain_start + grain, table_end);
      const std::uint32_t gte = table[static_cast<std::size_t>(entry)];
      Piece p{offset, 0, BlockState::data, grain_start, kNoHostOffset, gd_index, entry};
      if (gte == format::kGteUnallocated) {
        p.state = BlockState::unallocated;
      } else if (gte == format::kGteZeroed) {
        // 1 can never be a grain (sector 1 is metadata): a zeroed grain with or without flag bit 2.
        p.state = BlockState::zero;
      } else {
        p.host = std::uint64_t{gte} * 512;
      }
      // One piece covers following grains of the same state (and, for plain data, the next
      // sectors on disk), so callers see runs rather than grains. Compressed grains stay single.
      if (p.state != BlockState::data || !layout_.compressed) {
        std::uint32_t expect = gte;
        while (piece_end < table_end) {
          if (p.state == BlockState::data) expect += static_cast<std::uint32_t>(grain_sectors);
          if (table[static_cast<std::size_t>(entry + 1)] != expect) break;
          ++entry;
          piece_end = std::min(piece_end + grain, table_end);
        }
      }
      p.length = piece_end - offset;
      if (!f(p)) return;
      offset = piece_end;
    }
  }
}

}  // namespace vmdk::sparse
