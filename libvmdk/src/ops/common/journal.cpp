// The consolidation journal (see journal.hpp): JSON through nlohmann_json, strict validation on
// load (a journal decides which files are deleted, so it is never followed blindly).
#include "ops/common/journal.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <system_error>

#include "ops/common/temp_file.hpp"
#include "disk/path_confine.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

constexpr const char* kSuffix = ".vmdkit-consolidate";
constexpr std::uint64_t kMaxJournalBytes = 1u << 20;

// The name stored for path: relative to the journal's folder.
std::string stored_name(const fs::path& path, const fs::path& journal_file) {
  const fs::path folder = paths::absolute_normal(journal_file).parent_path();
  return paths::absolute_normal(path).lexically_relative(folder).generic_string();
}

// Strict accessors: every error names the journal and the key.
class Reader {
 public:
  Reader(const fs::path& file, bool allow_outside) : file_(file), allow_outside_(allow_outside) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(file_.string(), "consolidation journal: " + what);
  }

  const Json& member(const Json& object, const char* key) const {
    auto it = object.find(key);
    if (it == object.end()) fail(std::string("key \"") + key + "\" is missing");
    return *it;
  }

  std::string text(const Json& object, const char* key) const {
    const Json& value = member(object, key);
    if (!value.is_string()) fail(std::string("\"") + key + "\" is not a string");
    return value.get<std::string>();
  }

  std::uint32_t cid(const Json& object, const char* key) const {
    const std::string value = text(object, key);
    if (value.empty() || value.size() > 8 ||
        value.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      fail(std::string("\"") + key + "\" is not a CID (1 to 8 hex digits): \"" + value + "\"");
    }
    return static_cast<std::uint32_t>(std::stoul(value, nullptr, 16));
  }

  fs::path path_value(const std::string& name, const std::string& where) const {
    if (name.empty() || name.find('\0') != std::string::npos) fail(where + " is not a file name");
    const fs::path stored(name);
    bool outside = stored.is_absolute() || stored.has_root_name() || stored.has_root_directory();
    for (const auto& part : stored) outside = outside || part == "..";
    if (outside && !allow_outside_) {
      fail(where + " \"" + name +
           "\" leaves the journal's folder (use --allow-outside-paths if that is intended)");
    }
    if (stored.filename().empty() || stored.filename() == "." || stored.filename() == "..") {
      fail(where + " \"" + name + "\" is not a file name");
    }
    return stored.is_absolute() ? stored : file_.parent_path() / stored;
  }

  fs::path path(const Json& object, const char* key) const {
    return path_value(text(object, key), std::string("\"") + key + "\"");
  }

  std::vector<fs::path> paths(const Json& object, const char* key) const {
    const Json& value = member(object, key);
    if (!value.is_array()) fail(std::string("\"") + key + "\" is not an array");
    std::vector<fs::path> out;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string where = std::string("\"") + key + "\"[" + std::to_string(i) + "]";
      if (!value[i].is_string()) fail(where + " is not a string");
      out.push_back(path_value(value[i].get<std::string>(), where));
    }
    return out;
  }

 private:
  const fs::path& file_;
  bool allow_outside_;
};

}  // namespace

fs::path journal_path(const fs::path& ancestor) {
  return ancestor.parent_path() / ("." + ancestor.filename().string() + kSuffix);
}

std::string journal_text(const Journal& journal) {
  Json j;
  j["version"] = Journal::kVersion;
  j["stage"] = journal.stage == Journal::Stage::copy ? "copy" : "switch";
  j["top"] = stored_name(journal.top, journal.file);
  j["ancestor"] = stored_name(journal.ancestor, journal.file);
  j["merged"] = Json::array();
  for (const fs::path& p : journal.merged) j["merged"].push_back(stored_name(p, journal.file));
  j["removed"] = Json::array();
  for (const fs::path& p : journal.removed) j["removed"].push_back(stored_name(p, journal.file));
  j["relinks"] = Json::array();
  for (const JournalRelink& r : journal.relinks) {
    j["relinks"].push_back(Json{{"path", stored_name(r.path, journal.file)},
                                {"old_hint", r.old_hint},
                                {"new_hint", r.new_hint},
                                {"old_parent_cid", format_cid(r.old_parent_cid)},
                                {"new_parent_cid", format_cid(r.new_parent_cid)}});
  }
  j["ancestor_cid"] = format_cid(journal.ancestor_cid);
  j["new_ancestor_cid"] = format_cid(journal.new_ancestor_cid);
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Journal parse_journal(const std::string& text, const fs::path& file, bool allow_outside) {
  Reader r(file, allow_outside);
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) r.fail("not valid JSON");
  if (!j.is_object()) r.fail("not a JSON object");
  const Json& version = r.member(j, "version");
  if (!version.is_number_integer() || version.get<std::int64_t>() != Journal::kVersion) {
    r.fail("unknown version " + version.dump() + " (this vmdkit writes version " +
           std::to_string(Journal::kVersion) + ")");
  }
  Journal journal;
  journal.file = file;
  const std::string stage = r.text(j, "stage");
  if (stage == "copy")
    journal.stage = Journal::Stage::copy;
  else if (stage == "switch")
    journal.stage = Journal::Stage::switch_links;
  else
    r.fail("unknown stage \"" + stage + "\" (expected \"copy\" or \"switch\")");
  journal.top = r.path(j, "top");
  journal.ancestor = r.path(j, "ancestor");
  journal.merged = r.paths(j, "merged");
  journal.removed = r.paths(j, "removed");
  const Json& relinks = r.member(j, "relinks");
  if (!relinks.is_array()) r.fail("\"relinks\" is not an array");
  for (std::size_t i = 0; i < relinks.size(); ++i) {
    const Json& item = relinks[i];
    if (!item.is_object()) r.fail("\"relinks\"[" + std::to_string(i) + "] is not an object");
    JournalRelink link;
    link.path = r.path(item, "path");
    link.old_hint = r.text(item, "old_hint");
    link.new_hint = r.text(item, "new_hint");
    if (link.new_hint.empty() || link.new_hint.find_first_of("\"\r\n") != std::string::npos) {
      r.fail("\"relinks\"[" + std::to_string(i) + "].new_hint is not a usable file name");
    }
    link.old_parent_cid = r.cid(item, "old_parent_cid");
    link.new_parent_cid = r.cid(item, "new_parent_cid");
    journal.relinks.push_back(std::move(link));
  }
  journal.ancestor_cid = r.cid(j, "ancestor_cid");
  journal.new_ancestor_cid = r.cid(j, "new_ancestor_cid");

  // Consistency: the journal decides which files are deleted.
  if (journal.merged.empty()) r.fail("\"merged\" is empty");
  if (!same_path(journal.merged.front(), journal.top)) r.fail("\"merged\" does not start with \"top\"");
  if (same_path(journal.top, journal.ancestor)) r.fail("\"top\" and \"ancestor\" are the same file");
  for (const fs::path& removed : journal.removed) {
    if (same_path(removed, journal.ancestor))
      r.fail("\"removed\" lists the ancestor " + journal.ancestor.string());
    if (same_path(removed, file)) r.fail("\"removed\" lists the journal itself");
    for (const JournalRelink& link : journal.relinks) {
      if (same_path(removed, link.path))
        r.fail("\"removed\" lists the re-linked child " + link.path.string());
    }
  }
  for (const JournalRelink& link : journal.relinks) {
    if (link.new_parent_cid != journal.new_ancestor_cid) {
      r.fail("re-link of " + link.path.string() + " does not use the new ancestor CID");
    }
    if (same_path(link.path, journal.ancestor)) r.fail("\"relinks\" lists the ancestor");
  }
  return journal;
}

Journal load_journal(const fs::path& file, bool allow_outside) {
  std::unique_ptr<File> source = File::open(file);
  const std::uint64_t size = source->size();
  if (size > kMaxJournalBytes) {
    throw FormatError(file.string(),
                      "consolidation journal is " + hex(size) + " bytes, more than " + hex(kMaxJournalBytes));
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  read_exact(*source, 0, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(text.data()), text.size()),
             "consolidation journal");
  return parse_journal(text, file, allow_outside);
}

void store_journal(const Journal& journal) {
  const std::string text = journal_text(journal);
  TempFile temp(journal.file);
  {
    std::unique_ptr<File> file = File::open(temp.temp(), File::Mode::create_truncate);
    file->write_at(
        0, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    file->flush();
  }
  temp.rename_into_place();
  sync_folder(journal.file.parent_path());
}

void remove_journal(const fs::path& file) {
  std::error_code error;
  fs::remove(file, error);
  if (error) throw IoError(file.string(), "cannot remove the consolidation journal: " + error.message());
  sync_folder(file.parent_path());
}

std::vector<fs::path> find_journals(const fs::path& folder) {
  std::vector<fs::path> journals;
  std::error_code error;
  const fs::path listed = folder.empty() ? fs::path(".") : folder;
  const std::string suffix = kSuffix;
  for (fs::directory_iterator it(listed, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= suffix.size() + 1 || name[0] != '.' ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::error_code status_error;
    if (!it->is_regular_file(status_error) || status_error) continue;
    journals.push_back(folder / name);
  }
  std::sort(journals.begin(), journals.end());
  return journals;
}

bool same_path(const fs::path& a, const fs::path& b) {
  std::error_code error;
  if (fs::exists(a, error) && fs::exists(b, error)) {
    const bool same = fs::equivalent(a, b, error);
    if (!error) return same;
  }
  return paths::absolute_normal(a) == paths::absolute_normal(b);
}

bool journal_names(const Journal& journal, const fs::path& path) {
  if (same_path(journal.top, path) || same_path(journal.ancestor, path)) return true;
  for (const fs::path& p : journal.merged) {
    if (same_path(p, path)) return true;
  }
  for (const JournalRelink& link : journal.relinks) {
    if (same_path(link.path, path)) return true;
  }
  return false;
}

}  // namespace vmdk::ops
