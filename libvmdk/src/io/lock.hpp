// File locks between programs (DESIGN.md safety rules): open-file-description (OFD) locks over
// whole files, shared for reading and exclusive for changing, and VMware's `<file>.lck` folders.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vmdk::io {

enum class LockMode { shared, exclusive };

/// A file's identity: the lock belongs to the inode, whatever path names it.
struct FileKey {
  dev_t dev = 0;
  ino_t ino = 0;
  auto operator<=>(const FileKey&) const = default;
};

struct LockRequest {
  std::filesystem::path path;
  LockMode mode = LockMode::shared;
};

/// Locks held by one operation. OFD locks conflict between open file descriptions even inside one
/// process, so every file is locked on ONE descriptor per process (a registry keyed by device and
/// inode, counting holders); two operations of one process share it instead of refusing each other.
class LockSet {
 public:
  LockSet() = default;
  ~LockSet() { release(); }
  LockSet(LockSet&& other) noexcept : held_(std::move(other.held_)) { other.held_.clear(); }
  LockSet& operator=(LockSet&& other) noexcept;
  LockSet(const LockSet&) = delete;
  LockSet& operator=(const LockSet&) = delete;

  /// Locks path without waiting. Returns false when path no longer names a file (nothing locked).
  /// Files that are not regular files or block devices are not locked (returns true).
  /// Throws LockError naming the file and the holder when another program's lock conflicts,
  /// IoError when the file cannot be opened for the lock.
  bool lock(const std::filesystem::path& path, LockMode mode);
  /// lock(), returning the identity of the file locked, or nothing when nothing was locked (the
  /// path names no file, an unreadable file, or a file that needs no lock).
  std::optional<FileKey> lock_identity(const std::filesystem::path& path, LockMode mode);
  /// Locks every request in file-identity order (so that two programs never hold parts of each
  /// other's sets), the stronger mode when a file is named twice. Returns false when a path no
  /// longer names a file. Throws like lock().
  bool lock_all(const std::vector<LockRequest>& requests);
  /// True when every request's path names a file this set holds in at least its mode (or a file
  /// that needs no lock). False when a path changed (renamed over, deleted) since it was locked.
  bool covers(const std::vector<LockRequest>& requests) const;
  /// The paths of the files held, in the order locked.
  std::vector<std::filesystem::path> paths() const;
  void release();

 private:
  struct Held {
    std::filesystem::path path;
    FileKey key;
    LockMode mode;
  };
  std::vector<Held> held_;
};

/// Runs plan() (which opens what it needs without locks and says which files to lock how), locks
/// the files, then runs plan() again under the locks and checks that it asks for nothing more (a
/// descriptor replaced by rename or a file deleted while waiting). A refused lock is retried until
/// wait_seconds have passed (0: at once), a changed plan a few times more. When plan() throws and
/// another program holds subject (the file the user named) exclusively, that is a refusal too.
/// Throws the LockError of the last refusal, a LockError "changed while waiting for its lock", or
/// what plan() throws (on the first run as is, after a wait as a LockError saying what changed).
LockSet acquire_planned(const std::function<std::vector<LockRequest>()>& plan, double wait_seconds,
                        const std::filesystem::path& subject = {});

/// What a plan that locks while it opens found: the files to hold, and whether everything it read
/// was read under locks already taken on the very files read (then it is not run a second time).
struct PlannedLocks {
  std::vector<LockRequest> requests;
  bool read_under_locks = false;
};

/// acquire_planned for a plan that takes locks in the set it is given as it opens files (so that a
/// refusal comes before anything is read). When it reports read_under_locks, its one run is the
/// result; otherwise its requests are locked and it runs again under them, as acquire_planned does.
LockSet acquire_locking(const std::function<PlannedLocks(LockSet&)>& plan, double wait_seconds,
                        const std::filesystem::path& subject = {});

/// VMware's lock folder for file (`<file>.lck`, vmdk-format.md 5.4), when one exists.
std::optional<std::filesystem::path> lock_folder(const std::filesystem::path& file);

/// "pid 1234 (vmdkit write ...)" for the process holding a lock on key, found in /proc/*/fdinfo or
/// /proc/locks, control characters escaped; "another program" when it cannot be found.
std::string lock_holder(const FileKey& key);

}  // namespace vmdk::io
