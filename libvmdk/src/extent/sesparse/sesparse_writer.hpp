// Writer of a new, empty ESXi SESparse delta extent (vmdk-format.md 4.3): both headers, the journal
// header and the reserved metadata regions; grains and tables are added later, in place, by the
// SESparse updater.
#pragma once

#include <cstdint>
#include <memory>

#include "extent/extent_writer.hpp"
#include "format/sesparse_header.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sesparse {

/// Magic of the journal header (u64 at its offset 0), as ESXi writes it.
inline constexpr std::uint64_t kJournalHeaderMagic = 0xdeafc0de;

/// The constant header of a new extent of capacity_bytes (a positive multiple of 512 of at most
/// 64 TiB, else UsageError), laid out like the extents ESXi writes (4.3.1): volatile header at
/// sector 1, journal header at 2, then journal, directory, tables, free bitmap, backmap and grains,
/// each region starting on a 1 MiB boundary and at least 1 MiB long, every region large enough for
/// the whole capacity.
format::SesparseHeader new_sesparse_header(std::uint64_t capacity_bytes);

/// A writer over file (random access, expected empty). The file ends where the grains region
/// starts; the metadata regions are holes of zeros. write() accepts only zeros (a new delta
/// starts empty; data goes through the updater) and throws UnsupportedError otherwise.
std::unique_ptr<ExtentWriter> make_sesparse_writer(std::shared_ptr<ByteSink> file,
                                                   std::uint64_t capacity_bytes);

}  // namespace vmdk::sesparse
