// Scan of a hosted sparse / stream file for check and repair (vmdk-format.md 2.4-2.7, 3.5, 6.5):
// header, embedded descriptor area, both directories, every table entry, shared grains, leaks.
#include "extent/sparse/sparse_scan.hpp"

#include <algorithm>
#include <array>

#include "extent/finding_codes.hpp"
#include "extent/sparse/record_check.hpp"
#include "io/checked_math.hpp"
#include "format/grain_directory.hpp"
#include "format/marker.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

namespace {

using format::kSectorSize;

struct Interval {
  std::uint64_t start;
  std::uint64_t end;
};

class Scanner {
 public:
  Scanner(const ByteSource& file, SparseScan& out, ScanUse use)
      : file_(file), out_(out), use_(use), size_(file.size()) {}

  void run(std::uint64_t size_bytes);

 private:
  // Severity and repairable come from the registry (extent/finding_codes.cpp).
  void add(std::string_view code, std::optional<std::uint64_t> offset, std::string message) {
    if (out_.findings.size() >= kMaxFindingsPerFile) {
      ++dropped_;
      return;
    }
    out_.findings.push_back(make_finding(code, out_.file, offset, std::move(message)));
  }
  void finish() {
    if (dropped_ == 0) return;
    out_.findings.push_back(make_finding("more_findings", out_.file, std::nullopt,
                                         std::to_string(dropped_) + " more findings of this file are not listed"));
  }

  bool load_layout();
  void check_header(std::uint64_t size_bytes);
  void check_descriptor_area();
  void scan_tables();
  std::vector<TableCopy> read_directory(std::uint64_t dir_at, const char* which);
  void note_tables_as_metadata();
  void read_tables(std::vector<TableCopy>& copies, const char* which);
  void find_shared_tables();
  void check_entries(TableCopy& copy, std::uint64_t index, const char* which);
  bool record_sound(const std::string& name, std::uint64_t start, std::uint64_t index, std::uint64_t entry);
  void combine();
  void find_shared_grains();
  void find_leaks();
  void check_alignment();

  std::uint64_t grain_start(std::uint64_t index, std::uint64_t entry) const {
    return index * layout().gt_coverage_bytes + entry * layout().grain_bytes;
  }
  const KdmvLayout& layout() const { return *out_.layout; }
  std::string table_name(const char* which, std::uint64_t index) const {
    return std::string(which) + " grain table " + std::to_string(index);
  }
  // Byte offset of directory entry index (the redundant directory's when redundant).
  std::uint64_t entry_at(bool redundant, std::uint64_t index) const {
    return (redundant ? layout().effective.rgd_offset * kSectorSize : layout().gd_byte_offset) + index * 4;
  }
  void lose(std::uint64_t index, std::uint64_t entry, const std::string& reason) {
    if (use_ == ScanUse::findings) return;
    const std::uint64_t start = grain_start(index, entry);
    out_.lost.push_back({start, std::min(layout().grain_bytes, mapped_ - start), reason});
  }

  const ByteSource& file_;
  SparseScan& out_;
  ScanUse use_;
  std::uint64_t size_;
  std::uint64_t mapped_ = 0;  // virtual bytes the tables answer for
  std::uint64_t count_ = 0;   // directory entries in use
  std::size_t dropped_ = 0;
  std::vector<Interval> metadata_;  // header, descriptor, directories, tables
  std::optional<RecordChecker> records_;  // compressed extents: every grain record is decompressed
};

bool Scanner::load_layout() {
  if (size_ < kSectorSize) {
    add("header_truncated", 0,
        "sparse header is cut short: the file has only " + hex(size_) + " bytes");
    return false;
  }
  std::array<std::uint8_t, format::kSparseHeaderSize> bytes{};
  read_exact(file_, 0, bytes, "sparse header");
  const format::SparseHeader header = format::decode_sparse_header(bytes);
  const bool stream = header.gd_offset == format::kGdAtEnd && (header.flags & format::kFlagCompressed) != 0;
  try {
    out_.layout = load_kdmv_layout(file_);
    return true;
  } catch (const FormatError& error) {
    const std::uint64_t at = error.offset().value_or(0);
    // The last three sectors of a directory-at-end stream: footer marker, footer, end of stream.
    if (stream && header.magic == format::kSparseMagic && (size_ < 4 * kSectorSize || at + 3 * kSectorSize >= size_)) {
      out_.footer_damaged = true;
      add("stream_footer_invalid", at,
          error.message() + " (the stream was probably cut short; repair salvages its grains)");
    } else {
      add("header_invalid", at, error.message());
    }
  } catch (const UnsupportedError& error) {
    add("header_unsupported", error.offset(), error.message());
  }
  return false;
}

void Scanner::check_header(std::uint64_t size_bytes) {
  const format::SparseHeader& h = layout().header;
  if (size_bytes != 0 && layout().capacity_bytes != size_bytes) {
    add("header_capacity_mismatch", format::sparse_header_field("capacity").offset,
        "sparse header capacity " + hex(layout().capacity_bytes) + " bytes disagrees with the descriptor's " +
            hex(size_bytes) + " bytes for this extent");
  }
  if (!layout().compressed && size_ < layout().grain_floor_sector * kSectorSize) {
    add("file_shorter_than_overhead", format::sparse_header_field("overhead").offset,
        "the file (" + hex(size_) + " bytes) ends before the first grain at " +
            hex(layout().grain_floor_sector * kSectorSize) + " (overHead): it was cut short");
  }
  if (h.unclean_shutdown != 0) {
    add("unclean_shutdown", format::sparse_header_field("unclean_shutdown").offset,
        "sparse header says the disk was not closed cleanly (uncleanShutdown " + std::to_string(h.unclean_shutdown) +
            ")");
  }
}

void Scanner::check_descriptor_area() {
  const format::SparseHeader& h = layout().header;
  if (h.descriptor_offset == 0 || h.descriptor_size == 0) return;
  // load_kdmv_layout bounded the area (at most 10 MiB, inside the file).
  std::vector<std::uint8_t> area(static_cast<std::size_t>(h.descriptor_size * kSectorSize));
  read_exact(file_, h.descriptor_offset * kSectorSize, area, "embedded descriptor");
  if (area.front() == 0 || std::find(area.begin(), area.end(), 0) != area.end()) return;
  if (area.back() == '\n') return;  // filled exactly, but it ends with a whole line
  add("embedded_descriptor_overflow", h.descriptor_offset * kSectorSize,
      "embedded descriptor fills all " + hex(area.size()) +
          " bytes of its space without an end: it was written past its reserved sectors and cut off");
}

// The directory and the verdict on each entry, without reading a table: tables that several
// entries name are never read (find_shared_tables sets them all aside), so a directory whose
// million entries name one table costs one pass, not a million table reads.
std::vector<TableCopy> Scanner::read_directory(std::uint64_t dir_at, const char* which) {
  const KdmvLayout& l = layout();
  std::vector<std::uint8_t> dir(static_cast<std::size_t>(count_ * 4));
  read_exact(file_, dir_at, dir, std::string(which) + " grain directory");
  const auto sectors = format::decode_u32_table(dir, static_cast<std::size_t>(count_));
  dir = {};
  const std::uint64_t gt_bytes = l.geometry.gtes_per_gt * 4;
  std::vector<TableCopy> copies(static_cast<std::size_t>(count_));
  for (std::uint64_t i = 0; i < count_; ++i) {
    TableCopy& copy = copies[i];
    copy.sector = sectors[i];
    if (copy.sector == 0) continue;
    const std::uint64_t entry_offset = dir_at + i * 4;
    const std::uint64_t at = std::uint64_t{copy.sector} * kSectorSize;
    const std::string name = std::string(which) + " grain directory entry " + std::to_string(i);
    bool overlaps = false;
    for (const Interval& m : metadata_) overlaps = overlaps || (at < m.end && at + gt_bytes > m.start);
    if (copy.sector < l.table_floor_sector || overlaps) {
      add("gd_entry_into_metadata", entry_offset,
          name + " points into the header or a directory (sector " + hex(copy.sector) + ")");
      continue;
    }
    if (at + gt_bytes > size_) {
      add("gd_entry_past_eof", entry_offset,
          name + " points past end of file (" + hex(at + gt_bytes) + " > " + hex(size_) + ")");
      continue;
    }
    copy.usable = true;  // lies inside the file: read by read_tables unless another entry names it
  }
  return copies;
}

// Every table a directory names is metadata (a grain must not overlap one), even a table two
// entries claim: it is somebody's. Each table is listed once however many entries name it.
void Scanner::note_tables_as_metadata() {
  std::vector<std::uint32_t> sectors;
  for (const std::vector<TableCopy>* copies : {&out_.primary, &out_.redundant}) {
    for (const TableCopy& c : *copies) {
      if (c.usable) sectors.push_back(c.sector);
    }
  }
  std::sort(sectors.begin(), sectors.end());
  sectors.erase(std::unique(sectors.begin(), sectors.end()), sectors.end());
  for (std::uint32_t sector : sectors) {
    const std::uint64_t at = std::uint64_t{sector} * kSectorSize;
    metadata_.push_back({at, at + layout().geometry.gtes_per_gt * 4});
  }
}

void Scanner::read_tables(std::vector<TableCopy>& copies, const char* which) {
  const KdmvLayout& l = layout();
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(l.geometry.gtes_per_gt * 4));
  for (std::size_t i = 0; i < copies.size(); ++i) {
    TableCopy& copy = copies[i];
    if (!copy.usable) continue;
    read_exact(file_, std::uint64_t{copy.sector} * kSectorSize, bytes, table_name(which, i));
    copy.entries = GrainTable::of(format::decode_u32_table(bytes, static_cast<std::size_t>(l.geometry.gtes_per_gt)));
  }
}

// A table named by more than one directory entry, in either directory: none of them can be
// trusted, each is restored from its other copy. The one exception is a redundant entry naming
// the primary table of the same index, which leaves the primary sound.
void Scanner::find_shared_tables() {
  // A claim is index * 2 + (1 for the redundant copy): 8 bytes each, sorted by the sector it
  // names, then by directory order.
  auto copy_of = [&](std::uint64_t claim) -> TableCopy& {
    return (claim & 1) != 0 ? out_.redundant[claim >> 1] : out_.primary[claim >> 1];
  };
  std::vector<std::uint64_t> claims;
  claims.reserve(static_cast<std::size_t>(
      std::count_if(out_.primary.begin(), out_.primary.end(), [](const TableCopy& c) { return c.usable; }) +
      std::count_if(out_.redundant.begin(), out_.redundant.end(), [](const TableCopy& c) { return c.usable; })));
  for (std::uint64_t i = 0; i < count_; ++i) {
    if (out_.primary[i].usable) claims.push_back(i * 2);
    if (out_.has_redundant && out_.redundant[i].usable) claims.push_back(i * 2 + 1);
  }
  std::sort(claims.begin(), claims.end(), [&](std::uint64_t a, std::uint64_t b) {
    return copy_of(a).sector != copy_of(b).sector ? copy_of(a).sector < copy_of(b).sector : a < b;
  });
  for (std::size_t k = 0; k < claims.size();) {
    std::size_t n = 1;
    while (k + n < claims.size() && copy_of(claims[k + n]).sector == copy_of(claims[k]).sector) ++n;
    if (n == 2 && claims[k] >> 1 == claims[k + 1] >> 1) {
      const std::uint64_t index = claims[k] >> 1;
      TableCopy& r = out_.redundant[index];
      r.usable = false;
      add("gd_rgd_share_table", entry_at(true, index),
          "redundant grain directory entry " + std::to_string(index) + " points at the primary table (sector " +
              hex(r.sector) + ") instead of a copy");
    } else if (n > 1) {
      for (std::size_t j = k; j < k + n; ++j) {
        const bool redundant = (claims[j] & 1) != 0;
        TableCopy& c = copy_of(claims[j]);
        c.usable = false;
        add("gd_entries_share_table", entry_at(redundant, claims[j] >> 1),
            std::string(redundant ? "redundant" : "primary") + " grain directory entry " +
                std::to_string(claims[j] >> 1) + " names table sector " + hex(c.sector) +
                ", which another directory entry names too");
      }
    }
    k += n;
  }
}

void Scanner::check_entries(TableCopy& copy, std::uint64_t index, const char* which) {
  const KdmvLayout& l = layout();
  if (!copy.entries.holds_entries()) return;  // names no grain
  const std::uint64_t table_at = std::uint64_t{copy.sector} * kSectorSize;
  for (std::uint64_t e = 0; e < copy.entries.size() && grain_start(index, e) < mapped_; ++e) {
    const std::uint64_t sector = copy.entries[e];
    if (sector <= format::kGteZeroed) continue;
    const std::uint64_t start = sector * kSectorSize;
    // A compressed grain is a record whose length its marker gives; a plain one a whole grain.
    const std::uint64_t needed = l.compressed ? (l.markers ? format::kGrainMarkerHeaderSize
                                                           : format::kNoMarkerLengthSize)
                                              : std::min(l.grain_bytes, mapped_ - grain_start(index, e));
    const std::string name = table_name(which, index) + " entry " + std::to_string(e);
    const std::uint64_t at = table_at + e * 4;
    bool into_metadata = sector < l.grain_floor_sector;
    for (const Interval& m : metadata_) into_metadata = into_metadata || (start < m.end && start + needed > m.start);
    if (into_metadata) {
      add("gt_entry_into_metadata", at,
          name + " points into the metadata (sector " + hex(sector) + ")");
    } else if (start >= size_ || (l.compressed && start + needed > size_)) {
      add("gt_entry_past_eof", at,
          name + " points past end of file (" + hex(start) + " >= " + hex(size_) + ")");
    } else if (start + needed > size_) {
      add("grain_truncated", at,
          name + ": its grain at " + hex(start) + " is cut short by the end of the file (" + hex(start + needed) +
              " > " + hex(size_) + ")");
    } else if (!l.compressed || record_sound(name, start, index, e)) {
      continue;
    }
    copy.mark_bad(e);
  }
}

// A compressed grain's record: the marker's LBA is the grain's, the data fits in the file, and it
// decompresses to at most one grain (reads fail on each of these, so each is a corruption).
bool Scanner::record_sound(const std::string& name, std::uint64_t start, std::uint64_t index, std::uint64_t entry) {
  if (!records_) records_.emplace(file_, layout());
  const std::uint64_t offset = grain_start(index, entry);
  const RecordProblem problem = records_->check(start, offset, mapped_ - offset);
  if (problem.kind == RecordProblem::Kind::none) return true;
  if (problem.kind == RecordProblem::Kind::record) {
    add("grain_marker_invalid", start,
        "grain record of " + name + " at " + hex(start) + " is damaged or cut short: " + problem.reason);
  } else {
    add("grain_data_corrupt", start,
        "compressed grain of " + name + " at " + hex(start) + " cannot be decompressed: " + problem.reason);
  }
  return false;
}

// Decides, table by table, which copy a repair keeps (vmdk-format.md 2.6, 6.5): a copy whose
// directory entry and entries are sound wins; bad entries are taken from the other copy when it
// has them right, else cleared and listed as lost.
void Scanner::combine() {
  out_.repaired.assign(static_cast<std::size_t>(count_), {});
  for (std::uint64_t i = 0; i < count_; ++i) {
    const TableCopy& p = out_.primary[i];
    const TableCopy* r = out_.has_redundant ? &out_.redundant[i] : nullptr;
    const TableCopy* base = nullptr;
    const TableCopy* other = nullptr;
    if (p.usable && (!r || !r->usable || p.bad_count() <= r->bad_count())) {
      base = &p;
      other = r && r->usable ? r : nullptr;
    } else if (r && r->usable) {
      base = r;
      other = p.usable ? &p : nullptr;
    }
    if (r && (p.sector == 0) != (r->sector == 0)) {
      add("gd_copies_differ", entry_at(p.sector != 0, i),
          std::string(p.sector == 0 ? "primary" : "redundant") + " grain directory entry " + std::to_string(i) +
              " is 0 while the other copy has a table");
    }
    if (!base) {
      // No readable copy although a directory names a table: its whole range is lost, and an
      // empty table takes its place (VMware and VirtualBox expect every table pre-allocated).
      if (p.sector != 0 || (r && r->sector != 0)) {
        const std::uint64_t start = i * layout().gt_coverage_bytes;
        if (use_ == ScanUse::repair) {
          out_.lost.push_back({start, std::min(layout().gt_coverage_bytes, mapped_ - start),
                               "no readable copy of grain table " + std::to_string(i)});
        }
        // Only a repair writes it; for check an empty table and none name the same grains.
        if (use_ == ScanUse::repair) {
          out_.repaired[i] = GrainTable::unallocated(static_cast<std::size_t>(layout().geometry.gtes_per_gt));
        }
        out_.tables_need_writing = true;
      }
      continue;
    }
    GrainTable table = base->entries;
    for (std::uint64_t e = 0; base->any_bad() && e < table.size(); ++e) {
      if (!base->is_bad(e)) continue;
      if (other && !other->is_bad(e) && other->entries[e] != base->entries[e]) {
        table.set(e, other->entries[e]);
      } else {
        table.set(e, format::kGteUnallocated);
        lose(i, e, "grain table " + std::to_string(i) + " entry " + std::to_string(e) + " was damaged in every copy");
      }
    }
    if (other && (base->entries.holds_entries() || other->entries.holds_entries())) {
      bool reported = false;
      for (std::uint64_t e = 0; e < table.size() && !reported; ++e) {
        if (base->is_bad(e) || other->is_bad(e) || base->entries[e] == other->entries[e]) continue;
        reported = true;
        add("gt_copies_differ", std::uint64_t{other->sector} * kSectorSize + e * 4,
            "grain table " + std::to_string(i) + " entry " + std::to_string(e) + " differs between the copies (" +
                hex(base->entries[e]) + " kept, " + hex(other->entries[e]) + " in the other copy)");
      }
    }
    out_.repaired[i] = std::move(table);
    if (!p.usable || p.entries != out_.repaired[i] || (r && (!r->usable || r->entries != out_.repaired[i]))) {
      out_.tables_need_writing = true;
    }
  }
}

// Two entries naming one grain (or overlapping grains): neither can be trusted, both are cleared.
void Scanner::find_shared_grains() {
  struct Use {
    std::uint64_t start;
    std::uint64_t index;
    std::uint64_t entry;
  };
  std::vector<Use> uses;
  for (std::uint64_t i = 0; i < count_; ++i) {
    const GrainTable& table = out_.repaired[i];
    for (std::uint64_t e = 0; table.holds_entries() && e < table.size(); ++e) {
      if (table[e] > format::kGteZeroed) uses.push_back({std::uint64_t{table[e]} * kSectorSize, i, e});
    }
  }
  std::sort(uses.begin(), uses.end(), [](const Use& a, const Use& b) { return a.start < b.start; });
  // A compressed record's length is not known here: records collide when they start together.
  const std::uint64_t span = layout().compressed ? kSectorSize : layout().grain_bytes;
  std::vector<bool> shared(uses.size(), false);
  for (std::size_t k = 1; k < uses.size(); ++k) {
    if (uses[k].start < uses[k - 1].start + span) shared[k] = shared[k - 1] = true;
  }
  for (std::size_t k = 0; k < uses.size(); ++k) {
    if (!shared[k]) continue;
    const Use& u = uses[k];
    const TableCopy& p = out_.primary[u.index];
    const std::uint64_t at = (p.usable ? std::uint64_t{p.sector} : std::uint64_t{out_.redundant[u.index].sector}) *
                                 kSectorSize + u.entry * 4;
    add("gt_entries_share_grain", at,
        "grain table " + std::to_string(u.index) + " entry " + std::to_string(u.entry) + " points at sector " +
            hex(u.start / kSectorSize) + ", a grain another entry also uses");
    out_.repaired[u.index].set(u.entry, format::kGteUnallocated);
    lose(u.index, u.entry, "grain shared with another entry");
    out_.tables_need_writing = true;
  }
}

void Scanner::find_leaks() {
  std::vector<Interval> used = metadata_;
  used.push_back({0, layout().grain_floor_sector * kSectorSize});
  for (std::uint64_t i = 0; i < count_; ++i) {
    for (const std::vector<TableCopy>* copies : {&out_.primary, &out_.redundant}) {
      if (i < copies->size() && (*copies)[i].usable) {
        const std::uint64_t at = std::uint64_t{(*copies)[i].sector} * kSectorSize;
        used.push_back({at, at + layout().geometry.gtes_per_gt * 4});
      }
    }
    const GrainTable& table = out_.repaired[i];
    for (std::size_t e = 0; table.holds_entries() && e < table.size(); ++e) {
      const std::uint64_t at = std::uint64_t{table[e]} * kSectorSize;
      if (table[e] > format::kGteZeroed) used.push_back({at, std::min(size_, at + layout().grain_bytes)});
    }
  }
  std::sort(used.begin(), used.end(), [](const Interval& a, const Interval& b) { return a.start < b.start; });
  std::uint64_t end_of_use = 0;
  auto report = [&](std::uint64_t from, std::uint64_t to) {
    if (to - from < layout().grain_bytes) return;  // padding, not a grain
    out_.leaks.push_back({from, to - from});
    add("leaked_grains", from,
        hex(to - from) + " bytes at " + hex(from) + " (" + std::to_string((to - from) / layout().grain_bytes) +
            " grains) are used by no grain table entry");
  };
  for (const Interval& u : used) {
    // Space past the end of the file leaks nothing (a damaged directory can name a table there).
    if (u.start > end_of_use && end_of_use < size_) report(end_of_use, std::min(u.start, size_));
    end_of_use = std::max(end_of_use, u.end);
  }
  if (end_of_use < size_) report(end_of_use, size_);
}

// Every writer grows a sparse file by whole sectors; a size that is not one, with no grain cut
// short at the end to explain it, means bytes were inserted or removed inside the file (typically
// an embedded descriptor edited and saved by a text editor): every structure after that point is
// misplaced, and the grains the tables no longer find are the layer's data, not garbage.
void Scanner::check_alignment() {
  if (size_ % kSectorSize == 0 || out_.truncate_to) return;
  const bool cut = std::any_of(out_.findings.begin(), out_.findings.end(),
                               [](const Finding& f) { return f.code == "grain_truncated"; });
  if (cut) return;
  out_.size_unaligned = true;
  add("file_size_unaligned", size_,
      "file size " + hex(size_) + " is not a whole number of sectors and no grain ends there cut short: bytes were "
      "inserted into or removed from the file (an embedded descriptor edited in a text editor?), so the structures "
      "after that point are misplaced and the unreferenced bytes are probably this layer's grains; repair keeps "
      "them and changes nothing in this file");
}

void Scanner::scan_tables() {
  const KdmvLayout& l = layout();
  const format::SparseHeader& h = l.effective;
  const std::uint64_t dir_bytes = l.geometry.gd_sectors * kSectorSize;
  metadata_.push_back({0, kSectorSize});
  if (l.header.descriptor_offset != 0) {
    metadata_.push_back({l.header.descriptor_offset * kSectorSize,
                         (l.header.descriptor_offset + l.header.descriptor_size) * kSectorSize});
  }
  metadata_.push_back({l.gd_byte_offset, l.gd_byte_offset + dir_bytes});
  // Streams with the directory at the end keep no redundant copy (the technote says to ignore
  // rgdOffset there); QEMU's streams, with the directory in front, do.
  const bool wants_redundant = (h.flags & format::kFlagRedundantGd) != 0 && !l.footer;
  if (wants_redundant) {
    const std::uint64_t at = h.rgd_offset * kSectorSize;
    if (h.rgd_offset < l.table_floor_sector || h.rgd_offset >= (1ull << 32) || at + count_ * 4 > size_ ||
        (at < l.gd_byte_offset + dir_bytes && at + dir_bytes > l.gd_byte_offset)) {
      add("rgd_offset_invalid", format::sparse_header_field("rgd_offset").offset,
          "sparse header redundant grain directory offset " + hex(h.rgd_offset) +
              " is out of range or overlaps the grain directory");
    } else {
      out_.has_redundant = true;
      metadata_.push_back({at, at + dir_bytes});
    }
  }
  out_.primary = read_directory(l.gd_byte_offset, "primary");
  if (out_.has_redundant) out_.redundant = read_directory(h.rgd_offset * kSectorSize, "redundant");
  note_tables_as_metadata();
  find_shared_tables();
  read_tables(out_.primary, "primary");
  read_tables(out_.redundant, "redundant");
  for (std::uint64_t i = 0; i < count_; ++i) {
    if (out_.primary[i].usable) check_entries(out_.primary[i], i, "primary");
    if (out_.has_redundant && out_.redundant[i].usable) check_entries(out_.redundant[i], i, "redundant");
  }
  combine();
  find_shared_grains();
  if (l.compressed) return;  // records have no fixed size: no cut grain to drop, no leak search
  // A cut-short grain that ends the file is dropped together with the tail.
  std::uint64_t highest = 0;
  std::optional<std::uint64_t> cut;
  for (std::uint64_t i = 0; i < count_; ++i) {
    const TableCopy& p = out_.primary[i];
    for (std::uint64_t e = 0; p.entries.holds_entries() && e < p.entries.size(); ++e) {
      const std::uint64_t start = std::uint64_t{p.entries[e]} * kSectorSize;
      if (p.entries[e] <= format::kGteZeroed || start >= size_) continue;
      highest = std::max(highest, start);
      if (p.is_bad(e) && start + l.grain_bytes > size_ && start >= l.grain_floor_sector * kSectorSize) {
        cut = start;
      }
    }
  }
  if (cut && *cut == highest) out_.truncate_to = cut;
  check_alignment();
  // Without the redundant directory the redundant tables cannot be told from unused space.
  if (!wants_redundant || out_.has_redundant) find_leaks();
}

void Scanner::run(std::uint64_t size_bytes) {
  if (!load_layout()) {
    finish();
    return;
  }
  const KdmvLayout& l = layout();
  check_header(size_bytes);
  check_descriptor_area();
  mapped_ = l.capacity_bytes;
  count_ = std::min(l.geometry.num_gd_entries, vmdk::div_round_up(mapped_, l.gt_coverage_bytes));
  scan_tables();
  finish();
}

}  // namespace

GrainTable::GrainTable(const GrainTable& other)
    : body_(other.body_ ? std::make_unique<Body>(*other.body_) : nullptr) {}

GrainTable& GrainTable::operator=(const GrainTable& other) {
  if (this != &other) *this = GrainTable(other);
  return *this;
}

GrainTable GrainTable::unallocated(std::size_t n) {
  GrainTable table;
  if (n != 0) table.body_ = std::make_unique<Body>(Body{static_cast<std::uint32_t>(n), {}});  // numGTEsPerGT: 32 bits
  return table;
}

GrainTable GrainTable::of(std::vector<std::uint32_t> entries) {
  GrainTable table = unallocated(entries.size());
  if (std::any_of(entries.begin(), entries.end(), [](std::uint32_t s) { return s != 0; })) {
    table.body_->entries = std::move(entries);
  }
  return table;
}

void GrainTable::set(std::size_t e, std::uint32_t sector) {
  if (!holds_entries()) {
    if (sector == 0) return;
    body_->entries.assign(body_->size, 0);
  }
  body_->entries[e] = sector;
}

std::vector<std::uint32_t> GrainTable::expanded() const {
  return holds_entries() ? body_->entries : std::vector<std::uint32_t>(size(), 0);
}

bool GrainTable::operator==(const GrainTable& other) const {
  if (size() != other.size()) return false;
  if (!holds_entries() && !other.holds_entries()) return true;
  for (std::size_t e = 0; e < size(); ++e) {
    if ((*this)[e] != other[e]) return false;
  }
  return true;
}

std::size_t TableCopy::bad_count() const {
  return bad_ ? static_cast<std::size_t>(std::count(bad_->begin(), bad_->end(), true)) : 0;
}

void TableCopy::mark_bad(std::size_t e) {
  if (!bad_) bad_ = std::make_unique<std::vector<bool>>(entries.size(), false);
  (*bad_)[e] = true;
}

SparseScan scan_sparse(const ByteSource& file, std::uint64_t size_bytes, ScanUse use) {
  SparseScan scan;
  scan.file = file.name();
  Scanner(file, scan, use).run(size_bytes);
  return scan;
}

}  // namespace vmdk::sparse
