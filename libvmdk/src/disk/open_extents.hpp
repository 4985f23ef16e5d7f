// Opening the extent lines of one link into slots (vmdk-format.md 6.1 steps 2-3): virtual placement
// by the descriptor's sizes, path confinement, and the right extent kind per line.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "vmdk/descriptor.hpp"
#include "vmdk/disk.hpp"
#include "vmdk/io.hpp"

namespace vmdk::disk {

/// Opens every extent line of descriptor, found next to descriptor_path. When self is given (a KDMV
/// file with an embedded or synthesized descriptor) the single SPARSE line is that file, whatever
/// name it carries. Throws IoError (missing file), FormatError (bad path, short file, bad sizes),
/// UnsupportedError (kinds not readable yet), unless options.allow_missing_extents turns those
/// into slots with a null extent and a problem text.
std::vector<ExtentSlot> open_extent_slots(const Descriptor& descriptor, const std::filesystem::path& descriptor_path,
                                          std::shared_ptr<const ByteSource> self, const OpenOptions& options);

}  // namespace vmdk::disk
