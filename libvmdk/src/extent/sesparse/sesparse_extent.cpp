// SESparse extent (vmdk-format.md 4.3.3, 6.3): virtual offset -> directory entry (16 MiB) ->
// 4096-entry table -> 4 KiB grain; unallocated defers to the parent, unmapped and zero read zeros.
#include "extent/sesparse/sesparse_extent.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "extent/field_display.hpp"
#include "extent/sesparse/sesparse_layout.hpp"
#include "extent/sesparse/sesparse_tables.hpp"
#include "extent/walked_extent.hpp"
#include "format/sesparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sesparse {

namespace {

class SesparseExtent final : public extent::WalkedExtent<SesparseExtent> {
 public:
  SesparseExtent(std::shared_ptr<const ByteSource> file, SesparseLayout layout, std::uint64_t size_bytes)
      : WalkedExtent(file, layout.name, size_bytes),
        layout_(std::move(layout)),
        tables_(std::move(file), layout_, size_bytes) {}

  // Zero grains are type-2 entries (vmdk-format.md 4.3.3).
  ExtentCapabilities capabilities() const override {
    ExtentCapabilities caps;
    caps.grain_updates = true;
    caps.zeroed_grains = true;
    return caps;
  }

  ExtentDetails details() const override {
    ExtentDetails d;
    d.format = "sesparse";
    for (const format::FieldInfo& field : format::kSesparseHeaderFields) {
      if (field.name == "magic" || field.name.substr(0, 8) == "reserved") continue;
      d.header.emplace_back(std::string(field.name), layout_.header.field(field.name));
    }
    for (const char* name : {"free_gt_number", "next_txn_seq_number", "replay_journal"}) {
      d.header.emplace_back(name, layout_.volatile_header.field(name));
    }
    extent::set_default_field_display(d);
    for (std::size_t i = 0; i < d.header.size(); ++i) {
      // Versions are major.minor in the high and low halves (0x200000001 is 2.1).
      if (d.header[i].first == "version") d.header_display[i] = FieldDisplay::version_halves;
    }
    d.grain_size = kGrainBytes;
    walk(0, size_, [&](const Run& r) {
      // Every grain whose start lies in the run (a run may cover several grains).
      if (r.state == BlockState::data) {
        d.allocated_bytes += ((r.offset + r.length + kGrainBytes - 1) / kGrainBytes -
                              (r.offset + kGrainBytes - 1) / kGrainBytes) *
                             kGrainBytes;
      }
      return true;
    });
    return d;
  }

 private:
  friend class extent::WalkedExtent<SesparseExtent>;

  // Calls f(run) for consecutive runs covering [offset, offset + length) until f returns false.
  // A run covers neighbouring grains of one state (for data: following each other on disk).
  // Each table is fetched once per call.
  template <typename F>
  void walk(std::uint64_t offset, std::uint64_t length, F&& f) const {
    const std::uint64_t end = offset + length;
    while (offset < end) {
      const std::uint64_t gd_index = offset / kCoverageBytes;
      const std::uint64_t table_end = std::min((gd_index + 1) * kCoverageBytes, end);
      SesparseTables::Table table = tables_.table(gd_index);
      if (!table) {
        if (!f(Run{offset, table_end - offset, BlockState::unallocated, kNoHostOffset, false})) return;
        offset = table_end;
        continue;
      }
      while (offset < table_end) {
        const std::uint64_t grain_start = offset - offset % kGrainBytes;
        std::uint64_t entry = (grain_start - gd_index * kCoverageBytes) / kGrainBytes;
        std::uint64_t piece_end = std::min(grain_start + kGrainBytes, table_end);
        const std::uint64_t value = table[static_cast<std::size_t>(entry)];
        Run r{offset, 0, BlockState::data, kNoHostOffset, false};
        if (value == kEntryUnallocated) {
          r.state = BlockState::unallocated;
        } else if (value == kEntryZero) {
          r.state = BlockState::zero;
        } else {
          r.host_offset = value + (offset - grain_start);
        }
        std::uint64_t expect = value;
        while (piece_end < table_end) {
          if (r.state == BlockState::data) expect += kGrainBytes;
          if (table[static_cast<std::size_t>(entry + 1)] != expect) break;
          ++entry;
          piece_end = std::min(piece_end + kGrainBytes, table_end);
        }
        r.length = piece_end - offset;
        if (!f(r)) return;
        offset = piece_end;
      }
    }
  }

  SesparseLayout layout_;
  SesparseTables tables_;
};

}  // namespace

bool has_sesparse_magic(const ByteSource& file) {
  std::array<std::uint8_t, 8> bytes{};
  return file.read_at(0, bytes) == bytes.size() && format::has_sesparse_magic(bytes);
}

std::unique_ptr<Extent> open_sesparse_extent(std::shared_ptr<const ByteSource> file,
                                             std::uint64_t size_bytes) {
  if (!file) throw UsageError("", "open_sesparse_extent needs a file");
  SesparseLayout layout = load_sesparse_layout(*file, size_bytes);
  return std::make_unique<SesparseExtent>(std::move(file), std::move(layout), size_bytes);
}

}  // namespace vmdk::sesparse
