// SESparse grain directory loading, grain table decoding and the table LRU cache
// (vmdk-format.md 4.3.3: directory entry encoding, entry types, split grain index).
#include "extent/sesparse/sesparse_tables.hpp"

#include <algorithm>
#include <string>

#include "io/checked_math.hpp"
#include "format/endian.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sesparse {

namespace {

constexpr std::uint64_t kGdAllocatedHigh = 0x10000000;  // high half of an allocated directory entry
// Cached tables take at most this many bytes (128 tables: 2 GiB of disk).
constexpr std::size_t kCacheTables = (4u << 20) / kTableBytes;

}  // namespace

SesparseTables::SesparseTables(std::shared_ptr<const ByteSource> file, const SesparseLayout& layout,
                               std::uint64_t mapped_bytes)
    : file_(std::move(file)), layout_(layout), mapped_bytes_(mapped_bytes), cache_(kCacheTables) {
  read_directory(nullptr);
}

SesparseTables::SesparseTables(std::shared_ptr<const ByteSource> file, const SesparseLayout& layout,
                               std::uint64_t mapped_bytes, extent::DamageLog& log)
    : file_(std::move(file)), layout_(layout), mapped_bytes_(mapped_bytes), cache_(kCacheTables) {
  read_directory(&log);
}

void SesparseTables::report(extent::Damage damage, extent::DamageLog* log) const {
  extent::report_damage(layout_.name, std::move(damage), log);
}

void SesparseTables::read_directory(extent::DamageLog* log) {
  const std::uint64_t count =
      std::min(vmdk::div_round_up(mapped_bytes_, kCoverageBytes), layout_.gd_entries_used);
  // load_sesparse_layout checked that these entries lie inside the file (and capacity < 64 TiB):
  // the allocation is bounded by both.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(count * 8));
  read_exact(*file_, layout_.gd_byte_offset, bytes, "grain directory");
  directory_.resize(static_cast<std::size_t>(count));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> used;  // (table index, directory index)
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t entry = format::load_le64(bytes, static_cast<std::size_t>(i * 8));
    directory_[static_cast<std::size_t>(i)] = entry;
    if (entry == 0) continue;
    const std::uint64_t at = layout_.gd_byte_offset + i * 8;
    const std::string what = "grain directory entry " + std::to_string(i);
    const std::uint64_t table = entry & 0xffffffffu;
    const std::uint64_t end = layout_.gt_byte_offset + (table + 1) * kTableBytes;
    if ((entry >> 32) != kGdAllocatedHigh) {
      report({"gd_entry_invalid", what + " is neither 0 nor 0x10000000 in its high half (" + hex(entry) + ")",
              at},
             log);
    } else if (table >= layout_.gt_count) {
      report({"gd_entry_invalid",
              what + " refers to grain table " + hex(table) + " but the tables region holds " +
                  hex(layout_.gt_count),
              at},
             log);
    } else if (end > layout_.file_size) {
      report({"gd_entry_past_eof",
              what + " points past end of file (" + hex(end) + " > " + hex(layout_.file_size) + ")", at},
             log);
    } else {
      used.emplace_back(table, i);
      continue;
    }
    directory_[static_cast<std::size_t>(i)] = 0;  // only with a log: the table is not read
  }
  std::sort(used.begin(), used.end());
  std::vector<std::uint64_t> later_sharing;
  for (std::size_t k = 1; k < used.size(); ++k) {
    if (used[k].first == used[k - 1].first) {
      // Two ranges sharing a table would read each other's grains.
      const std::uint64_t later = std::max(used[k].second, used[k - 1].second);
      report({"gd_entries_share_table",
              "grain directory entries " + std::to_string(std::min(used[k].second, used[k - 1].second)) +
                  " and " + std::to_string(later) + " both use grain table " + hex(used[k].first),
              layout_.gd_byte_offset + later * 8},
             log);
      // Only with a log: the later entry is not scanned, so the shared table's entries are listed
      // once and its grains do not all look shared.
      later_sharing.push_back(later);
    }
  }
  for (std::uint64_t index : later_sharing) directory_[static_cast<std::size_t>(index)] = 0;
}

SesparseTables::Table SesparseTables::table(std::uint64_t gd_index) const {
  if (gd_index >= directory_.size() || directory_[gd_index] == 0) return nullptr;
  return cache_.get(gd_index, [&] { return load(gd_index, nullptr); });
}

void SesparseTables::scan_table(std::uint64_t gd_index, extent::DamageLog& log,
                                extent::GrainOverlaps* overlaps) const {
  if (gd_index >= directory_.size() || directory_[gd_index] == 0) return;
  const Table entries = load(gd_index, &log);
  if (overlaps == nullptr) return;
  for (std::uint64_t e = 0; e < kTableEntries; ++e) {
    if (entries[e] > kEntryZero) overlaps->use(grain_slot(entries[e]), 1);
  }
}

void SesparseTables::report_shared_grains(const extent::GrainOverlaps& overlaps, extent::DamageLog& log) const {
  if (!overlaps.found()) return;
  extent::DamageLog already_listed(0);  // the entries' other damage was listed by scan_table
  for (std::uint64_t gd_index = 0; gd_index < directory_.size(); ++gd_index) {
    if (directory_[gd_index] == 0) continue;
    const Table entries = load(gd_index, &already_listed);
    for (std::uint64_t e = 0; e < kTableEntries; ++e) {
      if (entries[e] <= kEntryZero) continue;
      const std::uint64_t slot = grain_slot(entries[e]);
      if (!overlaps.shared(slot, 1)) continue;
      report({"gt_entries_share_grain",
              "grain table " + std::to_string(gd_index) + " entry " + std::to_string(e) + " points at grain " +
                  hex(slot) + ", which another entry also uses",
              entry_offset(gd_index, e)},
             &log);
    }
  }
}

SesparseTables::Table SesparseTables::load(std::uint64_t gd_index, extent::DamageLog* log) const {
  const std::uint64_t table_at = layout_.gt_byte_offset + (directory_[gd_index] & 0xffffffffu) * kTableBytes;
  std::vector<std::uint8_t> bytes(kTableBytes);
  read_exact(*file_, table_at, bytes, "grain table " + std::to_string(gd_index));
  auto entries = std::make_shared<std::uint64_t[]>(kTableEntries);  // zero: entries past the capacity
  const std::uint64_t table_start = gd_index * kCoverageBytes;
  for (std::uint64_t e = 0; e < kTableEntries; ++e) {
    const std::uint64_t grain_start = table_start + e * kGrainBytes;
    if (grain_start >= mapped_bytes_) break;  // entries past the capacity are not used
    const std::uint64_t raw = format::load_le64(bytes, static_cast<std::size_t>(e * 8));
    // Built only on failure: this loop runs for every grain of the disk.
    auto where = [&] { return "grain table " + std::to_string(gd_index) + " entry " + std::to_string(e); };
    const std::uint64_t at = table_at + e * 8;
    switch (raw >> 60) {
      case 0x0:
        if (raw != 0) {
          report(
              {"gt_entry_invalid", where() + " has type 0 (unallocated) but is not 0 (" + hex(raw) + ")", at},
              log);
        }
        break;
      case 0x1:  // unmapped by a guest SCSI UNMAP: zeros (QEMU, xen-orchestra; 4.3.3 and section 9)
      case 0x2:  // zero grain
        entries[e] = kEntryZero;
        break;
      case 0x3: {
        // Bits 48-59 hold the low 12 bits of the grain index, bits 0-47 the high bits.
        const std::uint64_t index = ((raw >> 48) & 0xfff) | ((raw & 0x0000ffffffffffffull) << 12);
        if (index >= layout_.grain_slots) {
          report({"gt_entry_invalid",
                  where() + " points past the grains region (grain " + hex(index) + " of " +
                      hex(layout_.grain_slots) + ")",
                  at},
                 log);
          break;
        }
        const std::uint64_t host = layout_.grains_byte_offset + index * kGrainBytes;
        const std::uint64_t end = host + std::min(kGrainBytes, mapped_bytes_ - grain_start);
        if (end > layout_.file_size) {
          // A grain that starts inside the file was cut short (a truncated file), else it lies beyond.
          if (host < layout_.file_size) {
            report({"grain_truncated",
                    where() + " points to a grain cut short by the end of the file (" + hex(end) + " > " +
                        hex(layout_.file_size) + ")",
                    at},
                   log);
          } else {
            report({"gt_entry_past_eof",
                    where() + " points past end of file (" + hex(end) + " > " + hex(layout_.file_size) + ")",
                    at},
                   log);
          }
          break;
        }
        entries[e] = host;
        break;
      }
      default:
        report({"gt_entry_invalid",
                where() + " has the unknown type " + hex(raw >> 60) + " (" + hex(raw) + ")", at},
               log);
    }
  }
  return entries;
}

}  // namespace vmdk::sesparse
