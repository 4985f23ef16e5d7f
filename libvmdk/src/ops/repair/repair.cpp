// repair: check, plan every fix, save what will be overwritten, write in the crash-safe order,
// check again (vmdk-format.md 6.5). A fixed link can reveal the layers below it, so planning runs
// again until nothing is left to do.
#include "vmdk/repair.hpp"

#include "extent/cowd/cowd_scan.hpp"
#include "extent/sesparse/sesparse_scan.hpp"
#include "extent/sparse/sparse_scan.hpp"
#include "ops/change_lock.hpp"
#include "ops/journal.hpp"
#include "ops/repair/repair_esxi.hpp"
#include "ops/repair/repair_links.hpp"
#include "ops/repair/repair_sparse.hpp"
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

void plan_chain(const Chain& chain, const RepairOptions& options, ops::RepairPlan& plan,
                std::vector<Finding>& left) {
  for (std::size_t depth = 0; depth < chain.layers().size(); ++depth) {
    const Disk& disk = *chain.layers()[depth].disk;
    for (const ExtentSlot& slot : disk.extents()) {
      if (slot.path.empty() || slot.problem == "missing") continue;
      if (slot.line.type == ExtentType::vmfssparse || slot.line.type == ExtentType::sesparse) {
        const bool cowd = slot.line.type == ExtentType::vmfssparse;
        std::shared_ptr<File> file = File::open(slot.path);
        const std::vector<Finding> findings =
            cowd ? cowd::scan_cowd(file, slot.length) : sesparse::scan_sesparse(file, slot.length);
        ops::plan_esxi_repair(slot.path, *file, cowd ? "cowd" : "sesparse", findings, disk.path().string(),
                              slot.start, slot.length, plan);
        continue;
      }
      if (slot.line.type != ExtentType::sparse) continue;
      std::shared_ptr<File> file = File::open(slot.path);
      sparse::SparseScan scan = sparse::scan_sparse(*file, slot.length);
      if (scan.footer_damaged) {
        ops::plan_stream_salvage(slot.path, *file, disk.path().string(), slot.start, slot.length, plan);
      } else {
        ops::plan_sparse_repair(slot.path, *file, scan, disk.path().string(), slot.start, plan);
      }
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
    plan_chain(*chain, options, plan, left);
    std::vector<std::string> planned;
    for (const RepairAction& a : plan.actions) planned.push_back(a.file + a.message);
    if (planned == previous) break;  // the last round's writes did not take: do not repeat them
    previous = planned;
    report.actions.insert(report.actions.end(), plan.actions.begin(), plan.actions.end());
    report.lost.insert(report.lost.end(), plan.lost.begin(), plan.lost.end());
    if (plan.writes_nothing() || options.dry_run) break;
    if (!log) log = std::make_unique<ops::UndoLog>(current);
    ops::save_for_undo(plan, *log);
    log->commit();  // before the first write: every byte about to change is saved
    ops::apply_plan(plan);
  }
  if (log) {
    report.undo_log = log->path().string();
    report.undo_bytes = log->saved_bytes();
  }
  if (options.dry_run) {
    for (const Finding& f : report.before.findings) {
      if (!f.repairable) report.unrepaired.push_back(f);
    }
    report.unrepaired.insert(report.unrepaired.end(), left.begin(), left.end());
    return report;
  }
  report.after = check(current, check_options);
  report.unrepaired = report.after->findings;
  return report;
}

}  // namespace vmdk
