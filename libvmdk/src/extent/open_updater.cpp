// Format -> updater: hosted sparse, COWD and SESparse extents share the SparseUpdater interface.
#include "extent/open_updater.hpp"

#include <string>

#include "extent/cowd/cowd_updater.hpp"
#include "extent/sesparse/sesparse_updater.hpp"
#include "vmdk/error.hpp"

namespace vmdk::extent {

bool has_updater(std::string_view format) {
  return format == "sparse" || format == "cowd" || format == "sesparse";
}

std::unique_ptr<sparse::SparseUpdater> open_updater(std::string_view format, std::shared_ptr<File> file,
                                                    std::uint64_t size_bytes) {
  if (format == "sparse") return sparse::SparseUpdater::open(std::move(file));
  if (format == "cowd") return cowd::open_cowd_updater(std::move(file), size_bytes);
  if (format == "sesparse") return sesparse::open_sesparse_updater(std::move(file), size_bytes);
  throw UsageError(file->name(), "no in-place updater for " + std::string(format) + " extents");
}

}  // namespace vmdk::extent
