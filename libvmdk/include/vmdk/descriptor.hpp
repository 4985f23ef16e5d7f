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

/// True for a key of the disk database: it starts with "ddb." in any case (vmdk-format.md 1.7).
bool is_ddb_key(std::string_view key);

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
  /// The bytes of the line as read, with its line ending (LF, CRLF, or none on a last line);
  /// an edit of the value keeps them around the new value. Absent for lines made by code.
  std::optional<std::string> raw;
  /// Compares what the line means; raw (how it was spelled) is left out, so parse(print()) == d.
  bool operator==(const DescriptorLine& other) const {
    return kind == other.kind && key == other.key && value == other.value && quoted == other.quoted &&
           extent_index == other.extent_index;
  }
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
  /// The text to store back in place of the parsed one: every line no edit touched byte for byte
  /// as read (line ending, spacing, case of keys, comments, unknown lines, NUL padding after the
  /// text); an edited line keeps its key, the blanks around '=' and its line ending, only its value
  /// changes; lines made by code print canonically with LF. parse(print_preserving()) == *this.
  std::string print_preserving() const;

  /// Header key lookup (case-insensitive); value without quotes.
  std::optional<std::string> header(std::string_view key) const;
  /// Replaces the value of an existing key (the first line of that key, keeping its position,
  /// spelling and line ending) or appends `key=value` after the last header line.
  /// Throws UsageError when the line would not read back the same (a quote or newline inside the
  /// value, a bad CID, an unsupported version, a key with blanks).
  void set_header(std::string_view key, std::string value, bool quoted);
  /// Removes every header line of key (case-insensitive).
  void remove_header(std::string_view key);
  /// set_header for the keys the library changes: CID and parentCID as 8 hex digits (unquoted),
  /// parentFileNameHint quoted. Throw UsageError as set_header does.
  void set_cid(std::uint32_t cid);
  void set_parent_cid(std::uint32_t cid);
  void set_parent_file_name_hint(std::string hint);

  /// Sets the value of lines()[index], which must be a header or ddb line, keeping its key,
  /// spacing and line ending. Throws UsageError for another kind of line, an index past the end,
  /// or a value that would not read back the same.
  void set_line_value(std::size_t index, std::string value, bool quoted);
  /// Removes lines()[index] (not an extent line: set_extents changes those).
  /// Throws UsageError for an extent line or an index past the end.
  void remove_line(std::size_t index);

  std::uint32_t version() const;  ///< the `version` key (1 when the key is absent)
  std::optional<std::uint32_t> cid() const;
  std::uint32_t parent_cid() const;  ///< kNoParentCid when absent
  std::string create_type() const;   ///< "" when absent
  std::optional<std::string> parent_file_name_hint() const;
  std::optional<std::string> encoding() const;

  const std::vector<ExtentLine>& extents() const { return extents_; }
  /// Replaces the extent lines (same count keeps their positions, and an unchanged line its raw
  /// text; otherwise they are rewritten as one block where the old ones were, or after the header).
  /// Throws UsageError for a line that would not read back the same or sizes past 2^64 bytes.
  void set_extents(std::vector<ExtentLine> extents);
  /// Extent index names file instead; the rest of its line stays as written.
  /// Throws UsageError for an index past the end or a name that cannot be written (a quote, a newline).
  void set_extent_file(std::size_t index, std::string file);

  /// DDB lookup by full key ("ddb.adapterType"), case-insensitive.
  std::optional<std::string> ddb(std::string_view key) const;
  /// Replaces the value of the first entry of key (keeping its line as set_header does) or adds
  /// `key = "value"` after the last ddb entry. Throws UsageError like set_header.
  void set_ddb(std::string_view key, std::string value);
  /// Removes every ddb entry of key (case-insensitive).
  void remove_ddb(std::string_view key);
  /// All DDB entries in file order.
  std::vector<std::pair<std::string, std::string>> ddb_entries() const;
  /// All header entries in file order (value without quotes).
  std::vector<std::pair<std::string, std::string>> header_entries() const;

  const std::vector<DescriptorLine>& lines() const { return lines_; }
  /// Indices into lines() of the header and ddb lines setting key (case-insensitive, as header()
  /// and ddb() match), in file order.
  std::vector<std::size_t> lines_of(std::string_view key) const;

  /// Compares the lines and extents; how they were spelled (raw text, padding) is left out.
  bool operator==(const Descriptor& other) const {
    return lines_ == other.lines_ && extents_ == other.extents_;
  }

 private:
  std::vector<DescriptorLine> lines_;
  std::vector<ExtentLine> extents_;
  std::size_t nul_padding_ = 0;  ///< NUL bytes that followed the text (kept by print_preserving)
};

}  // namespace vmdk
