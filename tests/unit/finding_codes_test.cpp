// The finding code registry (extent/finding_codes.hpp): each code once, each documented in
// docs/json-output.md with its severity and repairable flag, and every code check and repair emit
// over damaged images (built fixtures, samples, and seeded byte flips of them) is registered.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "extent/finding_codes.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/check.hpp"
#include "vmdk/error.hpp"
#include "vmdk/repair.hpp"

using namespace vmdk;
namespace fs = std::filesystem;

namespace {

// The source tree, found from this file's own path (tests/unit/<this>).
fs::path source_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path(); }

struct DocumentedCode {
  std::string severity;
  std::string repairable;  // the table's text: "yes", "no", "yes, with ..."
};

// The rows of the code table under "vmdkit check --json": code -> its severity and repairable
// columns (a row may name several codes).
std::multimap<std::string, DocumentedCode> documented_codes() {
  std::ifstream in(source_root() / "docs" / "json-output.md");
  REQUIRE(in.good());
  std::multimap<std::string, DocumentedCode> codes;
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("| code | severity | repairable | meaning |", 0) == 0) {
      in_table = true;
      continue;
    }
    if (!in_table || line.rfind("|---", 0) == 0) continue;
    if (line.rfind("|", 0) != 0) break;  // the table ends at its first non-row line
    std::vector<std::string> cells;
    std::stringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) cells.push_back(cell);
    REQUIRE(cells.size() >= 3);
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(' '));
      s.erase(s.find_last_not_of(' ') + 1);
      return s;
    };
    const DocumentedCode doc{trim(cells[1]), trim(cells[2])};
    for (std::size_t at = cells[0].find('`'); at != std::string::npos; at = cells[0].find('`', at)) {
      const std::size_t end = cells[0].find('`', at + 1);
      codes.emplace(cells[0].substr(at + 1, end - at - 1), doc);
      at = end + 1;
    }
  }
  return codes;
}

// Every file (and folder) of the built fixtures and the samples, copied into dir, plus the
// .vmdk files among them that a command can be pointed at.
std::vector<fs::path> copy_images(const fs::path& dir) {
  std::vector<fs::path> disks;
  const std::vector<fs::path> sources = {source_root() / "fixtures" / "generated", fs::path(VMDKIT_SAMPLES_DIR)};
  for (std::size_t s = 0; s < sources.size(); ++s) {
    if (!fs::exists(sources[s])) continue;
    const fs::path into = dir / std::to_string(s);
    fs::create_directories(into);
    fs::copy(sources[s], into, fs::copy_options::recursive);
    for (const auto& entry : fs::recursive_directory_iterator(into)) {
      if (entry.is_regular_file() && entry.path().extension() == ".vmdk") disks.push_back(entry.path());
    }
  }
  std::sort(disks.begin(), disks.end());
  return disks;
}

void record(const std::vector<Finding>& findings, std::set<std::string>& codes) {
  for (const Finding& f : findings) codes.insert(f.code);
}

// check and repair of disk; every finding code and action code they report is added to codes.
void check_and_repair(const fs::path& disk, std::set<std::string>& findings, std::set<std::string>& actions) {
  try {
    record(check(disk).findings, findings);
    const RepairReport report = repair(disk);
    record(report.before.findings, findings);
    record(report.unrepaired, findings);
    if (report.after) record(report.after->findings, findings);
    for (const RepairAction& a : report.actions) actions.insert(a.code);
  } catch (const Error&) {
    // a disk repair refuses (or cannot open at all) emits no finding
  }
}

// Seeded damage of one file: a few bytes flipped in its first 64 KiB (headers, directories,
// tables, the descriptor), or the file cut short.
void damage(const fs::path& file, std::mt19937& random) {
  const std::uint64_t size = fs::file_size(file);
  if (size == 0) return;
  if (random() % 4 == 0) {
    fs::resize_file(file, random() % size);
    return;
  }
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t at = random() % std::min<std::uint64_t>(size, 65536);
    io.seekp(static_cast<std::streamoff>(at));
    io.put(static_cast<char>(random() & 0xff));
  }
}

}  // namespace

TEST_CASE("finding codes: each code is registered exactly once, with a meaning") {
  std::set<std::string_view> seen;
  for (const FindingCode& entry : finding_codes()) {
    INFO(entry.code);
    CHECK(seen.insert(entry.code).second);
    CHECK(!entry.meaning.empty());
    CHECK(find_finding_code(entry.code) == &entry);
  }
  for (std::string_view action : repair_action_codes()) CHECK(find_finding_code(action) == nullptr);
  CHECK(find_finding_code("no_such_code") == nullptr);
}

TEST_CASE("finding codes: docs/json-output.md lists every registered code as registered") {
  const std::multimap<std::string, DocumentedCode> documented = documented_codes();
  for (const FindingCode& entry : finding_codes()) {
    const std::string code(entry.code);
    INFO(code);
    REQUIRE(documented.count(code) == 1);
    const DocumentedCode& doc = documented.find(code)->second;
    CHECK(doc.severity == to_string(entry.severity));
    CHECK(doc.repairable.rfind(entry.repairable ? "yes" : "no", 0) == 0);
  }
  for (const auto& [code, doc] : documented) {
    INFO(code);
    CHECK(find_finding_code(code) != nullptr);
  }
}

TEST_CASE("finding codes: check and repair emit registered codes only") {
  vmdk_test::TempDir dir("vmdkit-codes");
  std::set<std::string> findings;
  std::set<std::string> actions;
  const std::vector<fs::path> disks = copy_images(dir.path / "clean");
  REQUIRE(!disks.empty());
  for (const fs::path& disk : disks) check_and_repair(disk, findings, actions);
  std::mt19937 random(15);
  for (int round = 0; round < 3; ++round) {
    const fs::path damaged_dir = dir.path / ("damaged-" + std::to_string(round));
    for (const fs::path& disk : copy_images(damaged_dir)) {
      damage(disk, random);
      INFO(disk.string() << " round " << round);
      check_and_repair(disk, findings, actions);
    }
  }
  for (const std::string& code : findings) {
    INFO(code);
    CHECK(find_finding_code(code) != nullptr);
  }
  const std::span<const std::string_view> fixes = repair_action_codes();
  for (const std::string& code : actions) {
    INFO(code);
    CHECK((find_finding_code(code) != nullptr || std::find(fixes.begin(), fixes.end(), code) != fixes.end()));
  }
  // The damage above reaches well past the clean case (guards against a test that checks nothing).
  CHECK(findings.size() >= 8);
}
