// ZERO extents: a range with no file that reads as zeros and hides any parent (vmdk-format.md 1.6).
#pragma once

#include <cstdint>
#include <memory>

#include "vmdk/extent.hpp"

namespace vmdk::zero {

/// An extent of size_bytes whose every byte is BlockState::zero.
std::unique_ptr<Extent> open_zero_extent(std::uint64_t size_bytes);

}  // namespace vmdk::zero
