// Temporary files renamed into place (see temp_file.hpp).
#include "ops/common/temp_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string_view>
#include <system_error>

#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace {

constexpr std::string_view kTempSuffix = ".vmdkit-tmp";

// Removes ".NAME.PID-RANDOM.vmdkit-tmp" files beside destination whose PID no longer runs, and
// ".NAME.vmdkit-tmp" of older versions (they used one name per destination).
void remove_stale(const std::filesystem::path& destination) {
  const std::string prefix = "." + destination.filename().string() + ".";
  std::filesystem::path folder = destination.parent_path();
  if (folder.empty()) folder = ".";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() < prefix.size() + kTempSuffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - kTempSuffix.size(), kTempSuffix.size(), kTempSuffix) != 0) {
      continue;
    }
    const std::string middle = name.substr(prefix.size(), name.size() - prefix.size() - kTempSuffix.size());
    bool stale = middle.empty();
    if (!stale) {
      const long pid = std::strtol(middle.c_str(), nullptr, 10);
      stale = pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    }
    std::error_code ignored;
    if (stale) std::filesystem::remove(it->path(), ignored);
  }
}

std::string unique_part() {
  std::random_device device;
  char text[48];
  std::snprintf(text, sizeof text, "%ld-%08x", static_cast<long>(::getpid()), static_cast<unsigned>(device()));
  return text;
}

}  // namespace

TempFile::TempFile(std::filesystem::path destination) : destination_(std::move(destination)) {
  remove_stale(destination_);
  temp_ = destination_.parent_path() /
          ("." + destination_.filename().string() + "." + unique_part() + std::string(kTempSuffix));
}

TempFile::~TempFile() {
  if (!renamed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void TempFile::rename_into_place(bool replace) {
  if (!replace) {
    rename_no_replace();
    return;
  }
  std::error_code ec;
  std::filesystem::rename(temp_, destination_, ec);
  if (ec) {
    throw IoError(destination_.string(), "cannot rename " + temp_.string() + " into place: " + ec.message());
  }
  renamed_ = true;
}

// The existence check of refuse_existing() and this rename are far apart in time: the rename itself
// must refuse (RENAME_NOREPLACE; link + unlink where the file system lacks it, link never replaces).
void TempFile::rename_no_replace() {
  int result = ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, destination_.c_str(), RENAME_NOREPLACE);
  if (result != 0 && (errno == EINVAL || errno == ENOSYS)) {
    result = ::link(temp_.c_str(), destination_.c_str());
    if (result == 0) ::unlink(temp_.c_str());
  }
  if (result != 0) {
    const int err = errno;
    if (err == EEXIST) {
      throw UsageError(destination_.string(), "appeared while this command ran (another program wrote it); it was "
                                              "left as it is: vmdkit never overwrites a disk file unless --overwrite");
    }
    throw IoError(destination_.string(), "cannot rename " + temp_.string() + " into place: " + std::strerror(err));
  }
  renamed_ = true;
}

void sync_folder(const std::filesystem::path& folder) {
  int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the data itself is already durable
  ::fsync(fd);
  ::close(fd);
}

void sync_folder(const std::filesystem::path& folder, Durability durability) {
  if (durability == Durability::synced) sync_folder(folder);
}

bool entry_exists(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found && !ec;
}

void refuse_existing(const std::filesystem::path& destination) {
  if (entry_exists(destination)) {
    throw UsageError(destination.string(), "already exists; vmdkit never overwrites a disk file (remove it first)");
  }
}

}  // namespace vmdk::ops
