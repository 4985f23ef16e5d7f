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
#include "format/grain_directory.hpp"
#include "vmdk/error.hpp"

namespace vmdk::cowd {

namespace {

// Appends r to out (from index first on), merging it into the last run when both continue each
// other: same state, and for data the next bytes of the host file.
void append_run(std::vector<Run>& out, std::size_t first, const Run& r) {
  if (out.size() > first) {
    Run& last = out.back();
    if (last.offset + last.length == r.offset && last.state == r.state &&
        (r.state != BlockState::data || last.host_offset + last.length == r.host_offset)) {
      last.length += r.length;
      return;
    }
  }
  out.push_back(r);
}

class CowdExtent final : public Extent {
 public:
  CowdExtent(std::shared_ptr<const ByteSource> file, CowdLayout layout, std::uint64_t size_bytes)
      : file_(file),
        layout_(std::move(layout)),
        size_(size_bytes),
        tables_(std::move(file), layout_, size_bytes) {}

  std::uint64_t size() const override { return size_; }

  Run block_status(std::uint64_t offset, std::uint64_t max_len) const override {
    if (offset >= size_ || max_len == 0) {
      throw UsageError(layout_.name, "block status at " + hex(offset) + " is outside the extent", offset);
    }
    std::vector<Run> runs;
    walk(offset, std::min(max_len, size_ - offset), [&](const Run& r) {
      append_run(runs, 0, r);
      return runs.size() == 1;  // stop at the first piece that does not extend the first run
    });
    return runs.front();
  }

  void map(std::uint64_t offset, std::uint64_t length, std::vector<Run>& out) const override {
    check_range(offset, length);
    const std::size_t first = out.size();
    walk(offset, length, [&](const Run& r) {
      append_run(out, first, r);
      return true;
    });
  }

  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    check_range(offset, out.size());
    // One pending pread that grows while grains follow each other on disk.
    std::uint64_t pending_host = 0;
    std::size_t pending_pos = 0;
    std::size_t pending_len = 0;
    auto flush = [&] {
      if (pending_len != 0)
        read_exact(*file_, pending_host, out.subspan(pending_pos, pending_len), "grain data");
      pending_len = 0;
    };
    walk(offset, out.size(), [&](const Run& r) {
      const auto pos = static_cast<std::size_t>(r.offset - offset);
      const auto len = static_cast<std::size_t>(r.length);
      if (r.state != BlockState::data) {
        std::memset(out.data() + pos, 0, len);
      } else if (pending_len != 0 && pending_host + pending_len == r.host_offset &&
                 pending_pos + pending_len == pos) {
        pending_len += len;
      } else {
        flush();
        pending_host = r.host_offset;
        pending_pos = pos;
        pending_len = len;
      }
      return true;
    });
    flush();
  }

  const std::string& host_file() const override { return layout_.name; }
  // Grains are stored as they are: a chain may read data runs straight from the file.
  const ByteSource* host_source() const override { return file_.get(); }

  ExtentDetails details() const override {
    static constexpr const char* kShown[] = {
        "version",         "flags",       "num_sectors",       "grain_size", "gd_offset",
        "num_gd_entries",  "free_sector", "parent_generation", "generation", "saved_generation",
        "unclean_shutdown"};
    ExtentDetails d;
    d.format = "cowd";
    for (const char* name : kShown) d.header.emplace_back(name, layout_.header.field(name));
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
  void check_range(std::uint64_t offset, std::uint64_t length) const {
    if (offset > size_ || length > size_ - offset) {
      throw UsageError(
          layout_.name,
          "range " + hex(offset) + "+" + hex(length) + " is outside the extent (" + hex(size_) + " bytes)",
          offset);
    }
  }

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

  std::shared_ptr<const ByteSource> file_;
  CowdLayout layout_;
  std::uint64_t size_;
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
