// Other virtual disk formats recognised by their magic, so that opening one says what it is
// instead of "not a VMDK": qcow/qcow2, QED, VDI, VHD, VHDX.
#pragma once

#include <optional>
#include <string>

#include "vmdk/io.hpp"

namespace vmdk::extent {

/// The name of the image format source is in ("qcow2", "VHD", ...), or nullopt when none of the
/// known magics matches. Reads the first 512 bytes and, for VHD, the last 512. Throws IoError.
std::optional<std::string> foreign_image_format(const ByteSource& source);

}  // namespace vmdk::extent
