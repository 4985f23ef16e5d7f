// The extent side of descriptor rebuilding: what an extent file is by its name (vmdk-format.md 5.1),
// the complete, ordered member list of a split set (2.10), and each member's virtual size taken
// from its file size (flat) or its header (KDMV 2.1, COWD 4.2.1, SESparse 4.3.1).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vmdk/descriptor.hpp"

namespace vmdk::ops::rebuild {

enum class ExtentKind { flat, split_flat, split_sparse, cowd, sesparse };

/// An extent file name taken apart: NAME-flat.vmdk, NAME-sNNN.vmdk, NAME-fNNN.vmdk,
/// NAME-delta.vmdk, NAME-sesparse.vmdk.
struct ExtentName {
  ExtentKind kind = ExtentKind::flat;
  std::string base;       ///< NAME: the descriptor's stem (may end in -NNNNNN)
  std::string extension;  ///< ".vmdk" as the file spells it
  unsigned part = 0;      ///< split sets: 1..999
  /// The N of a NAME's trailing -NNNNNN (six digits), 0 when there is none.
  unsigned snapshot_number = 0;
  std::string snapshot_root;  ///< NAME without its -NNNNNN

  bool same_disk(const ExtentName& other) const {
    return kind == other.kind && base == other.base && extension == other.extension;
  }
};

/// nullopt when the name follows none of the patterns.
std::optional<ExtentName> parse_extent_name(const std::filesystem::path& file);

/// Every member of the split set that `given` (a member) belongs to, in part order, spelled in
/// given's folder. Throws FormatError naming the missing part when the numbers have a gap,
/// IoError when the folder cannot be listed.
std::vector<std::filesystem::path> split_members(const std::filesystem::path& given, const ExtentName& name);

/// One measured extent: its virtual size and the descriptor line type it gets.
struct MeasuredExtent {
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  ExtentType type = ExtentType::flat;
};

/// Reads what the descriptor needs from one extent file: the file size of flat data (a positive
/// multiple of 512), the capacity of a KDMV, COWD or SESparse header (magic checked, non-zero).
/// Doubtful but usable input (a damaged sparse header past its capacity, a flat file that starts
/// with a sparse magic) adds a warning. Throws FormatError naming the file, the structure and the
/// offset, IoError.
MeasuredExtent measure_extent(const std::filesystem::path& path, ExtentKind kind,
                              std::vector<std::string>& warnings);

}  // namespace vmdk::ops::rebuild
