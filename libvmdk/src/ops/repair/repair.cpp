// repair: check, plan every fix, save what will be overwritten, write in the crash-safe order,
// check again (vmdk-format.md 6.5). A fixed link can reveal the layers below it, so planning runs
// again until nothing is left to do. Each extent kind plans its own repairs (extent/kind_hooks).
// Grains no table references are kept unless their layer proves them garbage
// (extent/sparse/sparse_repair.cpp); the kept ones are recorded in the undo log, so later repairs
// keep them too, and --salvage writes them out.
#include "vmdk/repair.hpp"

#include <algorithm>

#include "extent/kind_hooks.hpp"
#include "ops/common/change_lock.hpp"
#include "ops/common/journal.hpp"
#include "ops/repair/repair_links.hpp"
#include "ops/repair/salvage_kept.hpp"
#include "vmdk/consolidate.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace fs = std::filesystem;

namespace {

// A link fixed in one round opens the next layer in the following one; chains are not deeper
// than this in practice and a plan that repeats itself must not loop for ever.
constexpr int kMaxRounds = 8;

ChainOptions repair_chain_options(const OpenOptions& open) {
  ChainOptions options;
  options.open = open;
  options.open.allow_missing_extents = true;
  options.open.allow_damaged_extents = true;
  options.report_broken = true;
  options.allow_cid_mismatch = true;
  options.for_writing = true;  // layers sharing a file, aliased extent lines: nothing is written
  return options;
}

bool same_file(const std::string& a, const std::string& b) {
  return fs::absolute(a).lexically_normal() == fs::absolute(b).lexically_normal();
}

// Grains earlier repairs of any disk in the chain's folders kept (their undo logs list them).
std::vector<KeptGrain> kept_before(const Chain& chain) {
  std::vector<fs::path> folders;
  for (const Layer& layer : chain.layers()) {
    fs::path folder = layer.disk->path().parent_path();
    if (folder.empty()) folder = ".";
    if (std::find(folders.begin(), folders.end(), folder) == folders.end()) folders.push_back(folder);
  }
  std::vector<KeptGrain> kept;
  for (const fs::path& folder : folders) {
    for (KeptGrain& k : ops::kept_in_logs(folder)) kept.push_back(std::move(k));
  }
  return kept;
}

void add_kept(std::vector<KeptGrain>& into, const std::vector<KeptGrain>& from) {
  for (const KeptGrain& k : from) {
    const bool known = std::any_of(into.begin(), into.end(), [&](const KeptGrain& o) {
      return o.offset == k.offset && o.length == k.length && same_file(o.file, k.file);
    });
    if (!known) into.push_back(k);
  }
}

// The CID of every layer as repair leaves it, for the undo log's record of the state.
std::vector<std::pair<fs::path, std::uint32_t>> layer_cids(const fs::path& path, const OpenOptions& open) {
  std::vector<std::pair<fs::path, std::uint32_t>> cids;
  try {
    const std::unique_ptr<Chain> chain = Chain::open(path, repair_chain_options(open));
    for (const Layer& layer : chain->layers()) {
      if (const auto cid = layer.disk->descriptor().cid()) cids.emplace_back(layer.disk->path(), *cid);
    }
  } catch (const Error&) {
    // a chain repair could not open: sizes and digests still guard every byte undo writes
  }
  return cids;
}

// A leak check still finds after the repair that lies in a kept grain is not a finding left.
bool is_kept_leak(const Finding& f, const std::vector<KeptGrain>& kept) {
  if (f.code != "leaked_grains" || !f.offset) return false;
  return std::any_of(kept.begin(), kept.end(), [&](const KeptGrain& k) {
    return *f.offset >= k.offset && *f.offset < k.offset + k.length && same_file(f.file, k.file);
  });
}

void plan_chain(const Chain& chain, const RepairOptions& options, ops::RepairPlan& plan,
                std::vector<Finding>& left) {
  for (std::size_t depth = 0; depth < chain.layers().size(); ++depth) {
    const Disk& disk = *chain.layers()[depth].disk;
    for (const ExtentSlot& slot : disk.extents()) {
      if (slot.path.empty() || slot.problem.kind == ExtentProblemKind::missing) continue;
      extent::plan_extent_repair(slot.line.type, {slot.path, disk.path().string(), slot.start, slot.length}, plan);
    }
    ops::plan_link_repair(chain, depth, options, plan, left);
  }
}

// Finishes an interrupted consolidation of the chain (its own journal makes that crash-safe) and
// returns the disk to go on with: path, or the consolidation's ANCESTOR when path was merged away.
fs::path finish_consolidations(const fs::path& path, const CheckReport& before, const RepairOptions& options,
                               RepairReport& report) {
  fs::path current = path;
  for (const Finding& f : before.findings) {
    if (f.code != "consolidation_interrupted") continue;
    const ops::Journal journal = ops::load_journal(f.file, options.open.allow_outside_paths);
    std::string message = "finish the interrupted consolidation of " + journal.top.string() + " into " +
                          journal.ancestor.string();
    if (!options.dry_run) {
      ConsolidateOptions consolidate_options;
      consolidate_options.open = options.open;
      consolidate(journal.ancestor, consolidate_options);
      message = "finished the interrupted consolidation of " + journal.top.string() + " into " +
                journal.ancestor.string() + " (the consolidation's own journal made it safe; it has no undo)";
      if (!fs::exists(current)) current = journal.ancestor;
    }
    report.actions.push_back({f.code, f.file, std::nullopt, message});
  }
  return current;
}

}  // namespace

RepairReport repair(const fs::path& path, const RepairOptions& options) {
  RepairReport report;
  report.path = path.string();
  report.dry_run = options.dry_run;
  io::LockSet locks = ops::lock_for_repair(path, options.open, options.dry_run);
  CheckOptions check_options;
  check_options.open = options.open;
  report.before = check(path, check_options);

  const fs::path current = finish_consolidations(path, report.before, options, report);
  std::vector<Finding> left;
  std::unique_ptr<ops::UndoLog> log;
  std::vector<std::string> previous;
  for (int round = 0; round < kMaxRounds; ++round) {
    left.clear();
    std::unique_ptr<Chain> chain;
    try {
      chain = Chain::open(current, repair_chain_options(options.open));
    } catch (const Error&) {
      break;  // a leaf whose descriptor cannot be read: nothing here can fix it (check says why)
    }
    ops::RepairPlan plan;
    plan.known_kept = kept_before(*chain);
    add_kept(plan.known_kept, report.kept);
    plan_chain(*chain, options, plan, left);
    add_kept(report.kept, plan.kept);
    std::vector<std::string> planned;
    for (const RepairAction& a : plan.actions) planned.push_back(a.file + a.message);
    if (planned == previous) break;  // the last round's writes did not take: do not repeat them
    previous = planned;
    report.actions.insert(report.actions.end(), plan.actions.begin(), plan.actions.end());
    report.lost.insert(report.lost.end(), plan.lost.begin(), plan.lost.end());
    if (plan.writes_nothing() || options.dry_run) break;
    if (!log) log = std::make_unique<ops::UndoLog>(current);
    ops::save_for_undo(plan, *log);
    log->set_kept(report.kept);
    log->commit();  // before the first write: every byte about to change is saved, the kept listed
    ops::apply_plan(plan);
  }
  if (log) {
    log->record_state(layer_cids(current, options.open));
    log->commit();
    report.undo_log = log->path().string();
    report.undo_bytes = log->saved_bytes();
  }
  if (options.salvage) {
    report.salvage_dir = options.salvage->string();
    ops::salvage_kept(report.kept, *options.salvage, options.dry_run, options.salvage_durability);
  }
  if (options.dry_run) {
    for (const Finding& f : report.before.findings) {
      if (!f.repairable) report.unrepaired.push_back(f);
    }
    report.unrepaired.insert(report.unrepaired.end(), left.begin(), left.end());
    return report;
  }
  report.after = check(current, check_options);
  for (const Finding& f : report.after->findings) {
    if (!is_kept_leak(f, report.kept)) report.unrepaired.push_back(f);
  }
  return report;
}

int RepairReport::exit_status() const {
  const bool left = std::any_of(unrepaired.begin(), unrepaired.end(),
                                [](const Finding& f) { return f.severity != Severity::warning; });
  return left ? 2 : lost.empty() ? 0 : 4;
}

}  // namespace vmdk
