// consolidate, the copy (see consolidate_copy.hpp): large chain reads, then per grain an in-place
// overwrite (grain already allocated in ANCESTOR), an appended grain published by commit(), a
// zeroed-grain entry, or nothing (a zero grain that a base does not hold reads as zeros already).
#include "ops/consolidate/consolidate_copy.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "extent/kind_table.hpp"
#include "io/pooled_file.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace {

// One chain read covers up to this much of the disk (large reads coalesce in the chain).
constexpr std::uint64_t kBatchBytes = 8ull << 20;
// Untouched grains up to this size between two touched ones are read along rather than split.
constexpr std::uint64_t kMaxGap = 256ull << 10;
// Appended grains are published every this many bytes: a kill redoes at most this much.
constexpr std::uint64_t kCommitBytes = 64ull << 20;

bool all_zero(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return true;
  return bytes[0] == 0 && std::memcmp(bytes.data(), bytes.data() + 1, bytes.size() - 1) == 0;
}

struct Target {
  std::shared_ptr<File> file;
  std::unique_ptr<extent::GrainUpdater> updater;  // sparse slots
  std::uint64_t file_base = 0;                     // flat slots: byte of the slot's start
  std::uint64_t staged_bytes = 0;
  bool written = false;
  bool open = false;
};

class Copier {
 public:
  Copier(const MergePlan& plan, const ProgressCallback& progress)
      : plan_(plan),
        progress_(progress),
        ancestor_(*plan.chain->layers()[plan.ancestor_depth].disk),
        base_(plan.ancestor_depth + 1 == plan.chain->layers().size()),
        targets_(ancestor_.extents().size()),
        // A split disk of thousands of extent files cannot keep each open for writing (ulimit -n
        // 256): its targets are opened when a grain needs them and closed (published and flushed)
        // when too many are open. Smaller disks open every target first, so that a file that
        // changed since the plan stops the copy before anything is written.
        on_demand_(ancestor_.extents().size() > io::kPooledOpenFiles) {
    for (std::size_t s = 0; !on_demand_ && s < targets_.size(); ++s) open_target(s);
  }

  void run() {
    walk_merge_grains(plan_, [this](std::span<const MergeGrain> grains) { window(grains); });
    for (Target& t : targets_) finish(t);
  }

 private:
  void open_target(std::size_t s) {
    const ExtentSlot& slot = ancestor_.extents()[s];
    Target& t = targets_[s];
    t.open = true;
    if (plan_.slots[s].kind == SlotKind::zero) return;
    t.file = std::shared_ptr<File>(File::open(slot.path, File::Mode::read_write));
    if (plan_.slots[s].kind == SlotKind::sparse) {
      t.updater = extent::open_updater_for(slot.line.type, t.file, slot.length);
      if (t.updater->grain_bytes() != plan_.slots[s].grain) {
        throw FormatError(slot.path.string(), "grain size changed since the plan was made");
      }
    } else {
      t.file_base = slot.line.offset.value_or(0) * 512;
    }
  }

  // Publishes what a target staged, makes it durable and closes it.
  void finish(Target& t) {
    if (t.updater) {
      t.updater->commit();
      t.updater->flush();
    } else if (t.file && t.written) {
      t.file->flush();
    }
    t = Target{};
  }

  Target& target(std::size_t s) {
    if (targets_[s].open) return targets_[s];
    if (open_order_.size() >= io::kPooledOpenFiles) {
      finish(targets_[open_order_.front()]);
      open_order_.pop_front();
    }
    open_target(s);
    open_order_.push_back(s);
    return targets_[s];
  }

  void window(std::span<const MergeGrain> grains) {
    for (std::size_t i = 0; i < grains.size();) {
      if (plan_.slots[grains[i].slot].kind == SlotKind::zero) {  // zero grains only (the plan checked)
        ++i;
        continue;
      }
      // A batch: grains of one slot, close together, one chain read.
      std::size_t j = i + 1;
      while (j < grains.size() && grains[j].slot == grains[i].slot &&
             grains[j].start - (grains[j - 1].start + grains[j - 1].length) <= kMaxGap &&
             grains[j].start + grains[j].length - grains[i].start <= kBatchBytes) {
        ++j;
      }
      batch(grains.subspan(i, j - i));
      i = j;
    }
  }

  void batch(std::span<const MergeGrain> grains) {
    const std::uint64_t from = grains.front().start;
    const std::uint64_t to = grains.back().start + grains.back().length;
    // Reading only when some grain holds bytes: zero grains need no read.
    const bool any_data =
        std::any_of(grains.begin(), grains.end(), [](const MergeGrain& g) { return !g.zero; });
    buffer_.resize(static_cast<std::size_t>(to - from));
    if (any_data) {
      plan_.chain->read(from, buffer_);
    } else {
      std::fill(buffer_.begin(), buffer_.end(), std::uint8_t{0});
    }
    Target& t = target(grains.front().slot);
    for (const MergeGrain& g : grains) {
      std::span<const std::uint8_t> content(buffer_.data() + (g.start - from),
                                            static_cast<std::size_t>(g.length));
      const bool zero = g.zero || all_zero(content);
      if (t.updater) {
        sparse_grain(t, g, content, zero);
      } else {
        t.file->write_at(t.file_base + (g.start - ancestor_.extents()[g.slot].start), content);
        t.written = true;
      }
    }
    if (progress_) progress_(to - start_of_walk(), plan_.total_bytes);
  }

  std::uint64_t start_of_walk() const {
    return ancestor_.extents().empty() ? 0 : ancestor_.extents().front().start;
  }

  void sparse_grain(Target& t, const MergeGrain& g, std::span<const std::uint8_t> content, bool zero) {
    extent::GrainUpdater& updater = *t.updater;
    const std::uint64_t grain = updater.grain_bytes();
    const std::optional<std::uint64_t> held = updater.grain_host_offset(g.index);
    if (zero) {
      if (updater.zeroed_grains()) {
        updater.stage_zeroed(g.index);
        return after_stage(t, 0);
      }
      // Unallocated in a base, or a zeroed-grain entry already: the grain reads as zeros. In a
      // non-base ANCESTOR an unallocated entry would show the grandparent, so zeros are written.
      if (!held && (base_ || g.held_zero)) return;
    }
    std::span<const std::uint8_t> data = content;
    if (content.size() != grain || zero) {
      // The slot's last grain may be shorter than a grain; zero grains come from one buffer.
      scratch_.assign(static_cast<std::size_t>(grain), 0);
      if (!zero) std::copy(content.begin(), content.end(), scratch_.begin());
      data = scratch_;
    }
    if (held) {
      updater.overwrite_grain(g.index, data);
      return after_stage(t, 0);
    }
    updater.stage_grain(g.index, data);
    after_stage(t, grain);
  }

  void after_stage(Target& t, std::uint64_t appended) {
    t.staged_bytes += appended;
    if (t.staged_bytes >= kCommitBytes || t.updater->staged() >= kCommitBytes / 4096) {
      t.updater->commit();
      t.staged_bytes = 0;
    }
  }

  const MergePlan& plan_;
  const ProgressCallback& progress_;
  const Disk& ancestor_;
  const bool base_;
  std::vector<Target> targets_;
  const bool on_demand_;
  std::deque<std::size_t> open_order_;  // targets opened on demand, oldest first
  std::vector<std::uint8_t> buffer_;
  std::vector<std::uint8_t> scratch_;
};

}  // namespace

void copy_merge(const MergePlan& plan, const ProgressCallback& progress) {
  Copier(plan, progress).run();
}

}  // namespace vmdk::ops
