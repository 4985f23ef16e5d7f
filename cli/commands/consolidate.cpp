// vmdkit consolidate: folds a snapshot chain (TOP down to ANCESTOR's child) into ANCESTOR, re-links
// TOP's children, and finishes an interrupted run from its journal (vmdk-format.md 6.4).
#include "vmdk/consolidate.hpp"

#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "output/progress.hpp"

namespace vmdkit_cli {

namespace {
struct ConsolidateArgs {
  std::string top;
  std::string into;
  bool dry_run = false;
  bool json = false;
  bool force = false;
  bool quiet = false;
  bool accept_cid_mismatch = false;
  std::optional<std::uint64_t> seed;
  DiskFlags flags;
};
}  // namespace

Command add_consolidate_command(CLI::App& root) {
  auto args = std::make_shared<ConsolidateArgs>();
  auto* app = root.add_subcommand("consolidate",
                                  "Merge snapshots into an ancestor (default: the base) and delete them");
  app->footer(
      "What happens to your files: the content of TOP, read through its chain, is written into ANCESTOR "
      "(the base, or --into). ANCESTOR is changed in place: grains it already holds are overwritten, new "
      "ones "
      "are appended (it grows by the 'extra space' of the plan), zero grains become zeroed-grain entries "
      "where the disk allows them. Then ANCESTOR gets a new CID, every disk whose parent was TOP is "
      "re-linked "
      "to ANCESTOR (parentFileNameHint and parentCID), and TOP and every layer between TOP and ANCESTOR are "
      "DELETED (their descriptors and extent files), except files another descriptor in the folder names "
      "(a shared or foreign extent): those are kept and listed as 'kept: FILE, named by DESCRIPTOR'. The "
      "last line printed is the disk that now holds the "
      "data.\n\n"
      "Checked before anything is written: a layer of the merge or ANCESTOR that has another child (that "
      "child would silently read different data; --force does not override this), a lock (.lck folder) on "
      "any file involved (unless --force), a streamOptimized or read-only ANCESTOR, not enough free space. "
      "A child of TOP whose link is already broken (its parentCID is not TOP's CID) is refused unless "
      "--accept-cid-mismatch: re-linking it would hide that finding. --dry-run prints the plan and writes "
      "nothing; it runs the same checks and fails the same way.\n\n"
      "Crash safety: a journal '.<ANCESTOR>.vmdkit-consolidate' beside ANCESTOR records the plan before the "
      "first write. Until the switch TOP reads as before, after it ANCESTOR does. If the run is interrupted, "
      "run 'vmdkit consolidate' again on TOP or on any remaining file of the chain: it finishes the job.");
  app->add_option("TOP", args->top, "The snapshot whose content is kept (its chain is merged)")->required();
  app->add_option("--into", args->into, "The layer below TOP that receives the data (default: the base)");
  app->add_flag("--dry-run", args->dry_run, "Print the plan only; nothing is written");
  app->add_flag("--json", args->json, "Print the plan and the result as JSON (see docs/json-output.md)");
  app->add_flag("--force", args->force,
                "Go on although a .lck folder marks a file in use (never overrides a sibling child)");
  app->add_option("--seed", args->seed, "Seed for ANCESTOR's new CID (repeatable runs)");
  app->add_flag("--accept-cid-mismatch", args->accept_cid_mismatch,
                "Re-link a child of TOP whose parentCID already differs from TOP's CID (a broken link)");
  app->add_flag("-q,--quiet", args->quiet, "No progress bar; print only the disk that holds the data");
  add_outside_paths_flag(*app, args->flags);
  return {app, [args] {
            vmdk::ConsolidateOptions options;
            options.open = open_options(args->flags);
            if (!args->into.empty()) options.into = args->into;
            options.dry_run = args->dry_run;
            options.force = args->force;
            options.accept_cid_mismatch = args->accept_cid_mismatch;
            options.seed = args->seed;
            ProgressBar bar("consolidate", !args->quiet && !args->dry_run);
            options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
            const vmdk::ConsolidateReport report = vmdk::consolidate(args->top, options);
            bar.finish();
            if (args->json || !args->quiet) {
              make_printer(args->json, std::cout)->print(report);
            } else {
              std::cout << report.result << '\n';
            }
            return 0;
          }};
}

}  // namespace vmdkit_cli
