// check: the whole chain of a disk, file by file (vmdk-format.md 6.2, 6.5, 7.1). Links and
// descriptors here; sparse structures through sparse::scan_sparse, COWD and SESparse extents
// through cowd::scan_cowd and sesparse::scan_sesparse. Nothing is written.
#include "vmdk/check.hpp"

#include <algorithm>
#include <set>

#include "chain/shared_layers.hpp"
#include "disk/path_confine.hpp"
#include "disk/shared_files.hpp"
#include "extent/finding_codes.hpp"
#include "extent/kind_hooks.hpp"
#include "ops/check/descriptor_lines.hpp"
#include "ops/common/journal.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace {

namespace fs = std::filesystem;

Finding from_error(std::string_view code, const Error& error) {
  return make_finding(code, error.file(), error.offset(), error.message());
}

// The finding of a slot whose file could not be opened at all (missing, shorter than its line,
// refused), or nullopt when there is a file to look at.
std::optional<Finding> unopened_file(const ExtentSlot& slot, const std::string& disk,
                                     std::optional<std::uint64_t> line_at, const std::string& what) {
  switch (slot.problem.kind) {
    case ExtentProblemKind::missing:
      return make_finding("extent_missing", disk, line_at, what + ": extent file " + slot.path.string() + " is missing");
    case ExtentProblemKind::short_file: return make_finding("extent_short", disk, line_at, slot.problem.message);
    case ExtentProblemKind::refused: return make_finding("extent_path_refused", disk, line_at, slot.problem.message);
    default: return std::nullopt;
  }
}

// A slot that failed to open for damage, at the damaged structure (in the file the error named).
Finding damaged_extent(const ExtentSlot& slot) {
  return make_finding("extent_damaged", slot.problem.file.empty() ? slot.path.string() : slot.problem.file,
                      slot.problem.offset, slot.problem.message);
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
      if (const std::optional<Finding> unopened = unopened_file(slot, name, line_at, what)) {
        add(*unopened);
        continue;
      }
      if (extent::has_file_scan(slot.line.type)) {
        // A file named twice (extents_share_file, layers_share_file) is scanned once: its
        // findings would all be listed twice.
        if (first_scan(slot.path)) scan_file(slot);
      } else if (slot.problem.kind == ExtentProblemKind::unsupported) {
        add(make_finding("extent_unsupported", name, line_at, slot.problem.message + " (not checked; reads of it fail)"));
      } else if (slot.problem.kind == ExtentProblemKind::damaged) {
        add(damaged_extent(slot));
      } else if (slot.extent) {
        walk_extent(slot);
      }
    }
  }

  // Kinds with a scan of their own (sparse, stream, COWD, SESparse), whether they opened or not:
  // every damaged header field, directory entry and table entry, with its own code and offset. A
  // header this version refuses is scanned too: the scan reports it as the corruption it is for
  // every read (header_unsupported, journal_replay_needed), never only as a warning.
  void scan_file(const ExtentSlot& slot) {
    std::vector<Finding> findings = extent::scan_extent_file(slot.line.type, slot.path, slot.length);
    const bool corrupt = std::any_of(findings.begin(), findings.end(),
                                     [](const Finding& f) { return f.severity == Severity::corruption; });
    if (!corrupt && slot.problem) {
      // The open failed on something the scan does not see (the file changed in between): a read
      // fails, so it is a corruption all the same.
      add(damaged_extent(slot));
    }
    for (Finding& f : findings) add(std::move(f));
  }

  // Extents without a scanner of their own check every table as their map loads it: the first
  // damage is reported, with its offset.
  void walk_extent(const ExtentSlot& slot) {
    // An extent that reads as zero has no table to damage: walking it would cost a step per
    // 256 MiB of what its line claims (2^60 bytes: hours), not of what the input holds.
    if (slot.extent->capabilities().reads_as_zero) return;
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
      add(make_finding("extents_share_file", disk.path().string(), lines.extent_line(alias.second),
           disk::describe_alias(disk.extents(), alias)));
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
      add(make_finding("layers_share_file", upper.path().string(), at,
           chain::describe_shared(chain.layers(), shared) + " (write, snapshot, consolidate and repair refuse it)"));
    }
  }

  void check_link(const Layer& layer) {
    const Disk& disk = *layer.disk;
    const std::string name = disk.path().string();
    DescriptorLines lines(disk);
    const std::optional<std::string> hint = disk.descriptor().parent_file_name_hint();
    const std::optional<std::uint64_t> hint_at = lines.key("parentFileNameHint");
    if (hint && paths::is_absolute_name(paths::normalize_separators(*hint)) && layer.link != LinkState::base) {
      add(make_finding("parent_hint_absolute", name, hint_at,
           "parentFileNameHint \"" + *hint + "\" is an absolute path; it only works where that path exists"));
    }
    switch (layer.link) {
      case LinkState::ok:
      case LinkState::base: return;
      case LinkState::cid_mismatch:
        add(make_finding("cid_mismatch", name, lines.key("parentCID"),
             "parentCID " + format_cid(disk.descriptor().parent_cid()) + " does not match the CID of its parent " +
                 layer.parent_path.string() + " (the parent changed after this delta was made; repair with "
                 "--accept-cid-mismatch only if you know it is the right parent)"));
        return;
      case LinkState::missing_parent: {
        std::string tried;
        for (const std::string& path : layer.tried) tried += (tried.empty() ? "" : ", ") + path;
        add(make_finding("parent_missing", name, hint_at,
             "parent \"" + hint.value_or("") + "\" not found" + (tried.empty() ? "" : " (tried: " + tried + ")") +
                 "; repair looks for it by CID " + format_cid(disk.descriptor().parent_cid())));
        return;
      }
      case LinkState::capacity_mismatch:
        add(make_finding("capacity_mismatch", name, hint_at,
             "capacity " + hex(disk.capacity()) + " bytes differs from that of its parent " +
                 layer.parent_path.string()));
        return;
      case LinkState::cycle:
        add(make_finding("chain_cycle", name, hint_at,
             "parent " + layer.parent_path.string() + " is already a layer of this chain (a cycle)"));
        return;
      case LinkState::outside_folder:
        // Not missing: the parent is there, but reading it needs the user's consent.
        add(make_finding("parent_outside_folder", name, hint_at,
             "parent \"" + hint.value_or("") + "\" leads out of the delta's folder (to " +
                 (layer.tried.empty() ? std::string("?") : layer.tried.back()) +
                 "); refused: --allow-outside-paths accepts it (or move the parent into the folder)"));
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
          add(make_finding("consolidation_interrupted", file.string(), std::nullopt,
               "a consolidation of " + journal.top.string() + " into " + journal.ancestor.string() +
                   " was interrupted; repair finishes it"));
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
