// The undo log of `repair` (issue: "nothing is lost by repairing"): every byte range repair will
// overwrite or cut off is saved in `.NAME.vmdkit-undo-N` beside the disk before the first write;
// `repair --undo` writes them back newest log first.
#pragma once

#include <cstdint>
#include <filesystem>
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
  struct Saved {
    std::filesystem::path file;
    std::uint64_t size_before = 0;
    std::vector<Range> ranges;
  };
  Saved& entry(const std::filesystem::path& file);

  std::filesystem::path path_;
  std::vector<Saved> files_;
};

}  // namespace vmdk::ops
