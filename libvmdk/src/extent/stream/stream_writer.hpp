// Writer of a streamOptimized extent in VMware's streamed layout (vmdk-format.md 3.4 layout A,
// 3.6): header with the directory at the end, compressed grains in LBA order with markers, a
// grain-table marker and table after each table's grains, directory marker and directory, footer
// marker, footer, end-of-stream marker. Grains compress on several threads; output stays in order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "extent/extent_writer.hpp"
#include "vmdk/io.hpp"

namespace vmdk::stream {

struct StreamWriterParams {
  std::uint64_t capacity_bytes = 0;   ///< a positive multiple of 512
  std::uint64_t grain_bytes = 65536;  ///< power of two, 4 KiB .. 1 MiB
  std::string descriptor;             ///< embedded descriptor text, at sector 1
  int compress_level = 6;             ///< 0 (stored blocks, for bit-exact fixtures) .. 9
  unsigned threads = 0;               ///< compression threads; 0 = std::thread::hardware_concurrency()
};

/// Starts a stream in sink, which may be sequential (standard output, a pipe): every byte is
/// written once, in order. Memory stays bounded whatever the disk size. Throws UsageError for bad
/// params, IoError.
std::unique_ptr<ExtentWriter> make_stream_writer(std::shared_ptr<ByteSink> sink, const StreamWriterParams& params);

}  // namespace vmdk::stream
