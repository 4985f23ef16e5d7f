// Chain::open under locks: the chain is resolved once without locks to learn its files, they are
// locked shared, and the chain is opened again under the locks; it is used only when it still
// names the locked files (a descriptor replaced by rename while waiting is opened again).
#include "chain/chain_lock.hpp"

#include <algorithm>
#include <system_error>

#include "chain/chain_impl.hpp"
#include "io/pooled_file.hpp"

namespace vmdk {

namespace fs = std::filesystem;

namespace chain {

// A disk's lock (DESIGN.md safety rules): its descriptor file and every extent file, each on its own
// descriptor (an OFD lock lives as long as its descriptor). A disk of more extent files than the
// file pool keeps open (io::kPooledOpenFiles; a split disk of 8 TiB has 4096) cannot hold a
// descriptor per file under a small limit (ulimit -n 256): it is locked through its descriptor
// file alone, which every reader and writer of that disk takes. What this gives up, for such disks
// only: an extent file that another disk's descriptor also names is not locked by this disk.
std::vector<fs::path> disk_files(const Disk& disk) {
  std::vector<fs::path> files{disk.path()};
  std::size_t with_files = 0;
  for (const ExtentSlot& slot : disk.extents()) with_files += slot.path.empty() ? 0 : 1;
  if (with_files > io::kPooledOpenFiles) return files;
  for (const ExtentSlot& slot : disk.extents()) {
    if (slot.path.empty() || std::find(files.begin(), files.end(), slot.path) != files.end()) continue;
    std::error_code error;
    if (fs::exists(slot.path, error)) files.push_back(slot.path);
  }
  return files;
}

std::vector<io::LockRequest> chain_requests(const Chain& chain, std::size_t exclusive_layers) {
  std::vector<io::LockRequest> requests;
  const std::vector<Layer>& layers = chain.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const io::LockMode mode = i < exclusive_layers ? io::LockMode::exclusive : io::LockMode::shared;
    for (const fs::path& file : disk_files(*layers[i].disk)) requests.push_back({file, mode});
  }
  return requests;
}

ChainOptions without_locks(ChainOptions options) {
  options.open.lock.enabled = false;
  return options;
}

LockedChain lock_chain(const fs::path& path, const ChainOptions& options, std::size_t exclusive_layers) {
  if (!options.open.lock.enabled) return {{}, Chain::open(path, options)};
  const ChainOptions plain = without_locks(options);
  LockedChain locked;
  locked.locks = io::acquire_planned(
      [&] {
        locked.chain = Chain::open(path, plain);
        return chain_requests(*locked.chain, exclusive_layers);
      },
      options.open.lock.wait_seconds, path);
  return locked;
}

io::LockSet lock_disk(const fs::path& path, const OpenOptions& options) {
  if (!options.lock.enabled) return {};
  OpenOptions plain = options;
  plain.lock.enabled = false;
  return io::acquire_planned(
      [&] {
        std::vector<io::LockRequest> requests;
        for (const fs::path& file : disk_files(*Disk::open(path, plain))) requests.push_back({file, io::LockMode::shared});
        return requests;
      },
      options.lock.wait_seconds, path);
}

std::vector<std::string> lock_folder_warnings(const std::vector<fs::path>& files) {
  std::vector<std::string> warnings;
  for (const fs::path& file : files) {
    if (std::optional<fs::path> folder = io::lock_folder(file)) {
      warnings.push_back(folder->string() + ": lock folder: a VMware product may have " + file.string() +
                         " open, so it may change while it is read (if no VMware product uses it, the lock is "
                         "stale)");
    }
  }
  return warnings;
}

}  // namespace chain

std::unique_ptr<Chain> Chain::open_locked(const fs::path& leaf, const ChainOptions& options) {
  const ChainOptions plain = chain::without_locks(options);
  std::unique_ptr<Chain> opened;
  // The last run of the plan happens under the locks: that chain is the one returned.
  io::LockSet locks = io::acquire_planned(
      [&] {
        opened = Chain::open(leaf, plain);
        return chain::chain_requests(*opened, 0);
      },
      options.open.lock.wait_seconds, leaf);
  std::vector<std::string> warnings = chain::lock_folder_warnings(locks.paths());
  opened->impl_->warnings.insert(opened->impl_->warnings.end(), warnings.begin(), warnings.end());
  opened->impl_->locks = std::make_shared<io::LockSet>(std::move(locks));
  return opened;
}

}  // namespace vmdk
