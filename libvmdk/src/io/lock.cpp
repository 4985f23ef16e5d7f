// OFD file locks held through one descriptor per file per process, retried until a deadline, and
// the holder of a refused lock found in /proc (see lock.hpp).
#include "io/lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "vmdk/error.hpp"

namespace vmdk::io {

namespace fs = std::filesystem;

namespace {

// One descriptor per locked file in this process, with the count of holders in each mode.
struct Entry {
  int fd = -1;
  bool writable = false;
  unsigned shared = 0;
  unsigned exclusive = 0;
};

std::mutex registry_mutex;
std::map<FileKey, Entry>& registry() {
  static std::map<FileKey, Entry> entries;
  return entries;
}

// QEMU locks single bytes from 100 on (100 + permission, 200 + permission) and tests them for
// write locks; a shared lock over the whole file would look to it like a program that refuses to
// share every permission. Shared locks therefore cover bytes [0, 100) only: they still conflict
// with exclusive ones (the whole file), and qemu-img can read a disk vmdkit is reading, while a
// disk qemu has open is never changed by vmdkit.
constexpr off_t kSharedLength = 100;

bool fcntl_lock(int fd, short type, off_t start, off_t length) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = start;
  lock.l_len = length;
  while (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    if (errno == EINTR) continue;
    return errno != EAGAIN && errno != EACCES;
  }
  return true;
}

// F_OFD_SETLK; false when another open file description holds a conflicting lock. A file system
// without such locks (some FUSE and network ones) is not refused: true.
bool set_lock(int fd, short type) {
  if (type != F_RDLCK) return fcntl_lock(fd, type, 0, 0);
  if (!fcntl_lock(fd, F_RDLCK, 0, kSharedLength)) return false;
  return fcntl_lock(fd, F_UNLCK, kSharedLength, 0);  // what an exclusive lock held beyond
}

[[noreturn]] void refuse(const fs::path& path, const FileKey& key, LockMode mode) {
  const std::string what = mode == LockMode::exclusive ? "cannot lock it for changing: held by " + lock_holder(key) +
                                                             ", which has it open"
                                                       : "cannot lock it for reading: held by " + lock_holder(key) +
                                                             ", which is changing it";
  throw LockError(path.string(), what + " (retry when that has finished, or wait for it: --wait SECONDS)");
}

// Opens path for a lock: non-blocking (a FIFO must not hang), writable for an exclusive lock
// (F_WRLCK needs it), read-only otherwise so that readers work on files they may not write.
int open_for_lock(const fs::path& path, LockMode mode) {
  const int flags = O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (mode == LockMode::exclusive ? O_RDWR : O_RDONLY);
  return ::open(path.c_str(), flags);
}

// Converts this process's shared lock on entry to an exclusive one. A read-only descriptor cannot
// hold a write lock, so it is replaced by a writable one (the lock is briefly dropped in between).
void upgrade(Entry& entry, const fs::path& path, const FileKey& key) {
  if (entry.writable) {
    if (!set_lock(entry.fd, F_WRLCK)) refuse(path, key, LockMode::exclusive);
    return;
  }
  int fd = open_for_lock(path, LockMode::exclusive);
  if (fd < 0) throw IoError(path.string(), std::string("cannot open it to lock it for changing: ") + std::strerror(errno));
  set_lock(entry.fd, F_UNLCK);
  if (!set_lock(fd, F_WRLCK)) {
    ::close(fd);
    set_lock(entry.fd, F_RDLCK);
    refuse(path, key, LockMode::exclusive);
  }
  ::close(entry.fd);
  entry.fd = fd;
  entry.writable = true;
}

void drop(const FileKey& key, LockMode mode) {
  std::lock_guard<std::mutex> guard(registry_mutex);
  auto it = registry().find(key);
  if (it == registry().end()) return;
  Entry& entry = it->second;
  (mode == LockMode::exclusive ? entry.exclusive : entry.shared) -= 1;
  if (entry.exclusive == 0 && entry.shared == 0) {
    ::close(entry.fd);  // closing the only descriptor of the description releases its lock
    registry().erase(it);
  } else if (entry.exclusive == 0 && mode == LockMode::exclusive) {
    set_lock(entry.fd, F_RDLCK);  // downgrade: other holders in this process only read
  }
}

std::optional<FileKey> key_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileKey{st.st_dev, st.st_ino};
}

bool lockable(const struct stat& st) { return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode); }

}  // namespace

LockSet& LockSet::operator=(LockSet&& other) noexcept {
  if (this != &other) {
    release();
    held_ = std::move(other.held_);
    other.held_.clear();
  }
  return *this;
}

bool LockSet::lock(const fs::path& path, LockMode mode) {
  int fd = open_for_lock(path, mode);
  if (fd < 0 && mode == LockMode::shared && errno == EACCES) return true;  // unreadable: its open fails later
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) return false;
  if (fd < 0) throw IoError(path.string(), std::string("cannot open it to lock it: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !lockable(st)) {
    ::close(fd);
    return true;
  }
  const FileKey key{st.st_dev, st.st_ino};
  std::lock_guard<std::mutex> guard(registry_mutex);
  auto it = registry().find(key);
  if (it != registry().end()) {
    ::close(fd);  // this process holds the file already: count one more holder on that descriptor
    Entry& entry = it->second;
    if (mode == LockMode::exclusive && entry.exclusive == 0) upgrade(entry, path, key);
    (mode == LockMode::exclusive ? entry.exclusive : entry.shared) += 1;
  } else {
    if (!set_lock(fd, mode == LockMode::exclusive ? F_WRLCK : F_RDLCK)) {
      ::close(fd);
      refuse(path, key, mode);
    }
    Entry entry;
    entry.fd = fd;
    entry.writable = mode == LockMode::exclusive;
    (mode == LockMode::exclusive ? entry.exclusive : entry.shared) = 1;
    registry().emplace(key, entry);
  }
  held_.push_back({path, key, mode});
  return true;
}

std::optional<FileKey> LockSet::lock_identity(const fs::path& path, LockMode mode) {
  const std::size_t before = held_.size();
  if (!lock(path, mode) || held_.size() == before) return std::nullopt;
  return held_.back().key;
}

bool LockSet::lock_all(const std::vector<LockRequest>& requests) {
  struct Wanted {
    FileKey key;
    LockRequest request;
  };
  std::vector<Wanted> wanted;
  for (const LockRequest& request : requests) {
    std::optional<FileKey> key = key_of(request.path);
    if (!key) return false;
    auto same = std::find_if(wanted.begin(), wanted.end(), [&](const Wanted& w) { return w.key == *key; });
    if (same == wanted.end()) {
      wanted.push_back({*key, request});
    } else if (request.mode == LockMode::exclusive) {
      same->request.mode = LockMode::exclusive;
    }
  }
  std::sort(wanted.begin(), wanted.end(), [](const Wanted& a, const Wanted& b) { return a.key < b.key; });
  for (const Wanted& w : wanted) {
    if (!lock(w.request.path, w.request.mode)) return false;
    if (!held_.empty() && held_.back().path == w.request.path && held_.back().key != w.key) return false;
  }
  return true;
}

bool LockSet::covers(const std::vector<LockRequest>& requests) const {
  for (const LockRequest& request : requests) {
    struct stat st {};
    if (::stat(request.path.c_str(), &st) != 0) return false;
    if (!lockable(st)) continue;
    const FileKey key{st.st_dev, st.st_ino};
    bool held = std::any_of(held_.begin(), held_.end(), [&](const Held& h) {
      return h.key == key && (h.mode == LockMode::exclusive || request.mode == LockMode::shared);
    });
    if (!held) return false;
  }
  return true;
}

std::vector<fs::path> LockSet::paths() const {
  std::vector<fs::path> out;
  for (const Held& h : held_) out.push_back(h.path);
  return out;
}

void LockSet::release() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) drop(it->key, it->mode);
  held_.clear();
}

namespace {

// When a plan cannot be made (a chain in the middle of another program's consolidate does not
// open), that program's lock on subject is the reason to report or to wait for.
std::optional<LockError> subject_refusal(const fs::path& subject) {
  if (subject.empty()) return std::nullopt;
  try {
    LockSet probe;
    probe.lock(subject, LockMode::shared);
  } catch (const LockError& error) {
    return error;
  } catch (const Error&) {
  }
  return std::nullopt;
}

}  // namespace

LockSet acquire_planned(const std::function<std::vector<LockRequest>()>& plan, double wait_seconds,
                        const fs::path& subject) {
  return acquire_locking([&](LockSet&) { return PlannedLocks{plan(), false}; }, wait_seconds, subject);
}

LockSet acquire_locking(const std::function<PlannedLocks(LockSet&)>& plan, double wait_seconds,
                        const fs::path& subject) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(std::max(0.0, wait_seconds)));
  bool waited = false;
  int changes = 0;  // a plan that changed under us is retried a few times even without a wait
  std::string last_path = subject.string();
  for (;;) {
    std::optional<LockError> refused;
    bool changed = false;
    LockSet set;
    try {
      const PlannedLocks planned = plan(set);
      if (!planned.requests.empty()) last_path = planned.requests.front().path.string();
      if (!planned.read_under_locks) {
        changed = !set.lock_all(planned.requests);
        // Under the locks nothing vmdkit-made can change any more: plan again and compare.
        if (!changed) changed = !set.covers(plan(set).requests);
      }
      if (!changed) return set;
    } catch (const LockError& error) {
      refused = error;
    } catch (const Error& error) {
      refused = subject_refusal(subject);
      if (!refused && !waited && changes == 0) throw;
      if (!refused) throw LockError(error.file(), "changed while waiting for its lock: " + error.message());
    }
    set.release();
    const bool time_left = Clock::now() < deadline;
    if (refused && !time_left) throw *refused;
    if (changed) ++changes;
    if (changed && !time_left && changes > 3) {
      throw LockError(last_path, "changed while waiting for its lock (another program replaced or removed it); "
                                 "run the command again");
    }
    if (refused) waited = true;
    const auto pause = std::min<Clock::duration>(std::chrono::milliseconds(20), deadline - Clock::now());
    if (pause > Clock::duration::zero()) std::this_thread::sleep_for(pause);
  }
}

std::optional<fs::path> lock_folder(const fs::path& file) {
  fs::path folder = file;
  folder += ".lck";
  std::error_code error;
  if (fs::is_directory(folder, error)) return folder;
  return std::nullopt;
}

}  // namespace vmdk::io
