// PooledFile: an LRU of open read-only files shared by the whole process. Eviction only drops the
// pool's reference: a read in progress on another thread keeps its descriptor until it is done.
#include "io/pooled_file.hpp"

#include <sys/stat.h>

#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "vmdk/error.hpp"

namespace vmdk::io {

namespace {

FileKey pool_key_of(const File& file) {
  struct stat st {};
  if (::fstat(file.descriptor(), &st) != 0) throw IoError(file.name(), "cannot stat it");
  return {st.st_dev, st.st_ino};
}

class FilePool {
 public:
  static FilePool& instance() {
    static FilePool pool;
    return pool;
  }

  std::shared_ptr<File> find(const PooledFile* owner) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(owner);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  // Adds a freshly opened file; the least recently read beyond the bound are closed (once their
  // readers, if any, are done with them).
  void add(const PooledFile* owner, std::shared_ptr<File> file) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = index_.find(owner); it != index_.end()) {
      lru_.erase(it->second);
      index_.erase(it);
    }
    lru_.emplace_front(owner, std::move(file));
    index_[owner] = lru_.begin();
    while (lru_.size() > kPooledOpenFiles) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
  }

  void forget(const PooledFile* owner) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = index_.find(owner); it != index_.end()) {
      lru_.erase(it->second);
      index_.erase(it);
    }
  }

 private:
  std::mutex mutex_;
  std::list<std::pair<const PooledFile*, std::shared_ptr<File>>> lru_;
  std::unordered_map<const PooledFile*, decltype(lru_)::iterator> index_;
};

}  // namespace

std::shared_ptr<PooledFile> PooledFile::open(const std::filesystem::path& path) {
  std::shared_ptr<File> file = File::open(path);
  std::shared_ptr<PooledFile> pooled(new PooledFile(path, pool_key_of(*file)));
  FilePool::instance().add(pooled.get(), std::move(file));
  return pooled;
}

PooledFile::~PooledFile() { FilePool::instance().forget(this); }

std::shared_ptr<File> PooledFile::acquire() const {
  if (std::shared_ptr<File> file = FilePool::instance().find(this)) return file;
  std::shared_ptr<File> file = File::open(path_);
  if (pool_key_of(*file) != key_) {
    throw IoError(name_, "was replaced by another file while the disk was open (it is read again only if it is "
                         "the same file)");
  }
  FilePool::instance().add(this, file);
  return file;
}

std::size_t PooledFile::read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
  return acquire()->read_at(offset, out);
}

std::size_t PooledFile::read_scatter_at(std::uint64_t offset, std::span<const std::span<std::uint8_t>> parts) const {
  return acquire()->read_scatter_at(offset, parts);
}

std::uint64_t PooledFile::size() const { return acquire()->size(); }

DataSpan PooledFile::next_data(std::uint64_t offset) const { return acquire()->next_data(offset); }

}  // namespace vmdk::io
