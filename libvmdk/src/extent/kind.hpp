// The interface one extent kind implements (DESIGN.md rule 1): how to recognise its files, open a
// reader, an in-place updater and a writer, its header field table and what it can do. Each folder
// under extent/ registers one (extent/<kind>/<kind>_kind.hpp); everything above extent/ asks the
// table (extent/kind_table.hpp) instead of naming a kind. QEMU's BlockDriver is the model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "extent/extent_writer.hpp"
#include "extent/grain_updater.hpp"
#include "extent/repair_plan.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/extent.hpp"
#include "vmdk/finding.hpp"
#include "vmdk/io.hpp"

namespace vmdk::extent {

/// What a descriptor line says about the extent to open.
struct ReaderRequest {
  std::shared_ptr<const ByteSource> file;  ///< null for kinds that need no file (ZERO)
  std::uint64_t start_bytes = 0;           ///< where the extent starts in the file (FLAT lines)
  std::uint64_t size_bytes = 0;            ///< the descriptor line's size, authoritative
};

/// The parameters of a new extent, one struct for every kind: each kind reads the fields it knows.
struct WriterParams {
  std::uint64_t capacity_bytes = 0;   ///< virtual bytes, a positive multiple of 512
  std::uint64_t grain_bytes = 65536;  ///< grain-mapped kinds whose grain size is free (sparse, stream)
  bool zeroed_grains = false;         ///< hosted sparse: allow zeroed-grain entries (header version 2)
  /// Embedded descriptor text, for kinds that hold one. Empty text with descriptor_sectors > 0
  /// reserves an empty area (split parts, as QEMU does); descriptor_sectors 0 means no area.
  std::string descriptor;
  std::uint64_t descriptor_sectors = 20;
  int compress_level = 6;  ///< compressing kinds: 0 (stored blocks) .. 9
  unsigned threads = 0;    ///< compressing kinds: worker threads, 0 = one per core
};

/// What every extent of a kind can do, whatever its file. Answers that depend on the file are the
/// opened extent's (Extent::capabilities()).
struct KindCapabilities {
  bool needs_file = true;          ///< false: the extent has no host file (ZERO)
  bool writable_in_place = false;  ///< open_updater() can update its files grain by grain
  bool whole_file = false;         ///< an extent is a whole file, never a range inside one
  bool sequential_only = false;    ///< its writer goes front to back and accepts a sequential sink
  bool holds_descriptor = false;   ///< its files can embed their own descriptor (embedded_descriptor())
  bool scanned_by_check = false;   ///< scan() checks its files whole, structure by structure
};

/// The embedded descriptor area of a file.
struct EmbeddedDescriptor {
  std::uint64_t offset = 0;         ///< byte offset of the area in the file
  std::uint64_t capacity = 0;       ///< bytes reserved for it
  std::optional<std::string> text;  ///< cut at the first NUL; nullopt when the area is absent or empty
};

/// One field of a kind's on-disk header, in on-disk order (info, fixture pokes, check messages).
struct HeaderField {
  std::string_view name;
  std::size_t offset = 0;
  std::size_t size = 0;
};

/// A codec's field table (name, offset, size members) as the kind interface's HeaderField list.
template <typename Table>
std::vector<HeaderField> header_fields_of(const Table& table) {
  std::vector<HeaderField> fields;
  fields.reserve(table.size());
  for (const auto& field : table) fields.push_back({field.name, field.offset, field.size});
  return fields;
}

class ExtentKind {
 public:
  virtual ~ExtentKind() = default;

  /// A short name for messages and `info` ("sparse", "cowd"...): for display only, never compared.
  virtual std::string_view name() const = 0;
  /// True when the kind opens descriptor lines of this type (several kinds may serve one type:
  /// the table tells them apart by probe()).
  virtual bool serves(ExtentType type) const = 0;
  /// True when file is this kind's by its magic and header flags (reads the first bytes only).
  /// Kinds whose files carry no magic (flat) answer false and are found as their type's default.
  /// Never throws for content; IoError for a failing read.
  virtual bool probe(const ByteSource& file) const = 0;
  virtual KindCapabilities capabilities() const = 0;

  /// Opens an extent for reading. Validates what the kind validates at open (header, directory).
  /// Throws FormatError / UnsupportedError / IoError naming the file.
  virtual std::unique_ptr<Extent> open_reader(const ReaderRequest& request) const = 0;
  /// Opens file, an extent whose descriptor line gives size_bytes, for grain updates in place.
  /// The default throws UsageError (ask capabilities().writable_in_place first).
  virtual std::unique_ptr<GrainUpdater> open_updater(std::shared_ptr<File> file,
                                                     std::uint64_t size_bytes) const;

  /// True when new disks of this createType are written as extents of this kind.
  virtual bool writes(DiskType type) const;
  /// Starts a new extent in sink (random access unless capabilities().sequential_only). The
  /// default throws UsageError (a kind that writes no createType).
  virtual std::unique_ptr<ExtentWriter> create_writer(std::shared_ptr<ByteSink> sink,
                                                      const WriterParams& params) const;

  /// The kind's header fields in on-disk order (empty for kinds without a header).
  virtual std::vector<HeaderField> header_fields() const;
  /// The embedded descriptor area of file, nullopt for kinds that hold none (and files without an
  /// area). Throws FormatError when the header or the area is out of range.
  virtual std::optional<EmbeddedDescriptor> embedded_descriptor(const ByteSource& file) const;
  /// Capacity in bytes from the file's own header, for a bare extent without a descriptor;
  /// nullopt for kinds whose files carry none. Throws FormatError for a damaged header.
  virtual std::optional<std::uint64_t> header_capacity(const ByteSource& file) const;
  /// Capacity in bytes from the header of a file whose descriptor is lost (repair
  /// --rebuild-descriptor): lenient where the reader is strict (damage past the header becomes a
  /// warning appended to warnings). nullopt for kinds whose header holds no capacity (flat).
  /// Throws FormatError when the header cannot give one (bad magic, zero or huge capacity).
  virtual std::optional<std::uint64_t> rebuild_capacity(const ByteSource& file,
                                                        std::vector<std::string>& warnings) const;

  /// For `check`: the structure-by-structure scan of the extent file at path whose descriptor line
  /// gives size_bytes, every damage a finding (codes from extent/finding_codes), whether or not the
  /// extent opens. nullopt for kinds without one (check then maps the opened extent, which stops
  /// at the first damage). Throws IoError.
  virtual std::optional<std::vector<Finding>> scan(const std::filesystem::path& path,
                                                   std::uint64_t size_bytes) const;
  /// For `repair`: adds to plan the writes that fix the extent file target, with what they lose
  /// and keep. The default plans nothing. Throws IoError, FormatError when a repair cannot start.
  virtual void plan_repair(const RepairTarget& target, RepairPlan& plan) const;
};

}  // namespace vmdk::extent
