// ops::write: writes into the top layer of a chain with grain-level copy-on-write (vmdk-format.md
// 2.8, 2.11, 4.2.2). Order (DESIGN.md safety rules): grain data, fsync, grain tables, fsync, CID.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "chain/chain_lock.hpp"
#include "extent/kind_table.hpp"
#include "ops/common/descriptor_store.hpp"
#include "descriptor/identity.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/write.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace {

// Grains staged before their tables are committed: a kill loses at most this much new data,
// and memory stays flat (the updater writes staged grains to the file at once).
constexpr std::uint64_t kCommitBytes = 16ull << 20;
// Flat extents and sources are handled in pieces of this size.
constexpr std::size_t kPiece = 4u << 20;

// The bytes to write, addressed by disk offset.
class Payload {
 public:
  Payload(const WriteData& data, std::uint64_t offset) : data_(data), offset_(offset) {}
  void fill(std::uint64_t disk_offset, std::span<std::uint8_t> out) const {
    switch (data_.kind) {
      case WriteData::Kind::bytes:
        fill_from_source(disk_offset - offset_, out);
        break;
      case WriteData::Kind::pattern:
        std::memset(out.data(), data_.pattern, out.size());
        break;
      case WriteData::Kind::zero:
        std::memset(out.data(), 0, out.size());
        break;
    }
  }
  bool zero() const { return data_.kind == WriteData::Kind::zero; }

 private:
  // Holes of the source file (SEEK_DATA) are zeros that are not read; a source cut short still
  // fails in read_exact, never as zeros.
  void fill_from_source(std::uint64_t at, std::span<std::uint8_t> out) const {
    const ByteSource& source = *data_.source;
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t pos = at + done;
      const std::uint64_t left = out.size() - done;
      const DataSpan span = source.next_data(pos);
      const bool none_left = span.begin >= span.end && pos + left <= source.size();
      const std::uint64_t hole = none_left ? left : span.begin > pos ? std::min(left, span.begin - pos) : 0;
      std::memset(out.data() + done, 0, static_cast<std::size_t>(hole));
      done += static_cast<std::size_t>(hole);
      if (done == out.size()) break;
      const std::uint64_t from = pos + hole;
      const bool known = span.begin < span.end && span.end > from;
      const std::uint64_t data = known ? std::min(left - hole, span.end - from) : left - hole;
      read_exact(source, at + done, out.subspan(done, static_cast<std::size_t>(data)), "data to write");
      done += static_cast<std::size_t>(data);
    }
  }

  const WriteData& data_;
  std::uint64_t offset_;
};

// One extent slot of the top layer that the write touches, checked and opened before any write.
struct Target {
  const ExtentSlot* slot = nullptr;
  std::uint64_t from = 0, to = 0;  // disk offsets written in this slot
  std::shared_ptr<File> file;
  std::unique_ptr<extent::GrainUpdater> updater;  // grain-mapped kinds; null for flat slots
};

std::vector<Target> open_targets(const Disk& top, std::uint64_t offset, std::uint64_t end) {
  std::vector<Target> targets;
  for (const auto& slot : top.extents()) {
    const std::uint64_t from = std::max(offset, slot.start), to = std::min(end, slot.start + slot.length);
    if (from >= to) continue;
    const std::string name = slot.path.empty() ? top.path().string() : slot.path.string();
    if (!slot.extent) throw UsageError(name, "cannot write: extent " + slot.problem.text());
    if (slot.line.access != ExtentAccess::rw) {
      throw UsageError(name, "cannot write: the extent is " + std::string(to_string(slot.line.access)));
    }
    const ExtentCapabilities caps = slot.extent->capabilities();
    Target t;
    t.slot = &slot;
    t.from = from;
    t.to = to;
    if (caps.compressed) {
      throw UnsupportedError(name, "streamOptimized (compressed) disks cannot be written in place; convert it first: "
                                   "vmdkit convert " + top.path().string() + " NEW.vmdk --to monolithicSparse");
    }
    if (!caps.data_in_place && !caps.grain_updates) {
      throw UnsupportedError(name, "writing into " + slot.extent->details().format + " extents is not supported");
    }
    t.file = std::shared_ptr<File>(File::open(slot.path, File::Mode::read_write));
    // COWD (vmfsSparse) and SESparse deltas take the same grain-level copy-on-write as hosted
    // sparse extents, at their grain size.
    if (caps.grain_updates) t.updater = extent::open_updater_for(slot.line.type, t.file, slot.length);
    targets.push_back(std::move(t));
  }
  return targets;
}

class Writer {
 public:
  Writer(const Chain& chain, std::uint64_t offset, std::uint64_t length, const Payload& payload,
         const WriteOptions& options, WriteReport& report)
      : chain_(chain), offset_(offset), end_(offset + length), payload_(payload), options_(options),
        report_(report) {}

  void run(std::vector<Target>& targets) {
    // Partly written grains are read before anything is committed: the chain's caches describe
    // the disk as it was, and only these two grains need the old bytes.
    for (auto& t : targets) {
      if (t.updater) preread_partial(t);
    }
    for (auto& t : targets) {
      if (t.updater) write_sparse(t);
      else write_flat(t);
    }
  }

 private:
  struct OldGrain {
    std::uint64_t start;
    std::vector<std::uint8_t> bytes;
  };

  void preread_partial(const Target& t) {
    const std::uint64_t g = t.updater->grain_bytes();
    const std::uint64_t slot_start = t.slot->start, slot_end = slot_start + t.slot->length;
    for (std::uint64_t at : {t.from, t.to - 1}) {
      const std::uint64_t grain_start = slot_start + (at - slot_start) / g * g;
      const std::uint64_t grain_end = std::min(grain_start + g, slot_end);
      const bool partial = std::max(grain_start, t.from) != grain_start || std::min(grain_end, t.to) != grain_end;
      if (!partial || (!old_.empty() && old_.back().start == grain_start)) continue;
      OldGrain old{grain_start, std::vector<std::uint8_t>(static_cast<std::size_t>(g), 0)};
      chain_.read(grain_start, std::span<std::uint8_t>(old.bytes.data(), static_cast<std::size_t>(grain_end - grain_start)));
      old_.push_back(std::move(old));
    }
  }

  void write_sparse(Target& t) {
    auto& updater = *t.updater;
    const std::uint64_t g = updater.grain_bytes();
    const std::uint64_t slot_start = t.slot->start, slot_end = slot_start + t.slot->length;
    std::vector<std::uint8_t> grain(static_cast<std::size_t>(g));
    std::uint64_t staged_bytes = 0;
    for (std::uint64_t grain_start = slot_start + (t.from - slot_start) / g * g; grain_start < t.to; grain_start += g) {
      const std::uint64_t grain_end = std::min(grain_start + g, slot_end);
      const std::uint64_t w_from = std::max(grain_start, t.from), w_to = std::min(grain_end, t.to);
      const std::uint64_t index = (grain_start - slot_start) / g;
      const bool whole = w_from == grain_start && w_to == grain_end;
      if (whole && payload_.zero() && updater.zeroed_grains()) {
        updater.stage_zeroed(index);
        ++report_.zeroed_grains;
      } else if (whole && payload_.zero() && reads_zero(grain_start, grain_end)) {
        // Without zeroed-grain entries a zero write over a grain that already reads as zeros
        // (unallocated in a base, or zero below) needs nothing at all.
      } else {
        std::fill(grain.begin(), grain.end(), std::uint8_t{0});
        if (!whole) {
          auto it = std::find_if(old_.begin(), old_.end(), [&](const OldGrain& o) { return o.start == grain_start; });
          std::copy(it->bytes.begin(), it->bytes.end(), grain.begin());
          report_.copied_bytes += (grain_end - grain_start) - (w_to - w_from);
        }
        payload_.fill(w_from, std::span<std::uint8_t>(grain.data() + (w_from - grain_start), static_cast<std::size_t>(w_to - w_from)));
        updater.stage_grain(index, grain);
        ++report_.grains_written;
        staged_bytes += g;
      }
      if (staged_bytes >= kCommitBytes) {
        updater.commit();
        staged_bytes = 0;
      }
      progress(w_to);
    }
    updater.commit();
  }

  bool reads_zero(std::uint64_t start, std::uint64_t end) const {
    for (const auto& run : chain_.map(start, end - start)) {
      if (run.holds_bytes()) return false;
    }
    return true;
  }

  void write_flat(Target& t) {
    const std::uint64_t file_base = t.slot->line.offset.value_or(0) * 512;
    std::vector<std::uint8_t> buffer(std::min<std::uint64_t>(kPiece, t.to - t.from));
    for (std::uint64_t at = t.from; at < t.to;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), t.to - at));
      std::span<std::uint8_t> piece(buffer.data(), n);
      payload_.fill(at, piece);
      t.file->write_at(file_base + (at - t.slot->start), piece);
      at += n;
      progress(at);
    }
    t.file->flush();
  }

  void progress(std::uint64_t done) {
    if (options_.progress) options_.progress(done - offset_, end_ - offset_);
  }

  const Chain& chain_;
  std::uint64_t offset_, end_;
  const Payload& payload_;
  const WriteOptions& options_;
  WriteReport& report_;
  std::vector<OldGrain> old_;
};

}  // namespace

WriteReport write(const std::filesystem::path& path, std::uint64_t offset, const WriteData& data,
                  const WriteOptions& options) {
  ChainOptions chain_options = options.chain;
  chain_options.for_writing = true;  // never into a file another layer or extent line reads
  // Exclusive on the top layer's files, shared below, before anything is read.
  chain::LockedChain locked = chain::lock_chain(path, chain_options, 1);
  const std::unique_ptr<Chain>& chain = locked.chain;
  const Disk& top = *chain->layers().front().disk;
  const std::uint64_t length = checked_range(chain->capacity(), offset, data.length);
  if (data.kind == WriteData::Kind::bytes) {
    if (!data.source) throw UsageError(path.string(), "no data source given");
    if (data.source->size() < length) {
      throw UsageError(data.source->name(), "holds " + std::to_string(data.source->size()) + " bytes, fewer than the " +
                                                std::to_string(length) + " to write");
    }
  }

  // Every refusal comes before the first byte is written.
  auto children = find_children(top.path(), options.chain.open);
  if (!children.empty()) {
    throw UsageError(top.path().string(), "has a child (" + children.front().string() +
                                              "): writing would silently change that child's content; write into "
                                              "the child instead");
  }
  if (auto lock = find_lock(top.path()); lock && !options.force) {
    throw UsageError(top.path().string(), "is locked by " + lock->string() +
                                              " (a VMware product has it open); use --force if that lock is stale");
  }
  ops::DescriptorHome home = ops::load_descriptor_home(top);
  WriteReport report;
  report.path = top.path().string();
  report.offset = offset;
  report.length = length;
  report.old_cid = top.descriptor().cid().value_or(kNoParentCid);
  report.new_cid = report.old_cid;
  std::string new_text;
  if (!home.synthesized && length > 0) {
    Random random(options.seed);
    report.new_cid = options.cid ? *options.cid : random.cid();
    while (!options.cid && report.new_cid == report.old_cid) report.new_cid = random.cid();
    new_text = ops::with_new_cid(home, report.new_cid).print_preserving();
    ops::check_fits(home, new_text);
  }
  if (length == 0) return report;

  auto targets = open_targets(top, offset, offset + length);
  Payload payload(data, offset);
  Writer(*chain, offset, length, payload, options, report).run(targets);
  if (!new_text.empty()) ops::store_descriptor(home, new_text);
  return report;
}

}  // namespace vmdk
