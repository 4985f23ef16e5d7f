// In-memory builders of ESXi delta extents for tests: vmfsSparse (COWD, vmdk-format.md 4.2) with
// grain tables appended on demand, and SESparse (4.3) with every grain table entry type.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/cowd_header.hpp"
#include "format/sesparse_header.hpp"
#include "vmdk/io.hpp"

namespace vmdk::test {

/// What a grain holds in a built layer.
struct EsxiGrain {
  enum class Kind { data, zero, unmapped } kind = Kind::data;  // unmapped: SESparse type 1 only
  std::vector<std::uint8_t> bytes;                             // data: exactly one grain
};

/// A built image plus where its structures are, so tests can damage them precisely.
struct EsxiImage {
  std::vector<std::uint8_t> bytes;
  std::uint64_t grain_bytes = 0;
  std::uint64_t gtes_per_gt = 4096;
  std::uint64_t entry_size = 4;  ///< 4 (COWD) or 8 (SESparse)
  std::uint64_t gd_byte_offset = 0;
  std::vector<std::uint64_t> gt_byte_offsets;                 ///< per directory entry, 0 = no table
  std::map<std::uint64_t, std::uint64_t> grain_byte_offsets;  ///< grain index -> data in the file
  std::map<std::uint64_t, EsxiGrain> grains;                  ///< what each grain reads as
  std::uint64_t volatile_byte_offset = 0;                     ///< SESparse only

  std::uint64_t gde_offset(std::uint64_t gd_index) const { return gd_byte_offset + gd_index * entry_size; }
  /// Byte offset of a grain's table entry (its table must exist).
  std::uint64_t gte_offset(std::uint64_t grain_index) const;
  void poke(std::uint64_t offset, std::size_t size, std::uint64_t value);
  std::uint64_t peek(std::uint64_t offset, std::size_t size) const;
  /// Overlays this layer on a parent's bytes: data copied, zero and unmapped grains cleared.
  void apply(std::vector<std::uint8_t>& disk) const;
  std::shared_ptr<MemoryFile> file(std::string name) const;
  void write(const std::filesystem::path& path) const;
};

class CowdBuilder {
 public:
  CowdBuilder(std::uint32_t capacity_sectors, std::uint32_t grain_sectors = 1);
  /// Grains are allocated in the order they are added; a grain's table is appended just before the
  /// first grain of its range, as ESXi does (4.2.2).
  CowdBuilder& grain(std::uint64_t index, std::vector<std::uint8_t> data);
  CowdBuilder& fill_grain(std::uint64_t index, std::uint8_t byte);
  /// GTE 1 (read as a zero grain; see libvmdk/src/extent/cowd/cowd_tables.hpp).
  CowdBuilder& zero_grain(std::uint64_t index);
  EsxiImage build() const;

 private:
  std::uint32_t capacity_;
  std::uint32_t grain_sectors_;
  std::vector<std::pair<std::uint64_t, EsxiGrain>> order_;
};

class SesparseBuilder {
 public:
  explicit SesparseBuilder(std::uint64_t capacity_sectors);
  /// Data in grain slot `slot` (default: the next unused slot, in the order grains are added).
  SesparseBuilder& grain(std::uint64_t index, std::vector<std::uint8_t> data,
                         std::optional<std::uint64_t> slot = std::nullopt);
  SesparseBuilder& fill_grain(std::uint64_t index, std::uint8_t byte);
  SesparseBuilder& zero_grain(std::uint64_t index);      ///< type 2
  SesparseBuilder& unmapped_grain(std::uint64_t index);  ///< type 1
  EsxiImage build() const;

 private:
  std::uint64_t capacity_;
  std::vector<std::pair<std::uint64_t, EsxiGrain>> order_;
  std::map<std::uint64_t, std::uint64_t> slots_;  // grain index -> chosen slot
};

/// Header helpers over an EsxiImage: change a field by the codec's field table.
void poke_cowd_header(EsxiImage& image, std::string_view field, std::uint64_t value);
void poke_sesparse_header(EsxiImage& image, std::string_view field, std::uint64_t value);
void poke_sesparse_volatile(EsxiImage& image, std::string_view field, std::uint64_t value);

/// The SESparse encoding of an allocated grain in slot `index` (4.3.3).
std::uint64_t sesparse_allocated_entry(std::uint64_t index);

}  // namespace vmdk::test
