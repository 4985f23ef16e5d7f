// Path confinement (DESIGN.md "Safety rules"): extent and parent names resolve inside the folder of
// the descriptor that names them; absolute paths, "..", device nodes and escaping symlinks are refused.
#pragma once

#include <compare>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace vmdk::paths {

/// A name as written in a descriptor with '\' turned into '/' (Windows producers write either).
std::string normalize_separators(std::string_view name);

/// name in ASCII lower case: VMware's file name conventions (".vmdk", "-flat", "-s001") are matched
/// without regard to case, as Windows hosts write them either way.
std::string lower_ascii(std::string_view name);

/// True for "/x", "//server/x" and Windows drive paths ("C:/x", "C:\x", "C:x").
bool is_absolute_name(std::string_view normalized);

/// True when some component of normalized is "..".
bool has_dotdot(std::string_view normalized);

/// The last non-empty component of normalized ("" when there is none).
std::string last_component(std::string_view normalized);

/// Which file a path names (device and inode): equal for two names of one file, symlinks and hard
/// links included.
struct FileId {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  auto operator<=>(const FileId&) const = default;
};

/// The FileId of the file path names (symlinks followed), nullopt when it cannot be stat'ed.
std::optional<FileId> file_id(const std::filesystem::path& path);

struct Resolved {
  enum class Status { ok, missing, refused };
  Status status = Status::ok;
  std::filesystem::path path;  ///< where the name points (also set when missing)
  std::string reason;          ///< why it was refused, lower case, without the file prefix
  /// Refused, but --allow-outside-paths would accept it (false for a FIFO, socket or folder,
  /// which nothing accepts).
  bool option_accepts = true;
  FileId id;                   ///< the file found (status ok)
};

/// Resolves name (already normalized) against folder. Without allow_outside: refuses absolute
/// names, ".." components, symlinks whose target leaves folder and anything that is not a regular
/// file. With allow_outside: absolute names are used as they are and any existing file is accepted.
/// Never throws for a missing file (status missing); throws nothing but std::bad_alloc.
Resolved resolve_in_folder(const std::filesystem::path& folder, const std::string& name, bool allow_outside);

/// The folder a descriptor's relative names are resolved against ("." for a bare file name).
std::filesystem::path folder_of(const std::filesystem::path& file);
/// True when a and b name the same existing file (std::filesystem::equivalent); false on any error.
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);
/// path made absolute against the working folder and lexically normalised (path itself,
/// normalised, when the working folder cannot be read). Touches no file.
std::filesystem::path absolute_normal(const std::filesystem::path& path);

}  // namespace vmdk::paths
