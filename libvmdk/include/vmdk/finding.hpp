// A finding of `check`: one anomaly in one file, as data rather than an exception (DESIGN.md rule 3).
// Shared by the format scanners that find them and the repair that fixes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmdk {

/// How bad a finding is. corruption: data may read wrong or not at all (check exits 2);
/// leak: space no entry uses (exit 3 when nothing worse); warning: worth fixing, reads are right.
enum class Severity { corruption, leak, warning };
std::string_view to_string(Severity severity);  ///< "corruption", "leak", "warning"

struct Finding {
  std::string code;       ///< stable snake_case identifier, e.g. "gt_entry_past_eof" (docs/json-output.md)
  Severity severity = Severity::corruption;
  std::string file;       ///< the damaged file
  std::optional<std::uint64_t> offset;  ///< byte offset in file of the damaged structure itself
  std::string message;    ///< lower case, offsets in hex, names the structure
  bool repairable = false;  ///< `repair` can fix it (possibly needing an option, see the message)
};

}  // namespace vmdk
