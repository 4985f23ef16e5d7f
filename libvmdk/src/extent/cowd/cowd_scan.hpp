// A structure-by-structure scan of one vmfsSparse (COWD) extent for `check` (vmdk-format.md 4.2,
// 7.1): the reader's own checks, but every damage becomes a finding instead of the first an error.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "vmdk/finding.hpp"
#include "vmdk/io.hpp"

namespace vmdk::cowd {

/// Scans a COWD extent that its descriptor line gives size_bytes: the header (one finding when it
/// is refused: nothing else can be located), every directory entry, every entry of every table.
/// Findings name file->name() and the byte offset of the damaged field or entry; at most
/// extent::kMaxFindingsPerFile, then a "more_findings" one. Empty exactly when the extent opens
/// and maps without an error. Never throws for damage; IoError for a failing read.
std::vector<Finding> scan_cowd(std::shared_ptr<const ByteSource> file, std::uint64_t size_bytes);

}  // namespace vmdk::cowd
