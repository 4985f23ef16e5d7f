// Reading and replacing the descriptor text of a disk in place: embedded descriptors are rewritten
// inside their reserved sectors (never past them), standalone ones by write-and-rename
// (DESIGN.md safety rules). Edits change the text minimally so that VMware's layout survives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "vmdk/disk.hpp"

namespace vmdk::ops {

/// Where a disk's descriptor lives and how much room an embedded one has.
struct DescriptorHome {
  std::filesystem::path file;
  bool embedded = false;
  bool synthesized = false;       ///< a bare sparse extent: there is no descriptor to change
  std::uint64_t offset = 0;       ///< bytes (embedded)
  std::uint64_t capacity = 0;     ///< bytes of the reserved area (embedded)
  std::string text;               ///< current text (cut at the first NUL when embedded)
};

/// Locates and reads the descriptor of disk. Throws FormatError, IoError.
DescriptorHome load_descriptor_home(const Disk& disk);

/// text with the value of its `key=` header line replaced (keeping the line's spelling and line
/// ending), or with `key=value` added after the last header line when absent.
std::string with_header_value(const std::string& text, const std::string& key, const std::string& value);

/// Throws UsageError naming the file when text does not fit home's reserved area.
void check_fits(const DescriptorHome& home, const std::string& text);

/// Replaces the descriptor: embedded in place (area NUL padded) + fsync; standalone through a
/// temporary file, fsync, rename, folder sync. Throws UsageError (does not fit), IoError.
void store_descriptor(const DescriptorHome& home, const std::string& text);

}  // namespace vmdk::ops
