// The one printer interface of the command line: every report prints as text or as one JSON
// document (schemas in docs/json-output.md). Commands pick the printer from --json.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "vmdk/check.hpp"
#include "vmdk/consolidate.hpp"
#include "vmdk/convert.hpp"
#include "vmdk/create.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/write.hpp"
#include "vmdk/fixture.hpp"
#include "vmdk/ops.hpp"
#include "vmdk/rebuild.hpp"
#include "vmdk/repair.hpp"

namespace vmdkit_cli {

class Printer {
 public:
  virtual ~Printer() = default;
  virtual void print(const vmdk::InfoReport& report) = 0;
  virtual void print(const vmdk::ChainReport& report) = 0;
  virtual void print(const vmdk::MapReport& report) = 0;
  virtual void print(const vmdk::ConvertReport& report) = 0;
  virtual void print(const vmdk::CompareReport& report) = 0;
  virtual void print(const vmdk::CreateReport& report) = 0;
  virtual void print(const vmdk::SnapshotReport& report) = 0;
  virtual void print(const vmdk::WriteReport& report) = 0;
  virtual void print(const vmdk::FixtureReport& report) = 0;
  virtual void print(const vmdk::ConsolidateReport& report) = 0;
  virtual void print(const vmdk::CheckReport& report) = 0;
  virtual void print(const vmdk::RepairReport& report) = 0;
  virtual void print(const vmdk::UndoReport& report) = 0;
  virtual void print(const vmdk::RebuildReport& report) = 0;
};

/// An error as --json prints it: the message printed on stderr (after "vmdkit: error: "), and the
/// file and byte offset it concerns when the error names them.
struct ErrorReport {
  std::string message;
  std::optional<std::string> file;
  std::optional<std::uint64_t> offset;
};
/// Prints {"error": {"message", "file", "offset"}} as one JSON document and flushes out.
void print_json_error(std::ostream& out, const ErrorReport& error);

std::unique_ptr<Printer> make_text_printer(std::ostream& out);
std::unique_ptr<Printer> make_json_printer(std::ostream& out);
inline std::unique_ptr<Printer> make_printer(bool json, std::ostream& out) {
  return json ? make_json_printer(out) : make_text_printer(out);
}

}  // namespace vmdkit_cli
