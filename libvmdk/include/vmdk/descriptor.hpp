// The VMDK text descriptor as a value: header keys, extent lines and the disk database (DDB),
// with comments, blank lines and unknown keys kept in order (vmdk-format.md section 1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmdk {

enum class ExtentAccess { rw, rdonly, noaccess };
enum class ExtentType { flat, sparse, zero, vmfs, vmfssparse, sesparse, vmfsrdm, vmfsraw };

/// "RW", "RDONLY", "NOACCESS" / "FLAT", "SPARSE", "ZERO", "VMFS", ...
std::string_view to_string(ExtentAccess access);
std::string_view to_string(ExtentType type);

inline constexpr std::uint32_t kNoParentCid = 0xffffffffu;

/// A CID as messages and reports spell it: 8 lowercase hex digits, "(none)" when absent.
std::string format_cid(std::optional<std::uint32_t> cid);

/// True when head (the first bytes of a file) reads as descriptor text: after optional blank and
/// comment lines, the first line is a `version=` key (case-insensitive, spaces allowed around '=').
bool looks_like_descriptor(std::string_view head);

/// One extent line: `access sectors type ["file" [offset [extra...]]]`.
struct ExtentLine {
  ExtentAccess access = ExtentAccess::rw;
  std::uint64_t sectors = 0;
  ExtentType type = ExtentType::flat;
  std::string file;                     ///< as written (no quotes); empty for ZERO
  std::optional<std::uint64_t> offset;  ///< start sector in the file (FLAT); absent on VMFS lines
  std::vector<std::string> extra;       ///< 6th/7th fields (partition UUID, device id), verbatim
  bool operator==(const ExtentLine&) const = default;
};

/// One line of the descriptor, in file order.
struct DescriptorLine {
  enum class Kind { blank, comment, header, extent, ddb };
  Kind kind = Kind::blank;
  std::string key;    ///< header: key as written; ddb: full key including "ddb."
  std::string value;  ///< header/ddb: value without quotes; comment: the whole line text
  bool quoted = false;
  std::size_t extent_index = 0;  ///< extent: index into extents()
  bool operator==(const DescriptorLine&) const = default;
};

class Descriptor {
 public:
  /// Parses descriptor text (LF or CRLF, stops at the first NUL). Liberal: comments anywhere,
  /// blank lines, spaces around '=', keys matched case-insensitively, CIDs of 1-8 hex digits,
  /// no signature comment needed. Throws FormatError naming `file` and the byte offset of the bad
  /// line for text that is not a descriptor (no version key, a malformed extent line, a bad CID).
  static Descriptor parse(std::string_view text, std::string_view file);

  /// Canonical text: LF endings, `key=value` header lines (quoted where they were), extent lines
  /// with single spaces, `ddb.key = "value"`, comments and blank lines where they were.
  /// parse(print()) == *this.
  std::string print() const;

  /// Header key lookup (case-insensitive); value without quotes.
  std::optional<std::string> header(std::string_view key) const;
  /// Replaces the value of an existing key (keeping its position) or appends it after the last
  /// header line.
  void set_header(std::string_view key, std::string value, bool quoted);
  void remove_header(std::string_view key);

  std::uint32_t version() const;  ///< the `version` key (1 when the key is absent)
  std::optional<std::uint32_t> cid() const;
  std::uint32_t parent_cid() const;  ///< kNoParentCid when absent
  std::string create_type() const;   ///< "" when absent
  std::optional<std::string> parent_file_name_hint() const;
  std::optional<std::string> encoding() const;

  const std::vector<ExtentLine>& extents() const { return extents_; }
  /// Replaces the extent lines (same count keeps their positions; otherwise they are rewritten as
  /// one block where the old ones were, or after the header).
  void set_extents(std::vector<ExtentLine> extents);

  /// DDB lookup by full key ("ddb.adapterType"), case-insensitive.
  std::optional<std::string> ddb(std::string_view key) const;
  void set_ddb(std::string_view key, std::string value);
  /// All DDB entries in file order.
  std::vector<std::pair<std::string, std::string>> ddb_entries() const;
  /// All header entries in file order (value without quotes).
  std::vector<std::pair<std::string, std::string>> header_entries() const;

  const std::vector<DescriptorLine>& lines() const { return lines_; }

  bool operator==(const Descriptor&) const = default;

 private:
  std::vector<DescriptorLine> lines_;
  std::vector<ExtentLine> extents_;
};

}  // namespace vmdk
