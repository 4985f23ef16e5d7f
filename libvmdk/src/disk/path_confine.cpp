// Path confinement for extent and parent names: the checks of DESIGN.md "Safety rules" and
// vmdk-format.md 1.6 ("reject .. components and symlink escapes").
#include "disk/path_confine.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <system_error>

namespace vmdk::paths {

namespace fs = std::filesystem;

std::string normalize_separators(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '\\', '/');
  return out;
}

std::string lower_ascii(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_absolute_name(std::string_view normalized) {
  if (!normalized.empty() && normalized[0] == '/') return true;
  const bool drive =
      normalized.size() >= 2 && normalized[1] == ':' &&
      ((normalized[0] >= 'A' && normalized[0] <= 'Z') || (normalized[0] >= 'a' && normalized[0] <= 'z'));
  return drive;
}

bool has_dotdot(std::string_view normalized) {
  std::size_t pos = 0;
  while (pos <= normalized.size()) {
    std::size_t next = normalized.find('/', pos);
    if (next == std::string_view::npos) next = normalized.size();
    if (normalized.substr(pos, next - pos) == "..") return true;
    pos = next + 1;
  }
  return false;
}

std::string last_component(std::string_view normalized) {
  while (!normalized.empty() && normalized.back() == '/') normalized.remove_suffix(1);
  std::size_t slash = normalized.rfind('/');
  std::string_view last = slash == std::string_view::npos ? normalized : normalized.substr(slash + 1);
  // "C:name" (drive-relative) keeps only the name.
  if (last.size() >= 2 && last[1] == ':' && slash == std::string_view::npos) last.remove_prefix(2);
  return std::string(last);
}

fs::path folder_of(const fs::path& file) {
  fs::path parent = file.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

namespace {

// True when inner is folder itself or lies below it (both canonical).
bool is_inside(const fs::path& folder, const fs::path& inner) {
  auto f = folder.begin();
  auto i = inner.begin();
  for (; f != folder.end(); ++f, ++i) {
    if (i == inner.end() || *f != *i) return false;
  }
  return true;
}

}  // namespace

Resolved resolve_in_folder(const fs::path& folder, const std::string& name, bool allow_outside) {
  Resolved result;
  if (name.empty()) {
    result.status = Resolved::Status::refused;
    result.reason = "has an empty file name";
    return result;
  }
  const bool absolute = is_absolute_name(name);
  // "." / name would show as "./name" in every report; the plain name means the same file.
  result.path = absolute && name[0] == '/' ? fs::path(name)
                : folder == "."            ? fs::path(name)
                                           : folder / fs::path(name);
  if (!allow_outside) {
    if (absolute) {
      result.status = Resolved::Status::refused;
      result.reason = "is an absolute path, which could point anywhere on this machine";
      return result;
    }
    if (has_dotdot(name)) {
      result.status = Resolved::Status::refused;
      result.reason = "has a \"..\" component, which leaves the descriptor's folder";
      return result;
    }
  }
  struct stat link_st {};
  if (::lstat(result.path.c_str(), &link_st) != 0) {
    result.status = Resolved::Status::missing;
    return result;
  }
  result.id = {static_cast<std::uint64_t>(link_st.st_dev), static_cast<std::uint64_t>(link_st.st_ino)};
  // The common case needs no more system calls: a plain name that is a regular file (not a
  // symlink) is an entry of the folder itself. Opening a deep chain resolves a name per layer.
  if (S_ISREG(link_st.st_mode) && name.find('/') == std::string::npos) return result;
  struct stat st {};
  if (::stat(result.path.c_str(), &st) != 0) {
    // A dangling symlink: nothing to read there.
    result.status = Resolved::Status::missing;
    return result;
  }
  result.id = {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
  if (allow_outside) return result;
  // Canonical paths catch a symlink anywhere along the name, not only on the last component.
  std::error_code target_error;
  std::error_code root_error;
  const fs::path target = fs::canonical(result.path, target_error);
  const fs::path root = fs::canonical(folder, root_error);
  if (target_error || root_error || !is_inside(root, target)) {
    result.status = Resolved::Status::refused;
    result.reason = "is a symlink that leads out of the descriptor's folder (to " + target.string() + ")";
    return result;
  }
  if (!S_ISREG(st.st_mode)) {
    result.status = Resolved::Status::refused;
    result.option_accepts = S_ISBLK(st.st_mode);
    result.reason = S_ISBLK(st.st_mode)    ? "is a block device, not a regular file"
                    : S_ISCHR(st.st_mode)  ? "is a character device, not a disk file"
                    : S_ISFIFO(st.st_mode) ? "is a FIFO (named pipe), not a disk file"
                    : S_ISSOCK(st.st_mode) ? "is a socket, not a disk file"
                    : S_ISDIR(st.st_mode)  ? "is a folder, not a disk file"
                                           : "is not a regular file";
    return result;
  }
  return result;
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code error;
  const bool same = std::filesystem::equivalent(a, b, error);
  return !error && same;
}

std::filesystem::path absolute_normal(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return (error ? path : absolute).lexically_normal();
}

std::optional<FileId> file_id(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

}  // namespace vmdk::paths
