// check: the whole chain of a disk, file by file (vmdk-format.md 6.2, 6.5, 7.1). Links and
// descriptors here; sparse structures through sparse::scan_sparse, COWD and SESparse extents
// through cowd::scan_cowd and sesparse::scan_sesparse. Nothing is written.
#include "vmdk/check.hpp"

#include <algorithm>
#include <set>

#include "chain/shared_layers.hpp"
#include "disk/path_confine.hpp"
#include "disk/shared_files.hpp"
#include "extent/cowd/cowd_scan.hpp"
#include "extent/sesparse/sesparse_scan.hpp"
#include "ops/repair/repair_esxi.hpp"
#include "extent/sparse/sparse_scan.hpp"
#include "ops/check/descriptor_lines.hpp"
#include "ops/common/journal.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::corruption: return "corruption";
    case Severity::leak: return "leak";
    case Severity::warning: return "warning";
  }
  return "unknown";
}

namespace {

namespace fs = std::filesystem;

Finding from_error(std::string code, const Error& error, bool repairable = false) {
  return {std::move(code), Severity::corruption, error.file(), error.offset(), error.message(), repairable};
}

class Checker {
 public:
  Checker(const fs::path& path, const CheckOptions& options) : options_(options) { report_.path = path.string(); }

  CheckReport run() {
    ChainOptions chain_options;
    chain_options.open = options_.open;
    chain_options.open.allow_missing_extents = true;
    chain_options.open.allow_damaged_extents = true;
    chain_options.report_broken = true;
    chain_options.allow_cid_mismatch = true;
    std::unique_ptr<Chain> chain;
    try {
      chain = Chain::open(report_.path, chain_options);
    } catch (const FormatError& error) {
      add_file(report_.path);
      add(from_error("descriptor_invalid", error));
      return finish();
    } catch (const UnsupportedError& error) {
      add_file(report_.path);
      add(from_error("unsupported", error));
      return finish();
    }
    for (std::size_t depth = 0; depth < chain->layers().size(); ++depth) {
      const Layer& layer = chain->layers()[depth];
      check_layer(*layer.disk);
      check_aliases(*layer.disk);
      check_link(layer);
    }
    check_shared_files(*chain);
    check_journals(*chain);
    return finish();
  }

 private:
  void add(Finding finding) { report_.findings.push_back(std::move(finding)); }
  void add_file(const std::string& file) {
    if (std::find(report_.files.begin(), report_.files.end(), file) == report_.files.end()) {
      report_.files.push_back(file);
    }
  }

  // False when the file at path was scanned already (by device and inode); an empty path or one
  // that cannot be stat'ed is always scanned.
  bool first_scan(const fs::path& path) {
    const std::optional<paths::FileId> id = path.empty() ? std::nullopt : paths::file_id(path);
    return !id || scanned_.insert(*id).second;
  }

  CheckReport finish() {
    for (const Finding& f : report_.findings) {
      switch (f.severity) {
        case Severity::corruption: ++report_.corruptions; break;
        case Severity::leak: ++report_.leaks; break;
        case Severity::warning: ++report_.warnings; break;
      }
    }
    return std::move(report_);
  }

  void check_layer(const Disk& disk) {
    const std::string name = disk.path().string();
    add_file(name);
    DescriptorLines lines(disk);
    for (std::size_t index = 0; index < disk.extents().size(); ++index) {
      const ExtentSlot& slot = disk.extents()[index];
      const std::optional<std::uint64_t> line_at = lines.extent_line(index);
      const std::string what = "extent " + std::to_string(index + 1) + " (\"" + slot.line.file + "\")";
      if (!slot.path.empty() && slot.path != disk.path()) add_file(slot.path.string());
      if (slot.problem == "missing") {
        add({"extent_missing", Severity::corruption, name, line_at,
             what + ": extent file " + slot.path.string() + " is missing", false});
        continue;
      }
      if (slot.problem.rfind("short:", 0) == 0) {
        add({"extent_short", Severity::corruption, name, line_at, slot.problem.substr(7), false});
        continue;
      }
      if (slot.problem.rfind("refused:", 0) == 0) {
        add({"extent_path_refused", Severity::corruption, name, line_at, slot.problem.substr(9), false});
        continue;
      }
      // A sparse, COWD or SESparse file named twice (extents_share_file, layers_share_file) is
      // scanned once: its findings would all be listed twice.
      const bool whole_file = slot.line.type == ExtentType::sparse || slot.line.type == ExtentType::vmfssparse ||
                              slot.line.type == ExtentType::sesparse;
      if (whole_file && !first_scan(slot.path)) continue;
      if (slot.line.type == ExtentType::vmfssparse || slot.line.type == ExtentType::sesparse) {
        check_esxi_extent(slot);
        continue;
      }
      // A sparse header this version refuses is scanned too: the scan reports it as the
      // corruption it is for every read (header_unsupported), never only as a warning.
      if (slot.problem.rfind("unsupported:", 0) == 0 && slot.line.type != ExtentType::sparse) {
        add({"extent_unsupported", Severity::corruption, name, line_at,
             slot.problem.substr(13) + " (not checked; reads of it fail)", false});
        continue;
      }
      if (slot.line.type == ExtentType::sparse) {
        std::shared_ptr<File> file = File::open(slot.path);
        sparse::SparseScan scan = sparse::scan_sparse(*file, slot.length);
        const bool corrupt = std::any_of(scan.findings.begin(), scan.findings.end(),
                                         [](const Finding& f) { return f.severity == Severity::corruption; });
        if (!corrupt && !slot.problem.empty()) {
          // The open failed on something the scan does not see (the file changed in between): a
          // read fails, so it is a corruption all the same.
          add({"extent_damaged", Severity::corruption, slot.path.string(), slot.problem_offset,
               slot.problem.substr(slot.problem.find(':') + 2), false});
        }
        for (Finding& f : scan.findings) add(std::move(f));
      } else if (slot.problem.rfind("damaged:", 0) == 0) {
        add({"extent_damaged", Severity::corruption, slot.problem_file.empty() ? slot.path.string() : slot.problem_file,
             slot.problem_offset, slot.problem.substr(9), false});
      } else if (slot.extent) {
        walk_extent(slot);
      }
    }
  }

  // COWD and SESparse extents, whether they opened or not: every damaged header field, directory
  // entry and table entry, with its own code and offset. A version or a dirty journal this reader
  // refuses is corruption here too: the disk cannot be read.
  void check_esxi_extent(const ExtentSlot& slot) {
    std::shared_ptr<File> file = File::open(slot.path);
    std::vector<Finding> findings = slot.line.type == ExtentType::vmfssparse
                                        ? cowd::scan_cowd(file, slot.length)
                                        : sesparse::scan_sesparse(file, slot.length);
    if (findings.empty() && !slot.problem.empty()) {
      // The scan repeats the checks the open failed on, so this only happens when the file changed
      // in between: report what the open said.
      findings.push_back({"extent_damaged", Severity::corruption,
                          slot.problem_file.empty() ? slot.path.string() : slot.problem_file,
                          slot.problem_offset, slot.problem.substr(slot.problem.find(':') + 2), false});
    }
    for (Finding& f : findings) {
      f.repairable = f.offset.has_value() && ops::esxi_finding_repairable(f.code);  // what repair clears
      add(std::move(f));
    }
  }

  // Extents without a scanner of their own check every table as their map loads it: the first
  // damage is reported, with its offset.
  void walk_extent(const ExtentSlot& slot) {
    constexpr std::uint64_t kStep = 256u << 20;
    std::vector<Run> runs;
    try {
      for (std::uint64_t at = 0; at < slot.length; at += kStep) {
        runs.clear();
        slot.extent->map(at, std::min(kStep, slot.length - at), runs);
      }
    } catch (const Error& error) {
      add(from_error("extent_damaged", error));
    }
  }

  // Extent lines of one disk over the same bytes of one file: reading commands refuse the disk.
  void check_aliases(const Disk& disk) {
    const std::vector<disk::ExtentAlias> aliases =
        disk::find_extent_aliases(disk.extents(), disk.path());
    if (aliases.empty()) return;
    DescriptorLines lines(disk);
    for (const disk::ExtentAlias& alias : aliases) {
      add({"extents_share_file", Severity::corruption, disk.path().string(), lines.extent_line(alias.second),
           disk::describe_alias(disk.extents(), alias), false});
    }
  }

  // A file two layers use: the upper layer's line naming it is the damaged structure.
  void check_shared_files(const Chain& chain) {
    for (const SharedLayerFile& shared : chain.shared_files()) {
      const Disk& upper = *chain.layers()[shared.upper].disk;
      std::optional<std::uint64_t> at;
      for (std::size_t i = 0; i < upper.extents().size() && !at; ++i) {
        if (upper.extents()[i].path.string() == shared.file) at = DescriptorLines(upper).extent_line(i);
      }
      add({"layers_share_file", Severity::corruption, upper.path().string(), at,
           chain::describe_shared(chain.layers(), shared) + " (write, snapshot, consolidate and repair refuse it)",
           false});
    }
  }

  void check_link(const Layer& layer) {
    const Disk& disk = *layer.disk;
    const std::string name = disk.path().string();
    DescriptorLines lines(disk);
    const std::optional<std::string> hint = disk.descriptor().parent_file_name_hint();
    const std::optional<std::uint64_t> hint_at = lines.key("parentFileNameHint");
    if (hint && paths::is_absolute_name(paths::normalize_separators(*hint)) && layer.link != LinkState::base) {
      add({"parent_hint_absolute", Severity::warning, name, hint_at,
           "parentFileNameHint \"" + *hint + "\" is an absolute path; it only works where that path exists",
           true});
    }
    switch (layer.link) {
      case LinkState::ok:
      case LinkState::base: return;
      case LinkState::cid_mismatch:
        add({"cid_mismatch", Severity::corruption, name, lines.key("parentCID"),
             "parentCID " + format_cid(disk.descriptor().parent_cid()) + " does not match the CID of its parent " +
                 layer.parent_path.string() + " (the parent changed after this delta was made; repair with "
                 "--accept-cid-mismatch only if you know it is the right parent)",
             true});
        return;
      case LinkState::missing_parent: {
        std::string tried;
        for (const std::string& path : layer.tried) tried += (tried.empty() ? "" : ", ") + path;
        add({"parent_missing", Severity::corruption, name, hint_at,
             "parent \"" + hint.value_or("") + "\" not found" + (tried.empty() ? "" : " (tried: " + tried + ")") +
                 "; repair looks for it by CID " + format_cid(disk.descriptor().parent_cid()),
             true});
        return;
      }
      case LinkState::capacity_mismatch:
        add({"capacity_mismatch", Severity::corruption, name, hint_at,
             "capacity " + hex(disk.capacity()) + " bytes differs from that of its parent " +
                 layer.parent_path.string(),
             false});
        return;
      case LinkState::cycle:
        add({"chain_cycle", Severity::corruption, name, hint_at,
             "parent " + layer.parent_path.string() + " is already a layer of this chain (a cycle)", false});
        return;
      case LinkState::outside_folder:
        // Not missing: the parent is there, but reading it needs the user's consent.
        add({"parent_outside_folder", Severity::corruption, name, hint_at,
             "parent \"" + hint.value_or("") + "\" leads out of the delta's folder (to " +
                 (layer.tried.empty() ? std::string("?") : layer.tried.back()) +
                 "); refused: --allow-outside-paths accepts it (or move the parent into the folder)",
             false});
        return;
      case LinkState::unreadable_parent:
        add_file(layer.parent_path.string());
        if (layer.parent_error) add(from_error("descriptor_invalid", *layer.parent_error));
        return;
    }
  }

  // A consolidation journal beside any layer that names one of the chain's files.
  void check_journals(const Chain& chain) {
    std::set<fs::path> folders;
    for (const Layer& layer : chain.layers()) folders.insert(paths::folder_of(layer.disk->path()));
    for (const fs::path& folder : folders) {
      for (const fs::path& file : ops::find_journals(folder)) {
        try {
          const ops::Journal journal = ops::load_journal(file, options_.open.allow_outside_paths);
          bool ours = false;
          for (const Layer& layer : chain.layers()) ours = ours || ops::journal_names(journal, layer.disk->path());
          if (!ours) continue;
          add({"consolidation_interrupted", Severity::corruption, file.string(), std::nullopt,
               "a consolidation of " + journal.top.string() + " into " + journal.ancestor.string() +
                   " was interrupted; repair finishes it",
               true});
        } catch (const Error& error) {
          add(from_error("consolidation_journal_invalid", error));
        }
      }
    }
  }

  const CheckOptions& options_;
  CheckReport report_;
  std::set<paths::FileId> scanned_;
};

}  // namespace

CheckReport check(const std::filesystem::path& path, const CheckOptions& options) {
  return Checker(path, options).run();
}

}  // namespace vmdk
