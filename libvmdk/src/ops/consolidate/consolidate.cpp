// vmdkit consolidate (vmdk-format.md 6.4): plan, journal, copy, switch; or finish an interrupted
// run found in a journal beside the disk. Until the switch TOP's chain reads the original content,
// from ANCESTOR's CID change on ANCESTOR does.
#include "vmdk/consolidate.hpp"

#include <system_error>

#include "ops/common/change_lock.hpp"
#include "ops/consolidate/consolidate_copy.hpp"
#include "ops/consolidate/consolidate_finish.hpp"
#include "ops/consolidate/consolidate_plan.hpp"
#include "ops/common/journal.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace fs = std::filesystem;

namespace {

ops::Journal journal_of(const ops::MergePlan& merge) {
  ops::Journal journal;
  journal.file = merge.plan.journal;
  journal.top = merge.merged.front();
  journal.ancestor = merge.plan.ancestor;
  journal.merged = merge.merged;
  journal.removed = merge.removed;
  for (std::size_t i = 0; i < merge.relinks.size(); ++i) {
    const Relink& r = merge.plan.relinks[i];
    journal.relinks.push_back({merge.relinks[i], r.old_hint, r.new_hint, r.old_parent_cid, r.new_parent_cid});
  }
  journal.ancestor_cid = merge.plan.ancestor_cid;
  journal.new_ancestor_cid = merge.plan.new_ancestor_cid;
  return journal;
}

// The public plan as the journal records it (a run interrupted in its switch).
ConsolidatePlan plan_of(const ops::Journal& journal) {
  ConsolidatePlan plan;
  plan.top = journal.top.string();
  plan.ancestor = journal.ancestor.string();
  for (const fs::path& p : journal.merged) plan.merged.push_back(p.string());
  for (const fs::path& p : journal.removed) plan.removed.push_back(p.string());
  for (const ops::JournalRelink& r : journal.relinks) {
    plan.relinks.push_back({r.path.string(), r.old_hint, r.new_hint, r.old_parent_cid, r.new_parent_cid});
  }
  plan.ancestor_cid = journal.ancestor_cid;
  plan.new_ancestor_cid = journal.new_ancestor_cid;
  plan.resumed = true;
  plan.journal = journal.file.string();
  return plan;
}

[[noreturn]] void mismatch(const ops::Journal& journal, const std::string& what) {
  throw FormatError(journal.file.string(), "consolidation journal does not match the chain of " +
                                               journal.top.string() + ": " + what + "; nothing was changed");
}

ConsolidateReport resume(const ops::Journal& journal, const ConsolidateOptions& options) {
  ConsolidateReport report;
  report.plan = plan_of(journal);
  if (journal.stage == ops::Journal::Stage::switch_links) {
    std::error_code error;
    if (fs::exists(journal.ancestor, error)) report.plan.free_space = ops::free_space(journal.ancestor);
    report.result = options.dry_run ? journal.top.string() : journal.ancestor.string();
    if (options.dry_run) return report;
    ops::finish_switch(journal, options.open);
    report.done = true;
    return report;
  }

  // Stage "copy": ANCESTOR's CID has not changed, so TOP's chain still reads the original content.
  // The copy is planned again from it and redone; the journal's choices (CID, re-links) are kept.
  ConsolidateOptions again = options;
  again.into = journal.ancestor;
  ops::MergePlan merge;
  try {
    merge = ops::plan_merge(journal.top, again);
  } catch (const ChainError& e) {
    throw ChainError(journal.file.string(), "cannot finish the interrupted consolidation it records: " +
                                                std::string(e.what()) + "; nothing was changed");
  }
  if (merge.merged.size() != journal.merged.size()) mismatch(journal, "the layers to merge differ");
  for (std::size_t i = 0; i < merge.merged.size(); ++i) {
    if (!ops::same_path(merge.merged[i], journal.merged[i])) mismatch(journal, "the layers to merge differ");
  }
  if (merge.plan.ancestor_cid != journal.ancestor_cid) mismatch(journal, "the ancestor's CID changed");
  if (merge.relinks.size() != journal.relinks.size()) mismatch(journal, "TOP's children differ");
  for (std::size_t i = 0; i < merge.relinks.size(); ++i) {
    if (!ops::same_path(merge.relinks[i], journal.relinks[i].path))
      mismatch(journal, "TOP's children differ");
  }
  ConsolidatePlan plan = merge.plan;
  plan.new_ancestor_cid = journal.new_ancestor_cid;
  for (Relink& r : plan.relinks) r.new_parent_cid = journal.new_ancestor_cid;
  plan.resumed = true;
  plan.journal = journal.file.string();
  report.plan = plan;
  report.result = options.dry_run ? journal.top.string() : journal.ancestor.string();
  if (options.dry_run) return report;

  ops::copy_merge(merge, options.progress);
  merge.chain.reset();
  ops::Journal switching = journal;
  switching.stage = ops::Journal::Stage::switch_links;
  ops::store_journal(switching);
  ops::finish_switch(switching, options.open);
  report.done = true;
  return report;
}

}  // namespace

ConsolidateReport consolidate(const fs::path& top, const ConsolidateOptions& options) {
  io::LockSet locks = ops::lock_for_consolidate(top, options);
  // An interrupted run that involves top is finished first (top may be gone already).
  for (const fs::path& file : ops::find_journals(top.parent_path())) {
    ops::Journal journal = ops::load_journal(file, options.open.allow_outside_paths);
    if (ops::journal_names(journal, top)) return resume(journal, options);
  }

  ops::MergePlan merge = ops::plan_merge(top, options);
  std::error_code error;
  if (fs::exists(merge.plan.journal, error)) {
    ops::Journal other = ops::load_journal(merge.plan.journal, options.open.allow_outside_paths);
    throw UsageError(merge.plan.ancestor, "an interrupted consolidation into it is recorded in " +
                                              merge.plan.journal + "; finish it first: vmdkit consolidate " +
                                              other.top.string());
  }
  ConsolidateReport report;
  report.plan = merge.plan;
  if (options.dry_run) {
    report.result = top.string();
    return report;
  }

  ops::Journal journal = journal_of(merge);
  journal.stage = ops::Journal::Stage::copy;
  ops::store_journal(journal);
  ops::copy_merge(merge, options.progress);
  merge.chain.reset();
  journal.stage = ops::Journal::Stage::switch_links;
  ops::store_journal(journal);
  ops::finish_switch(journal, options.open);
  report.done = true;
  report.result = merge.plan.ancestor;
  return report;
}

}  // namespace vmdk
