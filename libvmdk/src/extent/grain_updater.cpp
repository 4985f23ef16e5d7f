// The check shared by every updater kind's overwrite_grain() (see grain_updater.hpp).
#include "extent/grain_updater.hpp"

#include <string>

#include "vmdk/error.hpp"

namespace vmdk::extent {

void overwrite_held_grain(const GrainUpdater& updater, ByteSink& file, const std::string& name,
                          std::uint64_t grain_index, std::span<const std::uint8_t> data) {
  if (data.size() != updater.grain_bytes()) {
    throw UsageError(name, "grain " + std::to_string(grain_index) + " overwritten with " + hex(data.size()) +
                               " bytes instead of " + hex(updater.grain_bytes()));
  }
  auto at = updater.grain_host_offset(grain_index);
  if (!at) throw UsageError(name, "grain " + std::to_string(grain_index) + " is not held by this extent");
  file.write_at(*at, data);
}

}  // namespace vmdk::extent
