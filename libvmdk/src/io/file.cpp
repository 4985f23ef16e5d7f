// File: a host file read and written with pread/pwrite, so one open file serves many readers.
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk {

namespace {
[[noreturn]] void fail(const std::string& name, const char* what, int err,
                       std::optional<std::uint64_t> offset = std::nullopt) {
  std::string message = std::string(what) + ": " + std::strerror(err);
  if (offset) message = std::string(what) + " at " + hex(*offset) + ": " + std::strerror(err);
  throw IoError(name, message, offset);
}

// Pseudo-filesystems whose files claim a size unrelated to what they hold (often 0 or 4096) and
// whose reads run kernel code: never a disk, whatever stat says.
const char* pseudo_filesystem(int fd) {
  struct statfs fs {};
  if (::fstatfs(fd, &fs) != 0) return nullptr;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case PROC_SUPER_MAGIC: return "procfs";
    case SYSFS_MAGIC: return "sysfs";
    case DEBUGFS_MAGIC: return "debugfs";
    case TRACEFS_MAGIC: return "tracefs";
    case SECURITYFS_MAGIC: return "securityfs";
    case CGROUP_SUPER_MAGIC: return "cgroupfs";
    case CGROUP2_SUPER_MAGIC: return "cgroup2fs";
    case EFIVARFS_MAGIC: return "efivarfs";
    case BPF_FS_MAGIC: return "bpffs";
    default: return nullptr;
  }
}

// Why this file cannot hold a disk, or empty: only regular files and block devices can. A FIFO or
// a character device would block or never end; a socket cannot be read at an offset.
std::string not_a_disk_file(const struct stat& st) {
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) return "";
  if (S_ISDIR(st.st_mode)) return "is a directory, not a disk file";
  if (S_ISFIFO(st.st_mode)) {
    return "is a FIFO (named pipe), not a disk file; only regular files and block devices are read "
           "(give '-' where a command reads standard input)";
  }
  if (S_ISSOCK(st.st_mode)) return "is a socket, not a disk file; only regular files and block devices are read";
  if (S_ISCHR(st.st_mode)) {
    return "is a character device, not a disk file; only regular files and block devices are read";
  }
  return "is not a regular file, not a disk file";
}

[[noreturn]] void refuse_open(const std::string& name, const std::string& why, int fd) {
  if (fd >= 0) ::close(fd);
  throw IoError(name, why);
}
}  // namespace

std::unique_ptr<File> File::open(const std::filesystem::path& path, Mode mode) {
  // Judge the file before opening it: opening a FIFO waits for a writer, opening some character
  // devices acts on the device, and opening a socket fails with a misleading error.
  struct stat before {};
  if (::stat(path.c_str(), &before) == 0) {
    if (std::string why = not_a_disk_file(before); !why.empty()) refuse_open(path.string(), why, -1);
  }
  // O_NONBLOCK too: a file swapped for a FIFO after the check above still cannot hang the open.
  int flags = O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  switch (mode) {
    case Mode::read: flags |= O_RDONLY; break;
    case Mode::read_write: flags |= O_RDWR; break;
    case Mode::create_exclusive: flags |= O_RDWR | O_CREAT | O_EXCL; break;
    case Mode::create_truncate: flags |= O_RDWR | O_CREAT | O_TRUNC; break;
  }
  int fd = -1;
  if (mode == Mode::read) {
    // Reading a disk leaves its access time alone: forensic copies stay as found, and the kernel
    // skips an access-time check on every read. Only the owner (or root) may ask for this.
    fd = ::open(path.c_str(), flags | O_NOATIME);
    if (fd < 0 && errno != EPERM) fail(path.string(), "cannot open", errno);
  }
  if (fd < 0) fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) fail(path.string(), "cannot open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail(path.string(), "cannot stat", err);
  }
  if (std::string why = not_a_disk_file(st); !why.empty()) refuse_open(path.string(), why, fd);
  if (const char* pseudo = S_ISREG(st.st_mode) ? pseudo_filesystem(fd) : nullptr) {
    refuse_open(path.string(),
           std::string("is a file of the ") + pseudo +
               " pseudo-filesystem (its size says nothing about its content), not a disk file",
           fd);
  }
  // Regular files and block devices ignore O_NONBLOCK for data, but clear it all the same.
  const int status = ::fcntl(fd, F_GETFL);
  if (status >= 0) ::fcntl(fd, F_SETFL, status & ~O_NONBLOCK);
  return std::unique_ptr<File>(new File(fd, path.string()));
}

File::~File() { ::close(fd_); }

std::size_t File::read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(name_, "read failed", errno, offset + done);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

std::size_t File::read_scatter_at(std::uint64_t offset, std::span<const std::span<std::uint8_t>> parts) const {
  std::size_t done = 0;
  std::vector<iovec> vec;
  std::size_t first = 0;  // first part not yet fully read
  std::size_t skip = 0;   // bytes of parts[first] already read
  while (first < parts.size()) {
    vec.clear();
    for (std::size_t i = first; i < parts.size() && vec.size() < static_cast<std::size_t>(IOV_MAX); ++i) {
      std::size_t from = i == first ? skip : 0;
      vec.push_back({parts[i].data() + from, parts[i].size() - from});
    }
    ssize_t n = ::preadv(fd_, vec.data(), static_cast<int>(vec.size()), static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(name_, "read failed", errno, offset + done);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
    // Advance over the parts this call filled (a short read can stop inside one).
    auto left = static_cast<std::size_t>(n);
    while (left > 0 && first < parts.size()) {
      std::size_t rest = parts[first].size() - skip;
      if (left >= rest) {
        left -= rest;
        ++first;
        skip = 0;
      } else {
        skip += left;
        left = 0;
      }
    }
    while (first < parts.size() && parts[first].size() == skip) {  // empty parts
      ++first;
      skip = 0;
    }
  }
  return done;
}

std::uint64_t File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(name_, "cannot stat", errno);
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(fd_, 0, SEEK_END);
    if (end < 0) fail(name_, "cannot find the size of the device", errno);
    return static_cast<std::uint64_t>(end);
  }
  return static_cast<std::uint64_t>(st.st_size);
}

DataSpan File::next_data(std::uint64_t offset) const {
  // lseek moves the shared file position, which nothing here uses (every read is a pread).
  const off_t data = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) {
    // ENXIO: only a hole from offset to the end (no fstat: a thin disk asks this once per window).
    if (errno == ENXIO) return DataSpan{kNoMoreData, kNoMoreData};
    // Anything else (EINVAL from a file system or device that cannot say) means nothing is known:
    // data everywhere, found by reading.
    const std::uint64_t end = size();
    return offset >= end ? DataSpan{end, end} : DataSpan{offset, end};
  }
  const off_t hole = ::lseek(fd_, data, SEEK_HOLE);
  const auto begin = static_cast<std::uint64_t>(data);
  // Every file ends in a hole for SEEK_HOLE; a failure here (a file cut short since) says no more.
  if (hole <= data) return DataSpan{begin, std::max(begin, size())};
  return DataSpan{begin, static_cast<std::uint64_t>(hole)};
}

void File::write_at(std::uint64_t offset, std::span<const std::uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(name_, "write failed", errno, offset + done);
    }
    done += static_cast<std::size_t>(n);
  }
}

void File::flush() {
  if (::fsync(fd_) != 0) fail(name_, "fsync failed", errno);
}

void File::start_writeback() {
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
  // Offset 0 and length 0: the whole file. The result is ignored on purpose (see io.hpp).
  (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
}

void File::resize(std::uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) fail(name_, "cannot resize", errno);
}

}  // namespace vmdk
