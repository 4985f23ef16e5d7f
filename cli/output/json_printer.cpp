// JSON printer: one document per report on stdout, snake_case keys from one vocabulary, sizes and
// offsets in bytes, CIDs as 8-digit lowercase hex strings, absent values as null; and the --json
// error object (docs/json-output.md). nlohmann_json stays inside cli/.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "output/format.hpp"
#include "output/printer.hpp"

namespace vmdkit_cli {

namespace {

using Json = nlohmann::ordered_json;

Json optional_cid(const std::optional<std::uint32_t>& cid) { return cid ? Json(cid_hex(*cid)) : Json(nullptr); }
Json optional_text(const std::optional<std::string>& text) { return text ? Json(*text) : Json(nullptr); }
Json optional_number(const std::optional<std::uint64_t>& value) { return value ? Json(*value) : Json(nullptr); }
// The vocabulary has no empty strings for "none": an absent name, type or file is null.
Json text_or_null(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

Json pairs(const std::vector<std::pair<std::string, std::string>>& entries) {
  Json out = Json::object();
  for (const auto& [key, value] : entries) out[key] = value;
  return out;
}

Json finding_json(const vmdk::Finding& f) {
  return Json{{"code", f.code},
              {"severity", std::string(to_string(f.severity))},
              {"file", text_or_null(f.file)},
              {"offset", optional_number(f.offset)},
              {"message", f.message},
              {"repairable", f.repairable}};
}

Json check_json(const vmdk::CheckReport& r) {
  Json j;
  j["path"] = r.path;
  j["files"] = r.files;
  j["findings"] = Json::array();
  for (const auto& f : r.findings) j["findings"].push_back(finding_json(f));
  j["corruptions"] = r.corruptions;
  j["leaks"] = r.leaks;
  j["warning_count"] = r.warnings;
  return j;
}

Json extent_json(const vmdk::InfoExtent& e) {
  Json out;
  out["access"] = e.access;
  out["type"] = e.type;
  out["size"] = e.size;
  out["start"] = e.start;
  out["file"] = text_or_null(e.file);
  out["path"] = text_or_null(e.path);
  out["offset"] = optional_number(e.offset);
  out["status"] = e.status;
  // A problem that only repeats the status adds nothing: null, like a problem that is absent.
  out["problem"] = e.problem == e.status ? Json(nullptr) : text_or_null(e.problem);
  out["format"] = nullptr;
  out["grain_size"] = nullptr;
  out["allocated"] = nullptr;
  out["header"] = nullptr;
  if (e.details) {
    out["format"] = e.details->format;
    out["grain_size"] = e.details->grain_size;
    out["allocated"] = e.details->allocated_bytes;
    Json header = Json::object();
    for (const auto& [name, value] : e.details->header) header[name] = value;
    out["header"] = header;
  }
  return out;
}

class JsonPrinter final : public Printer {
 public:
  explicit JsonPrinter(std::ostream& out) : out_(out) {}

  void print(const vmdk::InfoReport& r) override {
    Json j;
    j["path"] = r.path;
    j["create_type"] = text_or_null(r.create_type);
    j["capacity"] = r.capacity;
    j["cid"] = optional_cid(r.cid);
    j["parent_cid"] = cid_hex(r.parent_cid);
    j["parent_hint"] = optional_text(r.parent_hint);
    j["descriptor_version"] = r.descriptor_version;
    j["embedded_descriptor"] = r.embedded_descriptor;
    j["complete"] = r.complete;
    j["allocated"] = r.allocated;
    j["extents"] = Json::array();
    for (const auto& e : r.extents) j["extents"].push_back(extent_json(e));
    j["header"] = pairs(r.header);
    j["ddb"] = pairs(r.ddb);
    emit(j);
  }

  void print(const vmdk::ChainReport& r) override {
    Json j;
    j["ok"] = r.ok;
    j["layers"] = Json::array();
    for (const auto& l : r.layers) {
      Json layer;
      layer["path"] = l.path;
      layer["create_type"] = text_or_null(l.create_type);
      layer["capacity"] = l.capacity;
      layer["cid"] = optional_cid(l.cid);
      layer["parent_cid"] = cid_hex(l.parent_cid);
      layer["allocated"] = l.allocated;
      layer["link"] = l.link;
      j["layers"].push_back(layer);
    }
    // The layer objects keep exactly the documented keys; what a broken link is about goes here.
    Json warnings = r.warnings;
    for (const auto& l : r.layers) {
      if (!l.problem.empty() && std::find(r.warnings.begin(), r.warnings.end(), l.problem) == r.warnings.end()) {
        warnings.push_back(l.problem);
      }
    }
    j["warnings"] = warnings;
    emit(j);
  }

  void print(const vmdk::MapReport& r) override {
    Json j;
    j["capacity"] = r.capacity;
    j["offset"] = r.offset;
    j["length"] = r.length;
    j["layers"] = r.layers;
    j["ranges"] = Json::array();
    for (const auto& run : r.ranges) {
      Json range;
      range["start"] = run.offset;
      range["length"] = run.length;
      range["depth"] = run.depth;
      range["present"] = run.present;
      range["zero"] = run.zero;
      range["data"] = run.data;
      range["file"] = run.data ? text_or_null(run.file) : Json(nullptr);
      const bool known = run.data && run.host_offset != vmdk::kNoHostOffset;
      range["offset"] = known ? Json(run.host_offset) : Json(nullptr);
      range["compressed"] = run.compressed;
      j["ranges"].push_back(range);
    }
    j["strips"] = r.strips;
    emit(j);
  }

  void print(const vmdk::ConvertReport& r) override {
    Json j;
    j["path"] = r.output;
    j["create_type"] = optional_text(r.create_type);
    j["capacity"] = r.capacity;
    j["data_bytes"] = r.data_bytes;
    j["skipped_zero_bytes"] = r.skipped_zero_bytes;
    j["output_bytes"] = r.output_bytes;
    j["files"] = r.files;
    emit(j);
  }

  void print(const vmdk::CreateReport& r) override {
    Json j;
    j["path"] = r.path;
    j["create_type"] = r.type;
    j["capacity"] = r.capacity;
    j["cid"] = cid_hex(r.cid);
    j["files"] = r.files;
    emit(j);
  }

  void print(const vmdk::SnapshotReport& r) override {
    Json j;
    j["path"] = r.path;
    j["parent"] = r.parent;
    j["cid"] = cid_hex(r.cid);
    j["parent_cid"] = cid_hex(r.parent_cid);
    j["parent_hint"] = r.parent_hint;
    j["create_type"] = r.type;
    j["files"] = r.files;
    emit(j);
  }

  void print(const vmdk::WriteReport& r) override {
    Json j;
    j["path"] = r.path;
    j["offset"] = r.offset;
    j["length"] = r.length;
    j["grains_written"] = r.grains_written;
    j["zeroed_grains"] = r.zeroed_grains;
    j["copied_bytes"] = r.copied_bytes;
    j["old_cid"] = cid_hex(r.old_cid);
    j["new_cid"] = cid_hex(r.new_cid);
    emit(j);
  }

  void print(const vmdk::FixtureReport& r) override {
    Json j;
    j["spec"] = r.spec;
    j["output_dir"] = r.output;
    // "files" is a list of names in every report; the sizes go beside it, by name.
    j["files"] = Json::array();
    j["sizes"] = Json::object();
    for (const auto& f : r.files) {
      j["files"].push_back(f.name);
      j["sizes"][f.name] = f.size;
    }
    emit(j);
  }

  void print(const vmdk::CompareReport& r) override {
    Json j;
    j["identical"] = r.identical;
    auto side = [](const vmdk::CompareSide& s) {
      Json out;
      out["path"] = s.path;
      out["kind"] = s.kind;
      out["capacity"] = s.size;
      return out;
    };
    j["a"] = side(r.a);
    j["b"] = side(r.b);
    j["first_difference"] = r.first_difference ? Json(*r.first_difference) : Json(nullptr);
    j["message"] = r.message;
    emit(j);
  }

  void print(const vmdk::ConsolidateReport& r) override {
    const auto& p = r.plan;
    Json plan;
    plan["top"] = p.top;
    plan["ancestor"] = p.ancestor;
    plan["merged"] = p.merged;
    plan["removed"] = p.removed;
    plan["kept"] = Json::array();
    for (const auto& k : p.kept) plan["kept"].push_back(Json{{"path", k.path}, {"named_by", k.named_by}});
    plan["relinks"] = Json::array();
    for (const auto& l : p.relinks) {
      plan["relinks"].push_back(Json{{"path", l.path},
                                     {"old_hint", l.old_hint},
                                     {"new_hint", l.new_hint},
                                     {"old_parent_cid", cid_hex(l.old_parent_cid)},
                                     {"new_parent_cid", cid_hex(l.new_parent_cid)}});
    }
    plan["grains"] = p.grains;
    plan["bytes"] = p.bytes;
    plan["zero_grains"] = p.zero_grains;
    plan["extra_space"] = p.extra_space;
    plan["free_space"] = p.free_space;
    plan["ancestor_cid"] = cid_hex(p.ancestor_cid);
    plan["new_ancestor_cid"] = cid_hex(p.new_ancestor_cid);
    plan["resumed"] = p.resumed;
    plan["journal"] = p.journal;
    Json j;
    j["plan"] = plan;
    j["done"] = r.done;
    j["result"] = r.result;
    emit(j);
  }

  void print(const vmdk::CheckReport& r) override { emit(check_json(r)); }

  void print(const vmdk::RepairReport& r) override {
    Json j;
    j["path"] = r.path;
    j["dry_run"] = r.dry_run;
    j["actions"] = Json::array();
    for (const auto& a : r.actions) {
      j["actions"].push_back(Json{{"code", a.code},
                                  {"file", text_or_null(a.file)},
                                  {"offset", optional_number(a.offset)},
                                  {"message", a.message}});
    }
    j["lost"] = Json::array();
    for (const auto& l : r.lost) {
      j["lost"].push_back(Json{{"disk", l.disk}, {"offset", l.offset}, {"length", l.length}, {"reason", l.reason}});
    }
    j["kept"] = Json::array();
    for (const auto& k : r.kept) {
      j["kept"].push_back(Json{{"file", k.file},
                               {"offset", k.offset},
                               {"length", k.length},
                               {"disk", k.disk},
                               {"virtual_offset", optional_number(k.virtual_offset)},
                               {"virtual_length", k.virtual_offset ? Json(k.virtual_length) : Json(nullptr)},
                               {"reason", k.reason},
                               {"salvaged", k.salvaged}});
    }
    j["salvage_dir"] = r.salvage_dir.empty() ? Json(nullptr) : Json(r.salvage_dir);
    j["exit_status"] = r.exit_status();
    j["unrepaired"] = Json::array();
    for (const auto& f : r.unrepaired) j["unrepaired"].push_back(finding_json(f));
    j["undo_log"] = r.undo_log.empty() ? Json(nullptr) : Json(r.undo_log);
    j["undo_bytes"] = r.undo_bytes;
    j["before"] = check_json(r.before);
    j["after"] = r.after ? check_json(*r.after) : Json(nullptr);
    emit(j);
  }

  void print(const vmdk::UndoReport& r) override {
    emit(Json{{"undo_log", r.log},
              {"files", r.files},
              {"bytes", r.bytes},
              {"dry_run", r.dry_run},
              {"state_verified", r.state_verified}});
  }

  void print(const vmdk::RebuildReport& r) override {
    Json extents = Json::array();
    for (const auto& e : r.extents) {
      extents.push_back(Json{{"path", e.path}, {"file", e.file}, {"type", e.type}, {"size", e.size}});
    }
    emit(Json{{"path", r.path},
              {"written", r.written},
              {"replaced", r.replaced},
              {"create_type", r.create_type},
              {"capacity", r.capacity},
              {"extents", extents},
              {"cid", cid_hex(r.cid)},
              {"cid_source", r.cid_source},
              {"cid_reason", r.cid_reason},
              {"parent", r.parent.empty() ? Json(nullptr) : Json(r.parent)},
              {"parent_cid", r.parent.empty() ? Json(nullptr) : Json(cid_hex(r.parent_cid))},
              {"parent_hint", r.parent.empty() ? Json(nullptr) : Json(r.parent_hint)},
              {"parent_source", r.parent.empty() ? Json(nullptr) : Json(r.parent_source)},
              {"parent_reason", r.parent.empty() ? Json(nullptr) : Json(r.parent_reason)},
              {"text", r.text},
              {"warnings", r.warnings}});
  }

 private:
  void emit(const Json& j) {
    // Invalid UTF-8 in a file name must not throw: replace it.
    out_ << j.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
  }
  std::ostream& out_;
};

}  // namespace

std::unique_ptr<Printer> make_json_printer(std::ostream& out) { return std::make_unique<JsonPrinter>(out); }

void print_json_error(std::ostream& out, const ErrorReport& error) {
  const Json j{{"error", Json{{"message", error.message},
                              {"file", optional_text(error.file)},
                              {"offset", optional_number(error.offset)}}}};
  out << j.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
  out.flush();
}

}  // namespace vmdkit_cli
