// Grain directory loading and the grain-table LRU cache (vmdk-format.md 2.4, 2.5, 7.1).
#include "extent/sparse/grain_tables.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <string>

#include "io/checked_math.hpp"
#include "io/block_pool.hpp"
#include "format/endian.hpp"
#include "format/grain_directory.hpp"
#include "format/marker.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

namespace {

// Storage for the decoded tables of one batch: from the block pool, which recycles the memory of
// evicted batches and hands out huge pages (a deep chain loads thousands of tables, and every fresh
// 4 KiB heap page costs a fault). Mapping each batch with MAP_POPULATE saved the faults but cost an
// mmap and a munmap per batch, about 10 ms more for opening a depth-33 chain in a virtual machine.
std::shared_ptr<std::uint32_t[]> table_storage(std::size_t entries) { return io::pooled_array<std::uint32_t>(entries); }

// Cached tables take at most this many bytes (512-entry tables: 2048 tables = 64 GiB of disk).
constexpr std::size_t kCacheBytes = 4u << 20;
// At most this many bytes of neighbouring tables are read together (64 default tables, 2 GiB of disk).
constexpr std::uint64_t kBatchBytes = 128u << 10;
// The all-zero table of `entries` entries, one per table size for the whole process: a split disk
// made by create has thousands of extents whose tables are all empty (8 TiB: 262,144 tables), and
// none of them needs memory of its own.
std::shared_ptr<const std::uint32_t[]> shared_empty_table(std::uint64_t entries) {
  static std::mutex mutex;
  static auto* tables = new std::unordered_map<std::uint64_t, std::shared_ptr<const std::uint32_t[]>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto& table = (*tables)[entries];
  if (!table) table = std::shared_ptr<const std::uint32_t[]>(new std::uint32_t[static_cast<std::size_t>(entries)]());
  return table;
}

bool grain_table_all_zero(const std::uint32_t* entries, std::uint64_t count) {
  std::uint32_t any = 0;
  for (std::uint64_t e = 0; e < count; ++e) any |= entries[e];
  return any == 0;
}

// Tables cached by all the extents of the process together (512-entry tables: 8192 tables).
constexpr std::size_t kProcessCacheBytes = 16u << 20;
}  // namespace

// Every GrainTables of the process shares one budget of cached table bytes: a split disk of 4096
// extents walked once (map, consolidate) would otherwise keep up to 64 tables in each of them
// (8 TiB: 512 MiB). Past the budget, the caches that loaded least recently are emptied whole: the
// tables of one batch share one block, which only goes back to the pool when all of them go.
// Lock order: the budget's mutex, then a cache's mutex. A cache never calls the budget while it
// holds its own mutex, so an eviction cannot deadlock with a load, and a cache being destroyed
// waits in leaving() for an eviction that has picked it.
class TableCacheBudget {
 public:
  static TableCacheBudget& instance() {
    static TableCacheBudget* budget = new TableCacheBudget();  // never destroyed, like the block pool
    return *budget;
  }

  /// `owner` has loaded or dropped tables (its mutex not held): records its size and empties the
  /// least recent other caches while the process holds more than the budget.
  void changed(const GrainTables& owner) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t bytes = 0;
    {
      std::lock_guard<std::mutex> own(owner.mutex_);
      bytes = owner.cached_bytes_;
    }
    remove_locked(owner);
    if (bytes != 0) {
      order_.emplace_front(&owner, bytes);
      owner.budget_slot_ = order_.begin();
      owner.in_budget_ = true;
      total_ += bytes;
    }
    while (total_ > kProcessCacheBytes && !order_.empty() && order_.back().first != &owner) evict_last_locked();
  }

  void leaving(const GrainTables& owner) {
    std::lock_guard<std::mutex> lock(mutex_);
    remove_locked(owner);
  }

  std::size_t total() {
    std::lock_guard<std::mutex> lock(mutex_);
    return total_;
  }

 private:
  void remove_locked(const GrainTables& owner) {
    if (!owner.in_budget_) return;
    total_ -= owner.budget_slot_->second;
    order_.erase(owner.budget_slot_);
    owner.in_budget_ = false;
  }

  void evict_last_locked() {
    const GrainTables& victim = *order_.back().first;
    {
      std::lock_guard<std::mutex> lock(victim.mutex_);
      victim.clear_cache_locked();
    }
    remove_locked(victim);
  }

  std::mutex mutex_;
  std::list<std::pair<const GrainTables*, std::size_t>> order_;  // most recent load first
  std::size_t total_ = 0;
};

GrainTables::GrainTables(std::shared_ptr<const ByteSource> file, const KdmvLayout& layout,
                         std::uint64_t mapped_bytes)
    : file_(std::move(file)), layout_(layout), mapped_bytes_(mapped_bytes) {
  max_tables_ = std::max<std::size_t>(16, kCacheBytes / (layout.geometry.gtes_per_gt * 4));
  empty_ = shared_empty_table(layout.geometry.gtes_per_gt);
  std::uint64_t count = vmdk::div_round_up(mapped_bytes_, layout_.gt_coverage_bytes);
  count = std::min(count, layout_.geometry.num_gd_entries);
  // load_kdmv_layout checked that the whole directory lies inside the file, so this allocation is
  // bounded by the file size.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(count * 4));
  read_exact(*file_, layout_.gd_byte_offset, bytes, "grain directory");
  directory_ = format::decode_u32_table(bytes, static_cast<std::size_t>(count));
  known_empty_.assign(directory_.size(), false);
  std::uint32_t previous = 0;
  for (std::uint32_t sector : directory_) {
    if (sector == 0) continue;
    if (sector <= previous) tables_ascend_ = false;
    previous = sector;
  }
  const std::uint64_t gt_bytes = layout_.geometry.gtes_per_gt * 4;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t sector = directory_[i];
    if (sector == 0) continue;
    std::uint64_t at = layout_.gd_byte_offset + i * 4;
    if (sector < layout_.table_floor_sector) {
      throw FormatError(layout_.name, "grain directory entry " + std::to_string(i) + " points into the header (sector " +
                                          hex(sector) + " < " + hex(layout_.table_floor_sector) + ")", at);
    }
    std::uint64_t end = sector * 512 + gt_bytes;
    if (end > layout_.file_size) {
      throw FormatError(layout_.name, "grain directory entry " + std::to_string(i) + " points past end of file (" +
                                          hex(end) + " > " + hex(layout_.file_size) + ")", at);
    }
  }
}

GrainTables::~GrainTables() { TableCacheBudget::instance().leaving(*this); }

std::size_t GrainTables::process_cached_bytes() { return TableCacheBudget::instance().total(); }

void GrainTables::clear_cache_locked() const {
  index_.clear();
  lru_.clear();
  cached_bytes_ = 0;
}

GrainTables::Table GrainTables::cached(std::uint64_t gd_index) const {
  auto it = index_.find(directory_[gd_index]);
  if (it == index_.end()) return nullptr;
  Cached& entry = *it->second;
  if (gd_index < entry.checked_from) {
    // Named again by an earlier directory entry: more of its grains are in use there.
    check_table(gd_index, std::uint64_t{entry.sector} * 512, entry.table.get());
    entry.checked_from = gd_index;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return entry.table;
}

void GrainTables::forget_cached() const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    clear_cache_locked();
  }
  TableCacheBudget::instance().changed(*this);
}

GrainTables::Table GrainTables::table(std::uint64_t gd_index) const {
  if (gd_index >= directory_.size() || directory_[gd_index] == 0) return nullptr;
  Table wanted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (known_empty_[gd_index]) return empty_;
    if (Table table = cached(gd_index)) return table;
    auto loaded = load_run(gd_index);
    const std::size_t table_bytes = layout_.geometry.gtes_per_gt * 4;
    // Insert the neighbours first so that the requested table ends up the most recent.
    for (auto it = loaded.rbegin(); it != loaded.rend(); ++it) {
      const std::uint32_t sector = directory_[it->first];
      if (tables_ascend_ && is_empty(it->second)) {
        known_empty_[it->first] = true;
        continue;
      }
      if (index_.count(sector) != 0) continue;
      lru_.push_front(Cached{sector, it->first, it->second});
      index_[sector] = lru_.begin();
      if (!is_empty(it->second)) cached_bytes_ += table_bytes;
    }
    while (lru_.size() > max_tables_) {
      if (!is_empty(lru_.back().table)) cached_bytes_ -= table_bytes;
      index_.erase(lru_.back().sector);
      lru_.pop_back();
    }
    wanted = loaded.front().second;
  }
  // Outside mutex_: the budget takes its own mutex first (see TableCacheBudget).
  TableCacheBudget::instance().changed(*this);
  return wanted;
}

std::vector<std::pair<std::uint64_t, GrainTables::Table>> GrainTables::load_run(std::uint64_t gd_index) const {
  const std::uint64_t table_bytes = layout_.geometry.gtes_per_gt * 4;
  const std::uint64_t stride = layout_.geometry.gt_sectors;
  const std::uint64_t max_tables = std::max<std::uint64_t>(1, std::min<std::uint64_t>(kBatchBytes / table_bytes, max_tables_ / 2));
  // Only whole-sector tables sit back to back; the default 512-entry table is exactly 4 sectors.
  std::uint64_t count = 1;
  if (table_bytes == stride * 512) {
    while (count < max_tables && gd_index + count < directory_.size() &&
           directory_[gd_index + count] == directory_[gd_index] + count * stride &&
           index_.count(directory_[gd_index + count]) == 0) {
      ++count;
    }
  }
  const std::uint64_t first_at = std::uint64_t{directory_[gd_index]} * 512;
  const auto size = static_cast<std::size_t>(count * table_bytes);
  const std::uint64_t per_table = layout_.geometry.gtes_per_gt;
  std::shared_ptr<std::uint32_t[]> block = table_storage(static_cast<std::size_t>(count * per_table));
  const std::string what = "grain table " + std::to_string(gd_index);
  if constexpr (std::endian::native == std::endian::little) {
    // The entries are little-endian u32 on disk: read them straight into place (a deep chain
    // loads every table of every layer when it opens, so a decoding pass shows).
    read_exact(*file_, first_at, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(block.get()), size), what);
  } else {
    // One read buffer per thread for every extent: fresh memory costs a page fault per 4 KiB.
    thread_local std::vector<std::uint8_t> scratch;
    if (scratch.size() < size) scratch.resize(size);
    read_exact(*file_, first_at, std::span<std::uint8_t>(scratch.data(), size), what);
    std::span<const std::uint8_t> bytes(scratch.data(), size);
    for (std::size_t i = 0; i < count * per_table; ++i) block[i] = format::load_le32(bytes, i * 4);
  }
  std::vector<std::pair<std::uint64_t, Table>> tables;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint32_t* entries = block.get() + i * per_table;
    if (i == 0) {
      check_table(gd_index, first_at, entries);
    } else {
      // A damaged neighbour must not fail this read: it is left out and reports itself when its
      // own range is read.
      try {
        check_table(gd_index + i, first_at + i * table_bytes, entries);
      } catch (const FormatError&) {
        break;
      }
    }
    // An empty table keeps no memory: when all of a batch's are empty, its block goes back now.
    tables.emplace_back(gd_index + i, grain_table_all_zero(entries, per_table) ? empty_ : Table(block, entries));
  }
  return tables;
}

bool GrainTables::all_entries_fit(const std::uint32_t* entries, std::uint64_t count, std::uint64_t record_min) const {
  // Every entry of a table inside the mapped range needs the same room: it is good when it is 0,
  // 1, or a sector in [first, last]. Opening a deep chain checks every table of every layer before
  // its first read (33 layers of a 1 GiB disk: 540,000 entries); the entry-by-entry loop of
  // check_table took about 1 ms of that, this one has no branches in its blocks of 16.
  const std::uint64_t needed = layout_.compressed ? record_min : layout_.grain_bytes;
  if (layout_.file_size < needed || layout_.grain_floor_sector > UINT32_MAX) return false;
  const auto first = static_cast<std::uint32_t>(layout_.grain_floor_sector);
  const auto last = static_cast<std::uint32_t>(std::min<std::uint64_t>((layout_.file_size - needed) / 512, UINT32_MAX));
  auto bad = [first, last](std::uint32_t sector) {
    return static_cast<std::uint32_t>(sector > format::kGteZeroed) &
           (static_cast<std::uint32_t>(sector < first) | static_cast<std::uint32_t>(sector > last));
  };
  constexpr std::uint64_t kBlock = 16;
  std::uint32_t any_bad = 0;
  std::uint64_t e = 0;
  for (; e + kBlock <= count; e += kBlock) {
    for (std::uint64_t k = 0; k < kBlock; ++k) any_bad |= bad(entries[e + k]);
  }
  for (; e < count; ++e) any_bad |= bad(entries[e]);
  return any_bad == 0;
}

void GrainTables::check_table(std::uint64_t gd_index, std::uint64_t table_at, const std::uint32_t* entries) const {
  const std::uint64_t count = layout_.geometry.gtes_per_gt;

  const std::uint64_t table_start = gd_index * layout_.gt_coverage_bytes;
  const std::uint64_t record_min = layout_.markers ? format::kGrainMarkerHeaderSize : format::kNoMarkerLengthSize;
  if (table_start + count * layout_.grain_bytes <= mapped_bytes_ && all_entries_fit(entries, count, record_min)) return;
  for (std::uint64_t e = 0; e < count; ++e) {
    std::uint64_t grain_start = table_start + e * layout_.grain_bytes;
    if (grain_start >= mapped_bytes_) break;  // entries past the capacity are not used (pitfall 22)
    std::uint64_t sector = entries[e];
    if (sector <= format::kGteZeroed) continue;
    std::uint64_t at = table_at + e * 4;
    // Built only on failure: this loop runs for every allocated grain of the disk.
    auto where = [&] { return "grain table " + std::to_string(gd_index) + " entry " + std::to_string(e); };
    if (sector < layout_.grain_floor_sector) {
      throw FormatError(layout_.name, where() + " points into the metadata (sector " + hex(sector) +
                                          " is before the first grain at sector " +
                                          hex(layout_.grain_floor_sector) + ")", at);
    }
    std::uint64_t needed =
        layout_.compressed ? record_min : std::min(layout_.grain_bytes, mapped_bytes_ - grain_start);
    std::uint64_t end = sector * 512 + needed;
    if (end > layout_.file_size) {
      throw FormatError(layout_.name, where() + " points past end of file (" + hex(end) + " > " +
                                          hex(layout_.file_size) + ")", at);
    }
  }
}

}  // namespace vmdk::sparse
