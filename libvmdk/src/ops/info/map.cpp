// ops::map: allocation through a chain (one merged map, QEMU's present/zero/data/depth meaning)
// and a compact strip per layer showing where that layer's own data lives (vmdkit map).
#include <algorithm>

#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

namespace {

// Column c of a strip covers [bound(c), bound(c+1)); computed without overflow for any capacity.
std::uint64_t bound(std::uint64_t capacity, std::size_t width, std::size_t column) {
  return capacity / width * column + capacity % width * column / width;
}

std::string layer_strip(const Disk& disk, std::uint64_t capacity, std::size_t width) {
  enum : unsigned { kData = 1, kZero = 2, kNothing = 4 };
  std::vector<unsigned> seen(width, 0);
  std::vector<std::uint64_t> bounds(width + 1);
  for (std::size_t c = 0; c <= width; ++c) bounds[c] = bound(capacity, width, c);

  std::uint64_t length = std::min(capacity, disk.capacity());
  std::vector<DiskRun> runs;
  if (length > 0) disk.map(0, length, runs);
  // Whatever this layer does not cover (a smaller parent) counts as nothing.
  if (length < capacity) {
    DiskRun tail;
    tail.offset = length;
    tail.length = capacity - length;
    runs.push_back(tail);
  }
  for (const auto& run : runs) {
    if (run.length == 0) continue;
    unsigned flag = run.state == BlockState::data ? kData : run.state == BlockState::zero ? kZero : kNothing;
    // First column whose end lies after the run's start, up to the column holding its last byte.
    auto first = std::upper_bound(bounds.begin() + 1, bounds.end(), run.offset) - bounds.begin() - 1;
    auto last = std::upper_bound(bounds.begin() + 1, bounds.end(), run.offset + run.length - 1) -
                bounds.begin() - 1;
    for (auto c = first; c <= last && c < static_cast<std::ptrdiff_t>(width); ++c) {
      seen[static_cast<std::size_t>(c)] |= flag;
    }
  }
  std::string strip(width, '.');
  for (std::size_t c = 0; c < width; ++c) {
    switch (seen[c]) {
      case kData: strip[c] = '#'; break;
      case kZero: strip[c] = '0'; break;
      case kNothing: case 0: strip[c] = '.'; break;
      default: strip[c] = '+'; break;
    }
  }
  return strip;
}

}  // namespace

MapReport map(const Chain& chain, const MapOptions& options) {
  MapReport report;
  report.capacity = chain.capacity();
  report.offset = options.offset;
  report.length = checked_range(report.capacity, options.offset, options.length);
  for (const auto& layer : chain.layers()) report.layers.push_back(layer.disk->path().string());
  if (report.length > 0) report.ranges = chain.map(report.offset, report.length);
  if (options.strip_width > 0 && report.capacity > 0) {
    for (const auto& layer : chain.layers()) {
      report.strips.push_back(layer_strip(*layer.disk, report.capacity, options.strip_width));
    }
  }
  return report;
}

}  // namespace vmdk
