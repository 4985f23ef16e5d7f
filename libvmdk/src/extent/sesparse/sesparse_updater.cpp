// SESparse in-place updates (vmdk-format.md 4.3.3): redirect-on-write grains appended to the grains
// region, tables taken in allocation order from the tables region, published in the crash-safe
// order of DESIGN.md, then recorded in the free bitmap and backmap.
#include "extent/sesparse/sesparse_updater.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "extent/sesparse/sesparse_layout.hpp"
#include "extent/sesparse/sesparse_tables.hpp"
#include "io/checked_math.hpp"
#include "format/endian.hpp"
#include "format/sesparse_entry.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sesparse {

namespace {

// Writes 8-byte values at their byte offsets, one write per run of neighbouring offsets.
void write_u64_runs(File& file, const std::map<std::uint64_t, std::uint64_t>& values) {
  std::vector<std::uint8_t> run;
  std::uint64_t run_start = 0;
  auto flush_run = [&] {
    if (!run.empty()) file.write_at(run_start, run);
    run.clear();
  };
  for (const auto& [at, value] : values) {
    if (run.empty() || at != run_start + run.size()) {
      flush_run();
      run_start = at;
    }
    run.resize(run.size() + 8);
    format::store_le64(run, run.size() - 8, value);
  }
  flush_run();
}

class Updater final : public extent::GrainUpdater {
 public:
  Updater(std::shared_ptr<File> file, std::uint64_t size_bytes)
      : file_(std::move(file)), layout_(load_sesparse_layout(*file_, size_bytes)), size_(size_bytes) {
    // Validates the directory like the reader (entries well formed, in the file, no table twice).
    SesparseTables check(file_, layout_, size_);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(layout_.gd_entries_used * 8));
    read_exact(*file_, layout_.gd_byte_offset, bytes, "grain directory");
    gd_.resize(static_cast<std::size_t>(layout_.gd_entries_used));
    next_table_ = layout_.volatile_header.free_gt_number;
    for (std::size_t i = 0; i < gd_.size(); ++i) {
      gd_[i] = format::load_le64(bytes, i * 8);
      if (gd_[i] != 0) next_table_ = std::max(next_table_, (gd_[i] & 0xffffffffu) + 1);
    }
    // Append past the end of the file, not at a slot the free bitmap calls free: after a kill
    // between publishing entries and the bookkeeping, the bitmap is stale. Anything past the
    // last referenced slot that nothing points to is only a leak.
    if (layout_.file_size > layout_.grains_byte_offset) {
      next_slot_ = vmdk::div_round_up(layout_.file_size - layout_.grains_byte_offset, kGrainBytes);
    }
    append_start_ = next_slot_;
  }

  std::uint64_t grain_bytes() const override { return kGrainBytes; }
  std::uint64_t capacity_bytes() const override { return size_; }
  bool zeroed_grains() const override { return true; }

  void stage_grain(std::uint64_t grain_index, std::span<const std::uint8_t> data) override {
    check_index(grain_index);
    if (data.size() != kGrainBytes) {
      throw UsageError(layout_.name, "staged grain " + std::to_string(grain_index) + " has " +
                                         hex(data.size()) + " bytes instead of " + hex(kGrainBytes));
    }
    std::uint64_t slot = 0;
    if (auto copy = staged_copies_.find(grain_index); copy != staged_copies_.end()) {
      slot = copy->second;  // not visible to anybody yet: rewrite the staged copy
    } else {
      const std::uint64_t gd_index = grain_index / kTableEntries;
      if (gd_[gd_index] == 0 && new_tables_.count(gd_index) == 0) {
        new_tables_.emplace(gd_index, NewTable{take_table(), std::vector<std::uint64_t>(kTableEntries, 0)});
      }
      slot = take_slot();
      staged_copies_[grain_index] = slot;
    }
    std::copy(data.begin(), data.end(),
              pending_.begin() + static_cast<std::ptrdiff_t>((slot - append_start_) * kGrainBytes));
    staged_[grain_index] = format::sesparse_allocated_entry(slot);
  }

  void stage_zeroed(std::uint64_t grain_index) override {
    check_index(grain_index);
    stage_entry(grain_index, format::kSesparseZeroEntry);
  }

  void stage_unallocated(std::uint64_t grain_index) override {
    check_index(grain_index);
    stage_entry(grain_index, 0);
  }

  std::optional<std::uint64_t> grain_host_offset(std::uint64_t grain_index) const override {
    check_index(grain_index);
    const std::optional<std::uint64_t> slot = committed_slot(grain_index);
    if (!slot) return std::nullopt;
    return layout_.grains_byte_offset + *slot * kGrainBytes;
  }

  void overwrite_grain(std::uint64_t grain_index, std::span<const std::uint8_t> data) override {
    extent::overwrite_held_grain(*this, *file_, layout_.name, grain_index, data);
  }

  void flush() override { file_->flush(); }

  void commit() override {
    if (staged_.empty() && pending_.empty()) return;
    std::map<std::uint64_t, std::uint64_t> table_entries;  // byte offset -> value, existing tables
    std::map<std::uint64_t, std::uint64_t> backmap;        // byte offset -> value
    std::map<std::uint64_t, std::pair<std::uint8_t, std::uint8_t>> bitmap;  // byte -> (set, clear)
    for (const auto& [grain, value] : staged_) {
      const std::uint64_t gd_index = grain / kTableEntries, entry = grain % kTableEntries;
      if (auto t = new_tables_.find(gd_index); t != new_tables_.end()) {
        t->second.entries[static_cast<std::size_t>(entry)] = value;
      } else {
        table_entries[table_byte_offset(gd_[gd_index]) + entry * 8] = value;
        // The committed grain this entry replaces is free once the new entry is durable.
        if (std::optional<std::uint64_t> old = committed_slot(grain)) {
          backmap[layout_.header.backmap_offset * format::kSectorSize + *old * 8] = 0;
          bitmap[*old / 8].second |= static_cast<std::uint8_t>(1u << (*old % 8));
        }
      }
      if (format::sesparse_entry_type(value) == format::kSesparseTypeAllocated) {
        const std::uint64_t slot = format::sesparse_entry_slot(value);
        backmap[layout_.header.backmap_offset * format::kSectorSize + slot * 8] =
            format::sesparse_backmap_entry(grain);
        bitmap[slot / 8].first |= static_cast<std::uint8_t>(1u << (slot % 8));
      }
    }
    // 1. Grains and new tables holding their entries: nothing points to these bytes until step 2,
    //    so a kill here leaves only a leak.
    if (!pending_.empty())
      file_->write_at(layout_.grains_byte_offset + append_start_ * kGrainBytes, pending_);
    std::vector<std::uint8_t> table(kTableBytes);
    for (const auto& [gd_index, t] : new_tables_) {
      for (std::size_t e = 0; e < kTableEntries; ++e) format::store_le64(table, e * 8, t.entries[e]);
      file_->write_at(layout_.gt_byte_offset + t.index * kTableBytes, table);
    }
    file_->flush();
    // 2. Entries of existing tables, then the directory entries of the new tables, fsync.
    write_u64_runs(*file_, table_entries);
    std::map<std::uint64_t, std::uint64_t> directory;
    for (const auto& [gd_index, t] : new_tables_) {
      gd_[gd_index] = format::sesparse_gd_entry(t.index);
      directory[layout_.gd_byte_offset + gd_index * 8] = gd_[gd_index];
    }
    write_u64_runs(*file_, directory);
    file_->flush();
    // 3. Bookkeeping for ESXi's space reclamation, which readers do not use: a kill before it
    //    leaves grains the bitmap calls free, so the constructor never trusts the bitmap.
    write_bitmap(bitmap);
    write_u64_runs(*file_, backmap);
    if (next_table_ != layout_.volatile_header.free_gt_number) {
      layout_.volatile_header.free_gt_number = next_table_;
      std::array<std::uint8_t, 8> bytes{};
      format::store_le64(bytes, 0, next_table_);
      file_->write_at(layout_.header.volatile_header_offset * format::kSectorSize +
                          format::sesparse_volatile_field("free_gt_number").offset,
                      bytes);
    }
    file_->flush();
    layout_.file_size = std::max(layout_.file_size, layout_.grains_byte_offset + next_slot_ * kGrainBytes);
    staged_.clear();
    staged_copies_.clear();
    new_tables_.clear();
    pending_.clear();
    append_start_ = next_slot_;
  }

  std::size_t staged() const override { return staged_.size(); }

 private:
  struct NewTable {
    std::uint64_t index;                 // in the tables region
    std::vector<std::uint64_t> entries;  // all of the table
  };

  void check_index(std::uint64_t grain_index) const {
    if (grain_index >= vmdk::div_round_up(size_, kGrainBytes)) {
      throw UsageError(layout_.name, "grain " + std::to_string(grain_index) + " lies past the extent's " +
                                         hex(size_) + " bytes");
    }
  }

  // A zero or unallocated entry; a staged copy of the grain stays reserved for a later stage_grain.
  void stage_entry(std::uint64_t grain_index, std::uint64_t value) {
    const std::uint64_t gd_index = grain_index / kTableEntries;
    if (gd_[gd_index] == 0 && new_tables_.count(gd_index) == 0) {
      if (value == 0) {
        staged_.erase(grain_index);  // no table: the grain is unallocated already
        return;
      }
      new_tables_.emplace(gd_index, NewTable{take_table(), std::vector<std::uint64_t>(kTableEntries, 0)});
    }
    staged_[grain_index] = value;
  }

  std::uint64_t table_byte_offset(std::uint64_t gd_entry) const {
    return layout_.gt_byte_offset + (gd_entry & 0xffffffffu) * kTableBytes;
  }

  // The grain slot a committed allocated entry names, checked like the reader checks it.
  std::optional<std::uint64_t> committed_slot(std::uint64_t grain_index) const {
    const std::uint64_t gd_index = grain_index / kTableEntries;
    if (gd_[gd_index] == 0) return std::nullopt;
    const std::uint64_t at = table_byte_offset(gd_[gd_index]) + (grain_index % kTableEntries) * 8;
    std::array<std::uint8_t, 8> bytes{};
    read_exact(*file_, at, bytes, "grain table entry");
    const std::uint64_t raw = format::load_le64(bytes, 0);
    const std::string what =
        "grain table " + std::to_string(gd_index) + " entry " + std::to_string(grain_index % kTableEntries);
    switch (format::sesparse_entry_type(raw)) {
      case format::kSesparseTypeUnallocated:
        if (raw != 0)
          throw FormatError(layout_.name, what + " has type 0 but is not 0 (" + hex(raw) + ")", at);
        return std::nullopt;
      case format::kSesparseTypeUnmapped:
      case format::kSesparseTypeZero:
        return std::nullopt;
      case format::kSesparseTypeAllocated: {
        const std::uint64_t slot = format::sesparse_entry_slot(raw);
        if (slot >= layout_.grain_slots || layout_.grains_byte_offset + (slot + 1) * kGrainBytes >
                                               std::max(file_->size(), layout_.file_size)) {
          throw FormatError(layout_.name,
                            what + " points past the grains region or the file (grain " + hex(slot) + ")",
                            at);
        }
        return slot;
      }
      default:
        throw FormatError(layout_.name, what + " has the unknown type " + hex(raw >> 60), at);
    }
  }

  std::uint64_t take_slot() {
    const std::uint64_t slot = next_slot_;
    const bool fits = slot < layout_.grain_slots &&
                      slot / 8 < layout_.header.free_bitmap_size * format::kSectorSize &&
                      slot < layout_.header.backmap_size * format::kSectorSize / 8;
    if (!fits) {
      throw FormatError(layout_.name,
                        "no room for grain slot " + hex(slot) + ": the grains region holds " +
                            hex(layout_.grain_slots) + " grains (or the free bitmap or backmap fewer)",
                        format::sesparse_header_field("grains_size").offset);
    }
    ++next_slot_;
    pending_.resize(static_cast<std::size_t>((next_slot_ - append_start_) * kGrainBytes), 0);
    return slot;
  }

  std::uint64_t take_table() {
    if (next_table_ >= layout_.gt_count) {
      throw FormatError(layout_.name,
                        "no room for another grain table: the tables region holds " + hex(layout_.gt_count),
                        format::sesparse_header_field("grain_tables_size").offset);
    }
    return next_table_++;
  }

  // Sets and clears free-bitmap bits (bit i%8 of byte i/8 for slot i), one read and one write
  // per run of neighbouring bytes.
  void write_bitmap(const std::map<std::uint64_t, std::pair<std::uint8_t, std::uint8_t>>& changes) {
    const std::uint64_t base = layout_.header.free_bitmap_offset * format::kSectorSize;
    for (auto it = changes.begin(); it != changes.end();) {
      auto end = std::next(it);
      while (end != changes.end() && end->first == std::prev(end)->first + 1) ++end;
      const std::uint64_t first = it->first;
      std::vector<std::uint8_t> bytes(static_cast<std::size_t>(std::prev(end)->first - first + 1));
      read_exact(*file_, base + first, bytes, "SESparse free bitmap");
      for (; it != end; ++it) {
        std::uint8_t& b = bytes[static_cast<std::size_t>(it->first - first)];
        b = static_cast<std::uint8_t>((b & ~it->second.second) | it->second.first);
      }
      file_->write_at(base + first, bytes);
    }
  }

  std::shared_ptr<File> file_;
  SesparseLayout layout_;
  std::uint64_t size_;
  std::vector<std::uint64_t> gd_;  // raw directory entries
  std::uint64_t next_slot_ = 0;
  std::uint64_t next_table_ = 0;
  std::uint64_t append_start_ = 0;                        // first grain slot of pending_
  std::vector<std::uint8_t> pending_;                     // appended grains not yet written
  std::map<std::uint64_t, std::uint64_t> staged_;         // grain -> entry value
  std::map<std::uint64_t, std::uint64_t> staged_copies_;  // grain -> slot of its staged copy
  std::map<std::uint64_t, NewTable> new_tables_;          // directory index -> table
};

}  // namespace

std::unique_ptr<extent::GrainUpdater> open_sesparse_updater(std::shared_ptr<File> file,
                                                             std::uint64_t size_bytes) {
  return std::make_unique<Updater>(std::move(file), size_bytes);
}

}  // namespace vmdk::sesparse
