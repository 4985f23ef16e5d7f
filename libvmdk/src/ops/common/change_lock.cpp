// Lock plans of repair and consolidate (see change_lock.hpp): which files, in which mode, planned
// from the chain as it is and checked again under the locks by io::acquire_planned.
#include "ops/common/change_lock.hpp"

#include <limits>
#include <system_error>

#include "chain/chain_lock.hpp"
#include "ops/common/journal.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kEveryLayer = std::numeric_limits<std::size_t>::max();

ChainOptions broken_chain_options(const OpenOptions& open) {
  ChainOptions options;
  options.open = open;
  options.open.lock.enabled = false;
  options.open.allow_missing_extents = true;
  options.open.allow_damaged_extents = true;
  options.report_broken = true;
  options.allow_cid_mismatch = true;
  return options;
}

// The files of the disk at path in mode: its descriptor and extents, or the path alone when it
// does not open as a disk; nothing when it does not exist.
void add_disk(const fs::path& path, const OpenOptions& open, io::LockMode mode, std::vector<io::LockRequest>& out) {
  std::error_code error;
  if (!fs::exists(path, error)) return;
  OpenOptions plain = broken_chain_options(open).open;
  try {
    for (const fs::path& file : chain::disk_files(*Disk::open(path, plain))) out.push_back({file, mode});
  } catch (const Error&) {
    out.push_back({path, mode});
  }
}

void refuse_lock_folders(const io::LockSet& locks) {
  for (const fs::path& file : locks.paths()) {
    if (std::optional<fs::path> folder = io::lock_folder(file)) {
      throw UsageError(file.string(), "lock folder " + folder->string() +
                                          " marks it in use by a VMware product; if no VMware product has it "
                                          "open, the lock is stale: remove that folder and run again");
    }
  }
}

// Layers of top's chain down to ANCESTOR (counted from top), or every layer when into is not one.
std::size_t layers_to_ancestor(const Chain& chain, const std::optional<fs::path>& into) {
  const std::vector<Layer>& layers = chain.layers();
  if (!into) return layers.size();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    std::error_code error;
    if (fs::equivalent(layers[i].disk->path(), *into, error)) return i + 1;
  }
  return layers.size();
}

std::vector<io::LockRequest> consolidate_requests(const fs::path& top, const ConsolidateOptions& options) {
  const io::LockMode mode = options.dry_run ? io::LockMode::shared : io::LockMode::exclusive;
  std::vector<io::LockRequest> requests;
  for (const fs::path& file : find_journals(top.parent_path())) {
    Journal journal = load_journal(file, options.open.allow_outside_paths);
    if (!journal_names(journal, top)) continue;
    add_disk(journal.top, options.open, mode, requests);
    add_disk(journal.ancestor, options.open, mode, requests);
    for (const fs::path& merged : journal.merged) add_disk(merged, options.open, mode, requests);
    for (const JournalRelink& relink : journal.relinks) add_disk(relink.path, options.open, mode, requests);
    return requests;
  }
  ChainOptions chain_options;
  chain_options.open = options.open;
  chain_options.open.lock.enabled = false;
  std::unique_ptr<Chain> chain = Chain::open(top, chain_options);
  requests = chain::chain_requests(*chain, options.dry_run ? 0 : layers_to_ancestor(*chain, options.into));
  for (const fs::path& child : find_children(top, chain_options.open)) requests.push_back({child, mode});
  return requests;
}

}  // namespace

io::LockSet lock_for_repair(const fs::path& path, const OpenOptions& open, bool dry_run) {
  if (!open.lock.enabled) return {};
  const io::LockMode mode = dry_run ? io::LockMode::shared : io::LockMode::exclusive;
  io::LockSet locks = io::acquire_planned(
      [&] {
        std::vector<io::LockRequest> requests;
        try {
          requests = chain::chain_requests(*Chain::open(path, broken_chain_options(open)), dry_run ? 0 : kEveryLayer);
        } catch (const Error&) {
          add_disk(path, open, mode, requests);  // check says why it does not open
        }
        return requests;
      },
      open.lock.wait_seconds, path);
  if (!dry_run) refuse_lock_folders(locks);
  return locks;
}

io::LockSet lock_for_consolidate(const fs::path& top, const ConsolidateOptions& options) {
  if (!options.open.lock.enabled) return {};
  return io::acquire_planned([&] { return consolidate_requests(top, options); }, options.open.lock.wait_seconds,
                             top);
}

}  // namespace vmdk::ops
