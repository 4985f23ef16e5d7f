// In-place updates of an existing hosted sparse (KDMV) extent (vmdk-format.md 2.6, 2.8): grains
// are appended at the end of the file and become visible only when commit() writes their grain
// table entries, in both table copies, after the grain data is durable.
#pragma once

#include <memory>

#include "extent/grain_updater.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

class SparseUpdater : public extent::GrainUpdater {
 public:
  /// Opens an uncompressed KDMV extent for update; validates it as the reader does.
  /// Throws FormatError (damage), UnsupportedError (compressed or stream extents), IoError.
  static std::unique_ptr<SparseUpdater> open(std::shared_ptr<File> file);
};

}  // namespace vmdk::sparse
