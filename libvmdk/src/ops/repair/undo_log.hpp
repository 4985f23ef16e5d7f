// The undo log of `repair` (issue: "nothing is lost by repairing"): every byte range repair will
// overwrite or cut off is saved in `.NAME.vmdkit-undo-N` beside the disk before the first write;
// `repair --undo` writes them back newest log first, after checking the disk is still in the state
// repair left it in (sizes, a digest of every range undo overwrites, the layers' CIDs). The log
// also lists the grains repair kept, so that later repairs keep them too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vmdk/repair.hpp"

namespace vmdk::ops {

class UndoLog {
 public:
  /// A log for a repair of disk: the next free generation N beside it.
  explicit UndoLog(const std::filesystem::path& disk);

  /// Saves the bytes of file in [offset, offset + length) as they are now (the part past the end
  /// of the file is remembered as absent: undo cuts the file back to its first-seen size).
  /// Throws IoError.
  void save(const std::filesystem::path& file, std::uint64_t offset, std::uint64_t length);
  /// Saves the whole file.
  void save_whole(const std::filesystem::path& file);
  /// The grains this repair keeps (written with the next commit).
  void set_kept(const std::vector<KeptGrain>& kept) { kept_ = kept; }
  /// Records the state repair leaves: every saved file's size now and a digest of each range undo
  /// will overwrite, and the CID of each layer (path, CID). Call after the last write, then commit.
  void record_state(const std::vector<std::pair<std::filesystem::path, std::uint32_t>>& cids);

  bool empty() const { return files_.empty(); }
  std::uint64_t saved_bytes() const;
  const std::filesystem::path& path() const { return path_; }
  /// Writes the log under a temporary name, fsyncs, renames it into place. Throws IoError.
  void commit();

 private:
  struct Range {
    std::uint64_t offset;
    std::vector<std::uint8_t> bytes;
  };
  struct Check {
    std::uint64_t offset;
    std::uint64_t length;
    std::string sha256;
  };
  struct Saved {
    std::filesystem::path file;
    std::uint64_t size_before = 0;
    std::vector<Range> ranges;
    std::optional<std::uint64_t> size_after;  ///< with record_state
    std::vector<Check> checks;
  };
  Saved& entry(const std::filesystem::path& file);

  std::filesystem::path path_;
  std::vector<Saved> files_;
  std::vector<KeptGrain> kept_;
  std::vector<std::pair<std::filesystem::path, std::uint32_t>> cids_;
  bool state_recorded_ = false;
};

/// The grains kept by the repairs whose undo logs lie in folder (any disk's), paths resolved.
std::vector<KeptGrain> kept_in_logs(const std::filesystem::path& folder);

/// SHA-256 (hex) of file's bytes in [offset, offset + length), cut at the file's end. Throws IoError.
std::string range_digest(const std::filesystem::path& file, std::uint64_t offset, std::uint64_t length);

}  // namespace vmdk::ops
