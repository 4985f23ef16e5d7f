// COWD grain directory loading and the grain-table LRU cache (vmdk-format.md 4.2.2, 7.1).
#include "extent/cowd/cowd_tables.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "io/checked_math.hpp"
#include "format/endian.hpp"
#include "format/grain_directory.hpp"
#include "vmdk/error.hpp"

namespace vmdk::cowd {

namespace {

// Cached tables take at most this many bytes (256 tables: 512 MiB of disk with 1-sector grains).
constexpr std::size_t kCacheTables = (4u << 20) / kTableBytes;

}  // namespace

CowdTables::CowdTables(std::shared_ptr<const ByteSource> file, const CowdLayout& layout,
                       std::uint64_t mapped_bytes)
    : file_(std::move(file)), layout_(layout), mapped_bytes_(mapped_bytes), cache_(kCacheTables) {
  read_directory(nullptr);
}

CowdTables::CowdTables(std::shared_ptr<const ByteSource> file, const CowdLayout& layout,
                       std::uint64_t mapped_bytes, extent::DamageLog& log)
    : file_(std::move(file)), layout_(layout), mapped_bytes_(mapped_bytes), cache_(kCacheTables) {
  read_directory(&log);
}

void CowdTables::report(extent::Damage damage, extent::DamageLog* log) const {
  extent::report_damage(layout_.name, std::move(damage), log);
}

void CowdTables::read_directory(extent::DamageLog* log) {
  const std::uint64_t count =
      std::min(vmdk::div_round_up(mapped_bytes_, layout_.gt_coverage_bytes), layout_.gd_entries_used);
  // load_cowd_layout checked that the whole directory lies inside the file: the allocation is
  // bounded by the file size.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(count * 4));
  read_exact(*file_, layout_.gd_byte_offset, bytes, "grain directory");
  directory_ = format::decode_u32_table(bytes, static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t sector = directory_[i];
    if (sector == 0) continue;
    const std::uint64_t at = layout_.gd_byte_offset + i * 4;
    if (sector < layout_.metadata_end_sector) {
      report({"gd_entry_into_metadata",
              "grain directory entry " + std::to_string(i) + " points into the metadata (sector " +
                  hex(sector) + " is before " + hex(layout_.metadata_end_sector) + ")",
              at},
             log);
      directory_[i] = 0;  // only with a log: the table is not read
      continue;
    }
    const std::uint64_t end = sector * format::kSectorSize + kTableBytes;
    if (end > layout_.file_size) {
      report({"gd_entry_past_eof",
              "grain directory entry " + std::to_string(i) + " points past end of file (" + hex(end) + " > " +
                  hex(layout_.file_size) + ")",
              at},
             log);
      directory_[i] = 0;
      continue;
    }
    tables_by_sector_.emplace_back(directory_[i], static_cast<std::uint32_t>(i));
  }
  std::sort(tables_by_sector_.begin(), tables_by_sector_.end());
  std::vector<std::uint32_t> later_sharing;
  for (std::size_t k = 1; k < tables_by_sector_.size(); ++k) {
    const auto& [prev_sector, prev_index] = tables_by_sector_[k - 1];
    const auto& [sector, index] = tables_by_sector_[k];
    if (sector < std::uint64_t{prev_sector} + kTableSectors) {
      // Two entries sharing a table would make one range's writes show up in another.
      const std::uint32_t later = std::max(prev_index, index);
      report({"gd_entries_share_table",
              "grain directory entries " + std::to_string(std::min(prev_index, index)) + " and " +
                  std::to_string(later) + " point to overlapping grain tables (sectors " + hex(prev_sector) +
                  " and " + hex(sector) + ")",
              layout_.gd_byte_offset + std::uint64_t{later} * 4},
             log);
      // Only with a log: the later entry is not scanned, so the shared table's entries are listed
      // once and its grains do not all look shared.
      later_sharing.push_back(later);
    }
  }
  for (std::uint32_t index : later_sharing) directory_[index] = 0;
}

CowdTables::Table CowdTables::table(std::uint64_t gd_index) const {
  if (gd_index >= directory_.size() || directory_[gd_index] == 0) return nullptr;
  return cache_.get(gd_index, [&] { return load(gd_index); });
}

void CowdTables::scan_table(std::uint64_t gd_index, extent::DamageLog& log, extent::GrainOverlaps* overlaps) const {
  if (gd_index >= directory_.size() || directory_[gd_index] == 0) return;
  const Table entries = read_table(gd_index);
  GoodEntry mark;
  if (overlaps != nullptr) {
    mark = [overlaps](std::uint64_t, std::uint64_t sector, std::uint64_t bytes) {
      overlaps->use(sector, vmdk::div_round_up(bytes, format::kSectorSize));
    };
  }
  check_table(gd_index, entries.get(), &log, mark);
}

void CowdTables::report_shared_grains(const extent::GrainOverlaps& overlaps, extent::DamageLog& log) const {
  if (!overlaps.found()) return;
  extent::DamageLog already_listed(0);  // the entries' other damage was listed by scan_table
  for (std::uint64_t gd_index = 0; gd_index < directory_.size(); ++gd_index) {
    if (directory_[gd_index] == 0) continue;
    const Table entries = read_table(gd_index);
    check_table(gd_index, entries.get(), &already_listed,
                [&](std::uint64_t entry, std::uint64_t sector, std::uint64_t bytes) {
                  if (!overlaps.shared(sector, vmdk::div_round_up(bytes, format::kSectorSize))) return;
                  report({"gt_entries_share_grain",
                          "grain table " + std::to_string(gd_index) + " entry " + std::to_string(entry) +
                              " points at sector " + hex(sector) + ", a grain another entry also uses",
                          entry_offset(gd_index, entry)},
                         &log);
                });
  }
}

CowdTables::Table CowdTables::read_table(std::uint64_t gd_index) const {
  // GTs are appended on demand between data sectors (4.2.2), so neighbours are never read together.
  std::array<std::uint8_t, kTableBytes> bytes{};
  read_exact(*file_, std::uint64_t{directory_[gd_index]} * format::kSectorSize, bytes,
             "grain table " + std::to_string(gd_index));
  auto entries = std::make_shared_for_overwrite<std::uint32_t[]>(format::kCowdGtes);
  for (std::size_t e = 0; e < format::kCowdGtes; ++e) entries[e] = format::load_le32(bytes, e * 4);
  return entries;
}

CowdTables::Table CowdTables::load(std::uint64_t gd_index) const {
  Table entries = read_table(gd_index);
  check_table(gd_index, entries.get(), nullptr);
  return entries;
}

void CowdTables::check_table(std::uint64_t gd_index, const std::uint32_t* entries, extent::DamageLog* log,
                             const GoodEntry& on_good) const {
  const std::uint64_t table_start = gd_index * layout_.gt_coverage_bytes;
  for (std::uint64_t e = 0; e < format::kCowdGtes; ++e) {
    const std::uint64_t grain_start = table_start + e * layout_.grain_bytes;
    if (grain_start >= mapped_bytes_) break;  // entries past the capacity are not used
    const std::uint64_t sector = entries[e];
    if (sector == format::kGteUnallocated || sector == kGteZeroGrain) continue;
    // Built only on failure: this loop runs for every allocated grain of the disk.
    auto where = [&] { return "grain table " + std::to_string(gd_index) + " entry " + std::to_string(e); };
    const std::uint64_t at = entry_offset(gd_index, e);
    if (sector < layout_.metadata_end_sector) {
      report({"gt_entry_into_metadata",
              where() + " points into the metadata (sector " + hex(sector) + " is before " +
                  hex(layout_.metadata_end_sector) + ")",
              at},
             log);
      continue;
    }
    const std::uint64_t needed = std::min(layout_.grain_bytes, mapped_bytes_ - grain_start);
    const std::uint64_t start = sector * format::kSectorSize;
    const std::uint64_t end = start + needed;
    if (end > layout_.file_size) {
      // A grain that starts inside the file was cut short (a truncated file), else it lies beyond.
      if (start < layout_.file_size) {
        report({"grain_truncated",
                where() + " points to a grain cut short by the end of the file (" + hex(end) + " > " +
                    hex(layout_.file_size) + ")",
                at},
               log);
      } else {
        report({"gt_entry_past_eof",
                where() + " points past end of file (" + hex(end) + " > " + hex(layout_.file_size) + ")", at},
               log);
      }
      continue;
    }
    // The last table starting before the grain's end must end before the grain starts.
    const std::uint64_t end_sector = vmdk::div_round_up(end, format::kSectorSize);
    auto it = std::lower_bound(tables_by_sector_.begin(), tables_by_sector_.end(), end_sector,
                               [](const auto& t, std::uint64_t s) { return t.first < s; });
    if (it != tables_by_sector_.begin() && std::uint64_t{std::prev(it)->first} + kTableSectors > sector) {
      report({"gt_entry_into_metadata",
              where() + " points into grain table " + std::to_string(std::prev(it)->second) + " (sector " +
                  hex(sector) + ")",
              at},
             log);
      continue;
    }
    if (on_good) on_good(e, sector, needed);
  }
}

}  // namespace vmdk::cowd
