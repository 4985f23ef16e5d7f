// The consolidation journal (vmdk-format.md 6.4 step 5): a small JSON file
// `.<ANCESTOR name>.vmdkit-consolidate` beside ANCESTOR that records the plan before the first
// write, so that an interrupted run can be finished. Paths are stored relative to its folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vmdk::ops {

struct JournalRelink {
  std::filesystem::path path;  ///< the child (resolved: folder / stored name)
  std::string old_hint;
  std::string new_hint;
  std::uint32_t old_parent_cid = 0;
  std::uint32_t new_parent_cid = 0;
};

struct Journal {
  static constexpr int kVersion = 1;
  enum class Stage { copy, switch_links };
  Stage stage = Stage::copy;
  std::filesystem::path file;  ///< the journal itself
  std::filesystem::path top;   ///< every path below is folder-of(file) / stored name
  std::filesystem::path ancestor;
  std::vector<std::filesystem::path> merged;
  std::vector<std::filesystem::path> removed;
  std::vector<JournalRelink> relinks;
  std::uint32_t ancestor_cid = 0;
  std::uint32_t new_ancestor_cid = 0;
};

/// The journal's path for an ANCESTOR: `.<name>.vmdkit-consolidate` in its folder.
std::filesystem::path journal_path(const std::filesystem::path& ancestor);

/// The journal as JSON text (paths relative to the journal's folder).
std::string journal_text(const Journal& journal);

/// Parses and validates journal text strictly: every key present with its type, a known version
/// and stage, CIDs as hex, paths relative and inside the folder (absolute or ".." paths only when
/// allow_outside), ancestor not among the removed files. Throws FormatError naming the file.
Journal parse_journal(const std::string& text, const std::filesystem::path& file, bool allow_outside);

/// Reads and parses a journal file (at most 1 MiB). Throws FormatError, IoError.
Journal load_journal(const std::filesystem::path& file, bool allow_outside);

/// Writes the journal under a temporary name, fsyncs, renames it into place, syncs the folder.
void store_journal(const Journal& journal);

/// Removes the journal and syncs its folder (a missing journal is fine).
void remove_journal(const std::filesystem::path& file);

/// Journal files (`.*.vmdkit-consolidate`) in folder, sorted.
std::vector<std::filesystem::path> find_journals(const std::filesystem::path& folder);

/// True when a and b name the same file: equivalent when both exist, else equal as absolute,
/// normalised paths (a merged layer is gone once the switch deleted it).
bool same_path(const std::filesystem::path& a, const std::filesystem::path& b);

/// True when journal names path as TOP, ANCESTOR, a merged layer or a re-linked child.
bool journal_names(const Journal& journal, const std::filesystem::path& path);

}  // namespace vmdk::ops
