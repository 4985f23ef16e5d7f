// Chain::open under locks: each layer's file is locked shared before it is read, so a chain of
// single-file layers is opened once, under its locks. Other chains (and changes: lock_chain,
// lock_disk) are resolved once without locks to learn their files, locked, and opened again under
// the locks; that chain is used only when it still names the locked files (a descriptor replaced
// by rename while waiting is opened again).
#include "chain/chain_lock.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <system_error>

#include "chain/chain_impl.hpp"
#include "chain/shared_layers.hpp"
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

namespace {

// Locks each layer's descriptor file shared before the layer is read, and checks after the open
// that its path still names the file locked (not replaced by rename in between). A chain whose
// layers are single files is then read entirely under its locks, in one pass. A layer with other
// files (extents read before they could be locked), or a path that changed, sends the open through
// the second, checking pass under the locks (io::acquire_locking), as before.
class ChainLayerLocker {
 public:
  explicit ChainLayerLocker(io::LockSet& set) : set_(set) {}

  chain::LayerOpenHooks hooks() {
    return {[this](const fs::path& file) { locked_ = set_.lock_identity(file, io::LockMode::shared); },
            [this](const Disk& disk) { check(disk); }};
  }
  bool read_under_locks() const { return read_under_locks_; }

 private:
  io::LockSet& set_;
  std::optional<io::FileKey> locked_;
  bool read_under_locks_ = true;

  void check(const Disk& disk) {
    if (!locked_ || chain::disk_files(disk).size() > 1) {
      read_under_locks_ = false;
      return;
    }
    struct stat now {};
    if (::stat(disk.path().c_str(), &now) != 0 || io::FileKey{now.st_dev, now.st_ino} != *locked_) {
      read_under_locks_ = false;
    }
  }
};

std::vector<fs::path> without_repeats(const std::vector<fs::path>& paths) {
  std::vector<fs::path> out;
  for (const fs::path& path : paths) {
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
  }
  return out;
}

}  // namespace

std::unique_ptr<Chain> Chain::open_locked(const fs::path& leaf, const ChainOptions& options) {
  const ChainOptions plain = chain::without_locks(options);
  std::unique_ptr<Impl> impl;
  // The last run of the plan happens under the locks: that chain is the one returned.
  io::LockSet locks = io::acquire_locking(
      [&](io::LockSet& set) {
        ChainLayerLocker locker(set);
        impl = std::make_unique<Impl>();
        chain::build_layers(leaf, plain, locker.hooks(), impl->layers, impl->warnings);
        std::vector<io::LockRequest> requests;
        for (const Layer& layer : impl->layers) {
          for (const fs::path& file : chain::disk_files(*layer.disk)) requests.push_back({file, io::LockMode::shared});
        }
        return io::PlannedLocks{std::move(requests), locker.read_under_locks()};
      },
      options.open.lock.wait_seconds, leaf);
  impl->shared = chain::find_shared_layer_files(impl->layers);
  if (options.for_writing) chain::refuse_shared_files(impl->layers, impl->shared);
  impl->capacity = impl->layers.front().disk->capacity();
  impl->cache = std::make_unique<chain::WindowCache>(impl->layers, impl->capacity);
  std::vector<std::string> warnings = chain::lock_folder_warnings(without_repeats(locks.paths()));
  impl->warnings.insert(impl->warnings.end(), warnings.begin(), warnings.end());
  impl->locks = std::make_shared<io::LockSet>(std::move(locks));
  return std::unique_ptr<Chain>(new Chain(std::move(impl)));
}

}  // namespace vmdk
