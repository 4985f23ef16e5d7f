// Reading and replacing the descriptor of a disk in place: embedded descriptors are rewritten
// inside their reserved sectors (never past them), standalone ones by write-and-rename
// (DESIGN.md safety rules). Edits go through Descriptor, whose print_preserving() changes only the
// edited lines, so that VMware's layout survives; nothing here edits text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "vmdk/descriptor.hpp"
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
  Descriptor descriptor;          ///< text parsed (empty when synthesized): edit a copy, store it
};

/// Locates, reads and parses the descriptor of disk. Throws FormatError, IoError.
DescriptorHome load_descriptor_home(const Disk& disk);

/// home's descriptor with a new CID (write, consolidate), every other line as stored.
/// Throws UsageError as Descriptor::set_cid.
Descriptor with_new_cid(const DescriptorHome& home, std::uint32_t cid);
/// home's descriptor naming a new parent: parentFileNameHint (quoted) and parentCID replaced or
/// added, every other line as stored. Throws UsageError for a hint that cannot be written.
Descriptor relinked(const DescriptorHome& home, const std::string& hint, std::uint32_t parent_cid);

/// Throws UsageError naming the file when the text does not fit home's reserved area.
void check_fits(const DescriptorHome& home, const std::string& printed);
void check_fits(const DescriptorHome& home, const Descriptor& descriptor);

/// Replaces the descriptor with `printed` (a Descriptor's print_preserving()) or with descriptor:
/// embedded in place (area NUL padded) + fsync; standalone through a temporary file, fsync, rename,
/// folder sync. Throws UsageError (does not fit, no descriptor to change), IoError.
void store_descriptor(const DescriptorHome& home, const std::string& printed);
void store_descriptor(const DescriptorHome& home, const Descriptor& descriptor);

}  // namespace vmdk::ops
