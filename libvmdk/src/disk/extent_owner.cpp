// find_extent_owner: the folder's text descriptors read (small files only, never a FIFO or a
// device) until one names the given file in an extent line.
#include "disk/extent_owner.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <system_error>
#include <vector>

#include "disk/path_confine.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk::disk {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kOwnerMaxDescriptorBytes = 1024 * 1024;
// A folder of a few thousand split parts is plausible; more entries than this are not looked at.
constexpr std::size_t kOwnerMaxEntries = 100000;

bool has_vmdk_extension(const fs::path& name) {
  std::string ext = name.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".vmdk";
}

// The descriptor files of folder worth reading, in name order (reports must repeat).
std::vector<fs::path> descriptor_candidates(const fs::path& folder) {
  std::vector<fs::path> out;
  std::error_code error;
  std::size_t seen = 0;
  for (fs::directory_iterator it(folder, error), end; !error && it != end && seen < kOwnerMaxEntries;
       it.increment(error), ++seen) {
    // "./name" would show in messages for a bare file name; the plain name means the same file.
    const fs::path path = folder == "." ? it->path().filename() : it->path();
    if (!has_vmdk_extension(path.filename())) continue;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (static_cast<std::uint64_t>(st.st_size) > kOwnerMaxDescriptorBytes) continue;
    out.push_back(path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> descriptor_text(const fs::path& path) {
  std::unique_ptr<File> file = File::open(path);
  std::string text(static_cast<std::size_t>(std::min(file->size(), kOwnerMaxDescriptorBytes)), '\0');
  text.resize(
      file->read_at(0, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(text.data()), text.size())));
  if (!looks_like_descriptor(text)) return std::nullopt;
  return text;
}

}  // namespace

std::optional<ExtentOwner> find_extent_owner(const fs::path& file) {
  const std::optional<paths::FileId> target = paths::file_id(file);
  if (!target) return std::nullopt;
  const fs::path folder = paths::folder_of(file);
  for (const fs::path& candidate : descriptor_candidates(folder)) {
    if (paths::file_id(candidate) == target) continue;
    try {
      const std::optional<std::string> text = descriptor_text(candidate);
      if (!text) continue;
      const Descriptor descriptor = Descriptor::parse(*text, candidate.string());
      const auto& lines = descriptor.extents();
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].file.empty()) continue;
        // Only names inside the folder count: this is a hint for the user, not a path to follow.
        const paths::Resolved resolved =
            paths::resolve_in_folder(folder, paths::normalize_separators(lines[i].file), false);
        if (resolved.status == paths::Resolved::Status::ok && resolved.id == *target) {
          return ExtentOwner{candidate, i + 1};
        }
      }
    } catch (const Error&) {
      // A damaged or unreadable neighbour says nothing about this file.
    }
  }
  return std::nullopt;
}

}  // namespace vmdk::disk
