// Temporary files renamed into place (see temp_file.hpp).
#include "ops/temp_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <system_error>

#include "vmdk/error.hpp"

namespace vmdk::ops {

TempFile::TempFile(std::filesystem::path destination) : destination_(std::move(destination)) {
  temp_ = destination_.parent_path() / ("." + destination_.filename().string() + ".vmdkit-tmp");
  std::error_code ec;
  std::filesystem::remove(temp_, ec);
}

TempFile::~TempFile() {
  if (!renamed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void TempFile::rename_into_place() {
  std::error_code ec;
  std::filesystem::rename(temp_, destination_, ec);
  if (ec) {
    throw IoError(destination_.string(), "cannot rename " + temp_.string() + " into place: " + ec.message());
  }
  renamed_ = true;
}

void sync_folder(const std::filesystem::path& folder) {
  int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the data itself is already durable
  ::fsync(fd);
  ::close(fd);
}

void refuse_existing(const std::filesystem::path& destination) {
  std::error_code ec;
  if (std::filesystem::symlink_status(destination, ec).type() != std::filesystem::file_type::not_found && !ec) {
    throw UsageError(destination.string(), "already exists; vmdkit never overwrites a disk file (remove it first)");
  }
}

}  // namespace vmdk::ops
