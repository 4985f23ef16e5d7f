// A damaged structure found by an extent reader's checks (COWD, SESparse), kept as data so that the
// same checks either throw (reading) or list every damage with its `check` finding code (scanning).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "extent/finding_codes.hpp"
#include "vmdk/error.hpp"
#include "vmdk/finding.hpp"

namespace vmdk::extent {

/// At most this many findings are listed per extent file by a scan; the rest are summed up in one more.
inline constexpr std::size_t kMaxFindingsPerFile = 200;

struct Damage {
  std::string code;          ///< the check finding's code (docs/json-output.md), e.g. "gt_entry_past_eof"
  std::string message;       ///< what the reader's exception says (without the file name)
  std::uint64_t offset = 0;  ///< byte offset of the damaged structure in the file
  bool unsupported = false;  ///< valid but unknown to this reader: UnsupportedError, not FormatError
};

/// Throws damage as the reader reports it: UnsupportedError or FormatError naming file and offset.
[[noreturn]] inline void throw_damage(const std::string& file, Damage damage) {
  if (damage.unsupported) throw UnsupportedError(file, std::move(damage.message), damage.offset);
  throw FormatError(file, std::move(damage.message), damage.offset);
}

/// The damage a scan collects: the first `limit` kept, the rest only counted (a file of garbage
/// tables must not take memory in proportion to its entries).
class DamageLog {
 public:
  explicit DamageLog(std::size_t limit) : limit_(limit) {}

  void add(Damage damage) {
    if (listed_.size() < limit_) {
      listed_.push_back(std::move(damage));
    } else {
      ++more_;
    }
  }
  const std::vector<Damage>& listed() const { return listed_; }
  std::uint64_t more() const { return more_; }
  bool empty() const { return listed_.empty() && more_ == 0; }

 private:
  std::size_t limit_;
  std::vector<Damage> listed_;
  std::uint64_t more_ = 0;
};

/// A reader's check (log == nullptr) throws the damage; a scan's adds it to its log.
inline void report_damage(const std::string& file, Damage damage, DamageLog* log) {
  if (log == nullptr) throw_damage(file, std::move(damage));
  log->add(std::move(damage));
}

/// The log as `check` findings of file (severity and repairable from the registry,
/// extent/finding_codes.cpp), plus a last "more_findings" when some were only counted.
inline std::vector<Finding> to_findings(const std::string& file, const DamageLog& log) {
  std::vector<Finding> findings;
  for (const Damage& d : log.listed()) findings.push_back(make_finding(d.code, file, d.offset, d.message));
  if (log.more() > 0) {
    findings.push_back(make_finding("more_findings", file, std::nullopt,
                                    std::to_string(log.more()) + " more findings of this file are not listed"));
  }
  return findings;
}

}  // namespace vmdk::extent
