// Repair plan of one hosted sparse file from its scan (vmdk-format.md 2.6, 2.7, 6.5): tables
// restored from the sound copy or cleared, the unclean-shutdown flag cleared. Leaked grains are
// reclaimed (the last grains moved into the holes) only when the layer proves them garbage: both
// table copies sound and in agreement, nothing damaged or cleared. Otherwise, and for a cut-short
// last grain, the bytes are kept in place and listed (DESIGN.md safety rules).
#include "extent/sparse/sparse_repair.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "format/grain_directory.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

namespace {

using format::kSectorSize;

struct RepairInterval {
  std::uint64_t start;
  std::uint64_t end;
};

class SparsePlanner {
 public:
  SparsePlanner(const std::filesystem::path& path, const ByteSource& file, sparse::SparseScan& scan,
                extent::RepairPlan& plan)
      : path_(path), file_(file), scan_(scan), l_(*scan.layout), plan_(plan), size_(file.size()) {}

  void run(const std::string& disk, std::uint64_t slot_start) {
    count_ = scan_.primary.size();
    slot_start_ = slot_start;
    if (shifted()) {
      // Every offset after the shift point is wrong: writing tables would only add damage. The
      // unreferenced bytes (the layer's real grains, most likely) are listed as kept.
      repaired_ = scan_.repaired;
      classify_leaks(disk);
      return;
    }
    for (const sparse::LostRange& lost : scan_.lost) {
      plan_.lost.push_back({disk, slot_start + lost.offset, lost.length, lost.reason});
    }
    repaired_ = scan_.repaired;
    changed_.assign(count_, false);
    moved_primary_.assign(count_, std::nullopt);
    moved_redundant_.assign(count_, std::nullopt);
    end_ = size_;
    classify_leaks(disk);
    if (scan_.truncate_to) keep_cut_grain(disk);
    compact();
    place_tables();
    // Never shorter than overHead: readers refuse such a file (QEMU: "File truncated").
    const std::uint64_t floor = l_.compressed ? 0 : l_.grain_floor_sector * kSectorSize;
    if (end_ < floor) {
      if (size_ < floor) {
        act("file_shorter_than_overhead", size_, "extended the file with zeros to overHead at " + hex(floor));
      }
      end_ = floor;
    }
    if (end_ != size_) plan_.truncations.emplace_back(path_, end_);
    if (l_.header.unclean_shutdown != 0) {
      plan_.headers.push_back({path_, format::sparse_header_field("unclean_shutdown").offset, {0}});
      act("unclean_shutdown", format::sparse_header_field("unclean_shutdown").offset,
          "cleared the unclean-shutdown flag");
    }
  }

 private:
  void act(std::string code, std::optional<std::uint64_t> offset, std::string message) {
    plan_.actions.push_back({std::move(code), path_.string(), offset, std::move(message)});
  }

  std::uint64_t table_bytes() const { return l_.geometry.gtes_per_gt * 4; }

  // Everything that stays where it is: header, descriptor, directories, usable tables, grains.
  std::vector<RepairInterval> occupied() const {
    std::vector<RepairInterval> used{{0, kSectorSize}};
    const format::SparseHeader& h = l_.header;
    if (h.descriptor_offset != 0) {
      used.push_back({h.descriptor_offset * kSectorSize, (h.descriptor_offset + h.descriptor_size) * kSectorSize});
    }
    const std::uint64_t dir_bytes = l_.geometry.gd_sectors * kSectorSize;
    used.push_back({l_.gd_byte_offset, l_.gd_byte_offset + dir_bytes});
    if (scan_.has_redundant) {
      const std::uint64_t at = l_.effective.rgd_offset * kSectorSize;
      used.push_back({at, at + dir_bytes});
    }
    for (int copy = 0; copy < 2; ++copy) {
      const auto& copies = copy == 0 ? scan_.primary : scan_.redundant;
      for (std::size_t i = 0; i < copies.size(); ++i) {
        if (!copies[i].usable) continue;
        const std::uint64_t at = table_at(copy, i);
        used.push_back({at, at + table_bytes()});
      }
    }
    for (const sparse::GrainTable& table : repaired_) {
      for (std::size_t e = 0; table.holds_entries() && e < table.size(); ++e) {
        const std::uint64_t at = std::uint64_t{table[e]} * kSectorSize;
        if (table[e] > format::kGteZeroed) used.push_back({at, at + l_.grain_bytes});
      }
    }
    for (const KeptGrain& k : plan_.kept) {
      if (k.file == path_.string()) used.push_back({k.offset, k.offset + k.length});
    }
    return used;
  }

  // Where copy (0 primary, 1 redundant) of table i will be: moved by compact(), or where it is.
  std::uint64_t table_at(int copy, std::size_t i) const {
    const auto& moved = copy == 0 ? moved_primary_ : moved_redundant_;
    if (moved[i]) return *moved[i];
    return std::uint64_t{(copy == 0 ? scan_.primary : scan_.redundant)[i].sector} * kSectorSize;
  }

  // Leaked space is filled with what lies furthest back in the file (grains, and tables that lie
  // among the grains), then the file is cut after the last thing still in use. The copies go to
  // unused space and the tables are switched only after the data is on disk, so a crash at any
  // point leaves a disk that reads the same.
  void compact() {
    if (reclaimable_.empty()) return;
    struct Item {
      std::uint64_t start;
      int table_copy;  // -1: a grain; 0/1: a primary/redundant table
      std::size_t index;
      std::size_t entry;
    };
    std::vector<Item> items;
    for (std::size_t i = 0; i < count_; ++i) {
      const sparse::GrainTable& table = repaired_[i];
      for (std::size_t e = 0; table.holds_entries() && e < table.size(); ++e) {
        if (table[e] > format::kGteZeroed) items.push_back({std::uint64_t{table[e]} * kSectorSize, -1, i, e});
      }
      for (int copy = 0; copy < 2; ++copy) {
        const auto& copies = copy == 0 ? scan_.primary : scan_.redundant;
        if (i < copies.size() && copies[i].usable && table_at(copy, i) >= l_.grain_floor_sector * kSectorSize) {
          items.push_back({table_at(copy, i), copy, i, 0});
        }
      }
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.start > b.start; });
    std::size_t next = 0;
    std::uint64_t moved = 0;
    for (const sparse::HostRange& leak : reclaimable_) {
      for (std::uint64_t slot = leak.offset; slot + l_.grain_bytes <= leak.offset + leak.length;
           slot += l_.grain_bytes) {
        if (next == items.size() || items[next].start <= slot || slot % kSectorSize != 0) break;
        const Item& item = items[next++];
        if (item.table_copy >= 0) {
          // The table itself is written at its new place with the other tables (place_tables).
          (item.table_copy == 0 ? moved_primary_ : moved_redundant_)[item.index] = slot;
          ++moved;
          continue;
        }
        extent::PlannedWrite copy{path_, slot, std::vector<std::uint8_t>(static_cast<std::size_t>(l_.grain_bytes))};
        const std::size_t got = file_.read_at(item.start, copy.bytes);
        copy.bytes.resize(got);
        plan_.data.push_back(std::move(copy));
        repaired_[item.index].set(item.entry, static_cast<std::uint32_t>(slot / kSectorSize));
        changed_[item.index] = true;
        ++moved;
      }
    }
    std::uint64_t leaked = 0;
    for (const sparse::HostRange& leak : reclaimable_) leaked += leak.length;
    std::uint64_t last = 0;
    for (const RepairInterval& u : occupied()) last = std::max(last, std::min(u.end, end_));
    if (last < end_) end_ = last;
    act("leaked_grains", reclaimable_.front().offset,
        "reclaimed " + hex(leaked) + " leaked bytes: " + std::to_string(moved) +
            " grains or tables moved into the holes, file cut to " + hex(end_));
  }

  bool is_free(std::uint64_t at, const std::vector<RepairInterval>& used) const {
    if (at < l_.table_floor_sector * kSectorSize || at + table_bytes() > end_) return false;
    for (const RepairInterval& u : used) {
      if (at < u.end && at + table_bytes() > u.start) return false;
    }
    return true;
  }

  // Writes every table whose kept copy differs from what is on disk; a copy whose directory entry
  // is unusable gets its usual place after its directory when that is free, else the end of file.
  void place_tables() {
    std::vector<RepairInterval> used = occupied();
    std::vector<extent::PlannedWrite> directory_writes;
    for (std::size_t i = 0; i < count_; ++i) {
      write_copy(i, scan_.primary[i], l_.gd_byte_offset, "primary", used, directory_writes);
      if (scan_.has_redundant) {
        write_copy(i, scan_.redundant[i], l_.effective.rgd_offset * kSectorSize, "redundant", used,
                   directory_writes);
      }
    }
    // Directories only after the tables they point at.
    for (extent::PlannedWrite& w : directory_writes) plan_.metadata.push_back(std::move(w));
  }

  void write_copy(std::size_t i, const sparse::TableCopy& copy, std::uint64_t dir_at, const char* which,
                  std::vector<RepairInterval>& used, std::vector<extent::PlannedWrite>& directory_writes) {
    const sparse::GrainTable& table = repaired_[i];
    const std::string name = std::string(which) + " grain table " + std::to_string(i);
    auto set_directory = [&](std::uint32_t sector) {
      std::vector<std::uint8_t> bytes(4);
      format::encode_u32_table(std::span<const std::uint32_t>(&sector, 1), bytes);
      directory_writes.push_back({path_, dir_at + i * 4, std::move(bytes)});
    };
    if (table.empty()) {
      if (copy.sector != 0) {
        set_directory(0);
        act("gd_entry_cleared", dir_at + i * 4,
            std::string(which) + " grain directory entry " + std::to_string(i) +
                " cleared: no copy of its table could be read (its range is listed as lost)");
      }
      return;
    }
    const int which_copy = &copy == &scan_.primary[i] ? 0 : 1;
    const bool moved = copy.usable && (which_copy == 0 ? moved_primary_ : moved_redundant_)[i].has_value();
    if (copy.usable && !moved && copy.entries == table) return;
    std::uint64_t at = copy.usable ? table_at(which_copy, i) : 0;
    if (moved) set_directory(static_cast<std::uint32_t>(at / kSectorSize));
    if (!copy.usable) {
      const std::uint64_t usual = dir_at + l_.geometry.gd_sectors * kSectorSize + i * table_bytes();
      at = is_free(usual, used) ? usual : (end_ + kSectorSize - 1) / kSectorSize * kSectorSize;
      if (at >= end_) end_ = at + table_bytes();
      used.push_back({at, at + table_bytes()});
      set_directory(static_cast<std::uint32_t>(at / kSectorSize));
    }
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(table_bytes()));
    format::encode_u32_table(table.expanded(), bytes);
    plan_.metadata.push_back({path_, at, std::move(bytes)});
    act(moved ? "grain_table_moved" : copy.usable ? "grain_table_rewritten" : "grain_table_restored", at,
        (moved ? "moved " : copy.usable ? "rewrote " : "restored ") + name + " to " + hex(at) +
            (moved ? " (into leaked space)" : copy.usable ? " with its repaired entries" : " from the sound copy"));
  }

  bool shifted() const { return scan_.size_unaligned; }

  // Garbage is provable only in a layer whose two table copies are sound and agree and that had
  // nothing damaged or cleared: then every table accounts for an unreferenced grain as garbage.
  bool layer_proves_garbage() const {
    if (!scan_.has_redundant || !scan_.lost.empty() || scan_.tables_need_writing || scan_.truncate_to) return false;
    return std::none_of(scan_.findings.begin(), scan_.findings.end(),
                        [](const Finding& f) { return f.severity == Severity::corruption; });
  }

  // Splits the scan's leaks into what may be reclaimed and what is kept: everything in a layer
  // that cannot prove it garbage, and in any layer what an earlier repair kept.
  void classify_leaks(const std::string& disk) {
    const bool provable = layer_proves_garbage();
    for (const sparse::HostRange& leak : scan_.leaks) {
      std::uint64_t at = leak.offset;
      const std::uint64_t end = leak.offset + leak.length;
      std::vector<const KeptGrain*> known;
      for (const KeptGrain& k : plan_.known_kept) {
        if (is_this_file(k.file) && k.offset >= at && k.offset + k.length <= end) known.push_back(&k);
      }
      std::sort(known.begin(), known.end(), [](const KeptGrain* a, const KeptGrain* b) { return a->offset < b->offset; });
      for (const KeptGrain* k : known) {
        if (k->offset < at) continue;  // overlaps one already taken
        if (k->offset > at) free_piece(disk, provable, at, k->offset - at);
        plan_.kept.push_back(*k);
        plan_.kept.back().file = path_.string();  // as this run names it
        plan_.kept.back().disk = disk;
        at = k->offset + k->length;
      }
      if (at < end) free_piece(disk, provable, at, end - at);
    }
  }

  bool is_this_file(const std::string& file) const {
    return std::filesystem::absolute(file).lexically_normal() == std::filesystem::absolute(path_).lexically_normal();
  }

  void free_piece(const std::string& disk, bool provable, std::uint64_t at, std::uint64_t length) {
    if (provable) {
      reclaimable_.push_back({at, length});
      return;
    }
    for (std::uint64_t off = at; off < at + length; off += l_.grain_bytes) {
      keep(disk, off, std::min(l_.grain_bytes, at + length - off),
           "no table references it, and a table or directory entry of this layer was damaged or cleared");
    }
  }

  // Lists [offset, offset + length) as kept, with the virtual range of an entry repair cleared
  // that pointed at it, when there is one.
  void keep(const std::string& disk, std::uint64_t offset, std::uint64_t length, std::string reason) {
    KeptGrain k{path_.string(), offset, length, disk, std::nullopt, 0, std::move(reason), {}};
    const auto& cleared = cleared_entries();
    const auto [first, last] = cleared.equal_range(offset);
    std::string named;
    for (auto it = first; it != last; ++it) {
      named += (named.empty() ? "" : " and ") + std::string("grain table ") + std::to_string(it->second.first) +
               " entry " + std::to_string(it->second.second);
    }
    // Only one entry pointing at it makes its virtual range known; several (a shared grain) do not.
    if (first != last && std::next(first) == last) {
      const std::uint64_t start = first->second.first * l_.gt_coverage_bytes + first->second.second * l_.grain_bytes;
      k.virtual_offset = slot_start_ + start;
      k.virtual_length = std::min(l_.grain_bytes, l_.capacity_bytes - start);
    }
    if (!named.empty()) k.reason += "; " + named + " pointed at it";
    plan_.kept.push_back(std::move(k));
  }

  // Host byte offset -> (table, entry) of every entry this repair clears, from either copy (an
  // entry both copies name is listed once); built once, so that listing many kept grains costs
  // one pass over the tables.
  const std::multimap<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>>& cleared_entries() {
    if (cleared_built_) return cleared_;
    cleared_built_ = true;
    for (std::size_t i = 0; i < count_; ++i) {
      for (const sparse::TableCopy* copy : {&scan_.primary[i], scan_.has_redundant ? &scan_.redundant[i] : nullptr}) {
        if (!copy || !copy->usable) continue;
        for (std::size_t e = 0; copy->entries.holds_entries() && e < copy->entries.size(); ++e) {
          const bool cleared = repaired_[i].size() <= e || repaired_[i][e] <= format::kGteZeroed;
          if (!cleared || copy->entries[e] <= format::kGteZeroed) continue;
          const std::uint64_t at = std::uint64_t{copy->entries[e]} * kSectorSize;
          const std::pair<std::uint64_t, std::uint64_t> entry{i, e};
          const auto [first, last] = cleared_.equal_range(at);
          if (std::none_of(first, last, [&](const auto& item) { return item.second == entry; })) {
            cleared_.emplace(at, entry);
          }
        }
      }
    }
    return cleared_;
  }

  // A grain cut short by the end of the file: its entry is cleared (the range is lost), but its
  // bytes stay; the file is only extended to a whole sector so that readers accept it.
  void keep_cut_grain(const std::string& disk) {
    const std::uint64_t cut = *scan_.truncate_to;
    keep(disk, cut, size_ - cut, "the cut-short last grain (the end of the file went through it)");
    end_ = (size_ + kSectorSize - 1) / kSectorSize * kSectorSize;
    act("grain_truncated", cut,
        "kept the cut-short last grain at " + hex(cut) + " in place (its range is listed as lost)" +
            (end_ != size_ ? "; extended the file with zeros to a whole sector at " + hex(end_) : ""));
  }

  const std::filesystem::path& path_;
  const ByteSource& file_;
  sparse::SparseScan& scan_;
  const sparse::KdmvLayout& l_;
  extent::RepairPlan& plan_;
  std::uint64_t size_;
  std::uint64_t end_ = 0;
  std::size_t count_ = 0;
  std::vector<sparse::GrainTable> repaired_;
  std::vector<bool> changed_;
  std::vector<std::optional<std::uint64_t>> moved_primary_;
  std::vector<std::optional<std::uint64_t>> moved_redundant_;
  std::vector<sparse::HostRange> reclaimable_;
  std::uint64_t slot_start_ = 0;
  std::multimap<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> cleared_;
  bool cleared_built_ = false;
};

}  // namespace

void plan_sparse_repair(const std::filesystem::path& path, const ByteSource& file, sparse::SparseScan& scan,
                        const std::string& disk, std::uint64_t slot_start, extent::RepairPlan& plan) {
  if (!scan.layout) return;
  SparsePlanner(path, file, scan, plan).run(disk, slot_start);
}

void plan_sparse_file_repair(const extent::RepairTarget& target, extent::RepairPlan& plan) {
  std::shared_ptr<File> file = File::open(target.path);
  SparseScan scan = scan_sparse(*file, target.slot_length);
  if (scan.footer_damaged) {
    plan_stream_salvage(target.path, *file, target.disk, target.slot_start, target.slot_length, plan);
  } else {
    plan_sparse_repair(target.path, *file, scan, target.disk, target.slot_start, plan);
  }
}

}  // namespace vmdk::sparse
