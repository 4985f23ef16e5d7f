// ops::chain_report: the layers of a snapshot chain and the state of each parent link (vmdkit chain).
// The chain is opened with report_broken, so a broken link is a value in the report, not an error.
#include <cctype>
#include <cstdio>

#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

namespace {


std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// One sentence for a broken link; the parent layer is used when the chain kept it.
std::string describe_link(const ChainLayerReport& layer, const ChainLayerReport* parent) {
  const std::string parent_name = !layer.parent_path.empty() ? layer.parent_path
                                  : parent                   ? parent->path
                                                             : layer.parent_hint.value_or("?");
  if (layer.link == "missing_parent") {
    return layer.path + ": parent \"" + layer.parent_hint.value_or("") + "\" not found (tried: " +
           (layer.tried.empty() ? std::string("nothing") : join(layer.tried)) + ")";
  }
  if (layer.link == "outside_folder") {
    return layer.path + ": parent \"" + layer.parent_hint.value_or("") + "\" is outside the folder (" +
           (layer.tried.empty() ? std::string("?") : layer.tried.back()) +
           "); refused: --allow-outside-paths accepts it";
  }
  if (layer.link == "cid_mismatch") {
    std::string text = layer.path + ": parentCID " + format_cid(layer.parent_cid) + " does not match the CID of " +
                       parent_name;
    if (parent) text += " (" + format_cid(parent->cid) + ")";
    return text;
  }
  if (layer.link == "capacity_mismatch") {
    std::string text = layer.path + ": capacity " + std::to_string(layer.capacity) + " differs from parent " +
                       parent_name;
    if (parent) text += " (" + std::to_string(parent->capacity) + ")";
    return text;
  }
  if (layer.link == "cycle") return layer.path + ": parent " + parent_name + " is already in the chain (cycle)";
  if (layer.link == "unreadable_parent") return layer.path + ": parent " + parent_name + " cannot be opened";
  return "";
}

// The chain's own warning about this layer's broken link, when it recorded one: it knows more
// (both CIDs even when the parent layer was not kept).
std::optional<std::string> chain_warning(const ChainLayerReport& layer, const std::vector<std::string>& warnings) {
  std::string keyword = layer.link == "cid_mismatch"        ? "cid"
                        : layer.link == "missing_parent"    ? "not found"
                        : layer.link == "capacity_mismatch" ? "capacity"
                        : layer.link == "unreadable_parent" ? "cannot be opened"
                        : layer.link == "outside_folder"    ? "--allow-outside-paths"
                                                            : "cycle";
  for (const auto& w : warnings) {
    std::string lower = w;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (w.compare(0, layer.path.size() + 2, layer.path + ": ") == 0 && lower.find(keyword) != std::string::npos) {
      return w;
    }
  }
  return std::nullopt;
}

}  // namespace

ChainReport chain_report(const std::filesystem::path& leaf, const ChainReportOptions& options) {
  ChainOptions chain_options;
  chain_options.open = options.open;
  chain_options.report_broken = true;
  auto chain = Chain::open(leaf, chain_options);

  ChainReport report;
  report.ok = chain->ok();
  report.warnings = chain->warnings();
  for (const auto& layer : chain->layers()) {
    ChainLayerReport out;
    const Disk& disk = *layer.disk;
    const Descriptor& d = disk.descriptor();
    out.path = disk.path().string();
    out.create_type = d.create_type();
    out.capacity = disk.capacity();
    out.cid = d.cid();
    out.parent_cid = d.parent_cid();
    out.allocated = disk.allocated_bytes();
    out.link = std::string(to_string(layer.link));
    out.parent_hint = d.parent_file_name_hint();
    out.parent_path = layer.parent_path.string();
    out.tried = layer.tried;
    report.layers.push_back(std::move(out));
  }
  for (std::size_t i = 0; i < report.layers.size(); ++i) {
    const ChainLayerReport* parent = i + 1 < report.layers.size() ? &report.layers[i + 1] : nullptr;
    auto& layer = report.layers[i];
    if (layer.link == "ok" || layer.link == "base") continue;
    layer.problem = chain_warning(layer, report.warnings).value_or(describe_link(layer, parent));
  }
  return report;
}

}  // namespace vmdk
