// COWD extent (vmdk-format.md 4.2.2, 6.3): virtual offset -> directory entry -> 4096-entry table
// -> grain sector; GTE 0 defers to the parent (unallocated), 1 reads zeros, others are data.
#include "extent/cowd/cowd_extent.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "extent/cowd/cowd_layout.hpp"
#include "extent/cowd/cowd_tables.hpp"
#include "extent/field_display.hpp"
#include "extent/walked_extent.hpp"
#include "format/grain_directory.hpp"
#include "vmdk/error.hpp"

namespace vmdk::cowd {

namespace {

class CowdExtent final : public extent::WalkedExtent<CowdExtent> {
 public:
  CowdExtent(std::shared_ptr<const ByteSource> file, CowdLayout layout, std::uint64_t size_bytes)
      : WalkedExtent(file, layout.name, size_bytes),
        layout_(std::move(layout)),
        tables_(std::move(file), layout_, size_bytes) {}

  // COWD has no zeroed-grain entry that QEMU reads (cowd_updater.hpp).
  ExtentCapabilities capabilities() const override {
    ExtentCapabilities caps;
    caps.grain_updates = true;
    return caps;
  }

  ExtentDetails details() const override {
    static constexpr const char* kShown[] = {
        "version",         "flags",       "num_sectors",       "grain_size", "gd_offset",
        "num_gd_entries",  "free_sector", "parent_generation", "generation", "saved_generation",
        "unclean_shutdown"};
    ExtentDetails d;
    d.format = "cowd";
    for (const char* name : kShown) d.header.emplace_back(name, layout_.header.field(name));
    extent::set_default_field_display(d);
    d.grain_size = layout_.grain_bytes;
    const std::uint64_t g = layout_.grain_bytes;
    walk(0, size_, [&](const Run& r) {
      // Every grain whose start lies in the run (a run may cover several grains).
      if (r.state == BlockState::data)
        d.allocated_bytes += ((r.offset + r.length + g - 1) / g - (r.offset + g - 1) / g) * g;
      return true;
    });
    return d;
  }

 private:
  friend class extent::WalkedExtent<CowdExtent>;

  // Calls f(run) for consecutive runs covering [offset, offset + length) until f returns false.
  // A run covers neighbouring grains of one state (for data: following each other on disk), so
  // callers see runs rather than 512-byte grains. Each table is fetched once per call.
  template <typename F>
  void walk(std::uint64_t offset, std::uint64_t length, F&& f) const {
    const std::uint64_t end = offset + length;
    const std::uint64_t grain = layout_.grain_bytes;
    const std::uint64_t coverage = layout_.gt_coverage_bytes;
    const std::uint64_t grain_sectors = grain / 512;
    while (offset < end) {
      const std::uint64_t gd_index = offset / coverage;
      const std::uint64_t table_end = std::min((gd_index + 1) * coverage, end);
      CowdTables::Table table = tables_.table(gd_index);
      if (!table) {
        if (!f(Run{offset, table_end - offset, BlockState::unallocated, kNoHostOffset, false})) return;
        offset = table_end;
        continue;
      }
      while (offset < table_end) {
        const std::uint64_t grain_start = offset - offset % grain;
        std::uint64_t entry = (grain_start - gd_index * coverage) / grain;
        std::uint64_t piece_end = std::min(grain_start + grain, table_end);
        const std::uint32_t gte = table[static_cast<std::size_t>(entry)];
        Run r{offset, 0, BlockState::data, kNoHostOffset, false};
        if (gte == format::kGteUnallocated) {
          r.state = BlockState::unallocated;
        } else if (gte == kGteZeroGrain) {
          r.state = BlockState::zero;  // see kGteZeroGrain for why 1 means zeros
        } else {
          r.host_offset = std::uint64_t{gte} * 512 + (offset - grain_start);
        }
        std::uint64_t expect = gte;
        while (piece_end < table_end) {
          if (r.state == BlockState::data) expect += grain_sectors;
          if (table[static_cast<std::size_t>(entry + 1)] != expect) break;
          ++entry;
          piece_end = std::min(piece_end + grain, table_end);
        }
        r.length = piece_end - offset;
        if (!f(r)) return;
        offset = piece_end;
      }
    }
  }

  CowdLayout layout_;
  CowdTables tables_;
};

}  // namespace

bool has_cowd_magic(const ByteSource& file) {
  std::array<std::uint8_t, 4> bytes{};
  return file.read_at(0, bytes) == bytes.size() && format::has_cowd_magic(bytes);
}

std::unique_ptr<Extent> open_cowd_extent(std::shared_ptr<const ByteSource> file, std::uint64_t size_bytes) {
  if (!file) throw UsageError("", "open_cowd_extent needs a file");
  CowdLayout layout = load_cowd_layout(*file, size_bytes);
  return std::make_unique<CowdExtent>(std::move(file), std::move(layout), size_bytes);
}

}  // namespace vmdk::cowd
