// vmdkit repair: fixes what check finds (saving every overwritten byte for --undo), puts a repair
// back (--undo), or writes a lost descriptor from its extent files (--rebuild-descriptor).
#include "vmdk/repair.hpp"

#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "vmdk/error.hpp"
#include "vmdk/rebuild.hpp"

namespace vmdkit_cli {

namespace {
struct RepairArgs {
  std::vector<std::string> paths;
  bool dry_run = false;
  bool json = false;
  bool undo = false;
  bool rebuild = false;
  bool accept_cid_mismatch = false;
  bool force = false;
  std::string parent;
  std::string parent_cid;
  std::string out;
  std::string salvage;
  bool sync = false;
  std::vector<std::string> search;
  std::optional<std::uint64_t> seed;
  DiskFlags flags;
};

int run_rebuild(const RepairArgs& args) {
  vmdk::RebuildOptions options;
  options.dry_run = args.dry_run;
  options.force = args.force;
  if (!args.parent.empty()) options.parent = args.parent;
  if (!args.parent_cid.empty()) {
    const std::string& text = args.parent_cid;
    if (text.empty() || text.size() > 8 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      throw vmdk::UsageError("", "invalid --parent-cid '" + text + "' (expected 1 to 8 hex digits)");
    }
    options.parent_cid = static_cast<std::uint32_t>(std::stoul(text, nullptr, 16));
  }
  for (const std::string& folder : args.search) options.search.emplace_back(folder);
  options.seed = args.seed;
  if (!args.out.empty()) options.out = args.out;
  options.open = open_options(args.flags);
  std::vector<std::filesystem::path> extents(args.paths.begin(), args.paths.end());
  make_printer(args.json, std::cout)->print(vmdk::rebuild_descriptor(extents, options));
  return 0;
}
}  // namespace

Command add_repair_command(CLI::App& root) {
  auto args = std::make_shared<RepairArgs>();
  auto* app = root.add_subcommand("repair", "Fix what 'check' finds; undo a repair; rebuild a lost descriptor");
  app->footer(
      "vmdkit repair PATH: fixes PATH's chain. A damaged grain directory or table is restored from its "
      "other copy when that copy is sound; entries pointing outside the file, into metadata, or at a grain "
      "another entry uses are cleared (the range then reads from the parent, or zeros in a base) and listed "
      "as lost; the unclean-shutdown flag is cleared; a cut-short streamOptimized file gets new tables, "
      "directory, footer and end-of-stream marker after its old end; a missing parent is found by CID in the "
      "delta's folder and the --search folders (or given with --parent) and the hint rewritten relative; an "
      "absolute hint is made relative; a CID mismatch is fixed only with --accept-cid-mismatch; an "
      "interrupted consolidation is finished.\n\n"
      "Nothing is reclaimed that repair cannot prove is garbage. Leaked grains are reclaimed (the last grains "
      "move into the holes, the file shrinks) only in a layer whose two grain table copies are sound and agree "
      "and where nothing was damaged or cleared. Any other grain no table references, a cut-short last grain, "
      "and the bytes of a file whose size shows bytes were inserted or removed (file_size_unaligned: repair "
      "then changes nothing in it) are KEPT in place and listed; later repairs keep them too (the undo log "
      "records them). --salvage DIR writes each kept grain to DIR as FILE@OFFSET.grain (DIR is created; "
      "existing files are never replaced), also on a disk repaired before.\n\n"
      "Before the first write every byte range repair will overwrite or cut off is saved in "
      "'.NAME.vmdkit-undo-N' beside PATH, with the state repair leaves (sizes, digests of the written ranges, "
      "CIDs); 'vmdkit repair --undo PATH' puts the newest repair back byte for byte, and refuses (exit 1, "
      "naming the file and range) when the disk changed since. A log from an older vmdkit records no state: "
      "--undo --force applies it anyway.\n\n"
      "Exit status: 0 fixed and nothing lost (also a clean disk); 4 finished but virtual ranges were lost "
      "(listed); 2 findings remain; 1 could not run. A dry run returns what the real run would.\n\n"
      "vmdkit repair --rebuild-descriptor EXTENT...: writes the lost descriptor of NAME-flat.vmdk, a split "
      "set NAME-s001.vmdk... / NAME-f001.vmdk... (all parts found), a hosted delta NAME-00000N-s001.vmdk, "
      "an ESXi NAME-00000N-delta.vmdk or NAME-00000N-sesparse.vmdk (parent by --parent, --parent-cid, name "
      "or capacity).");
  app->add_option("PATH", args->paths, "The disk to repair (or, with --rebuild-descriptor, its extent files)")
      ->required();
  app->add_flag("--dry-run", args->dry_run, "Print what would be done; write nothing");
  app->add_flag("--json", args->json, "Print the report as JSON (see docs/json-output.md)");
  app->add_flag("--undo", args->undo, "Put back the newest repair of PATH from its undo log");
  app->add_flag("--rebuild-descriptor", args->rebuild, "Write the lost descriptor of the given extent files");
  app->add_option("--parent", args->parent, "The parent of a delta whose parent is missing");
  app->add_option("--parent-cid", args->parent_cid, "--rebuild-descriptor: the parent's CID, when known");
  app->add_option("--search", args->search, "Another folder to look for a missing parent in (repeatable)");
  app->add_flag("--accept-cid-mismatch", args->accept_cid_mismatch,
                "You assert the parent is the right one and unchanged: set the delta's parentCID to its CID");
  app->add_flag("--force", args->force,
                "--rebuild-descriptor: replace an existing descriptor; --undo: apply a log that records no state");
  app->add_option("--salvage", args->salvage, "Write every kept grain into this folder (FILE@OFFSET.grain)");
  add_sync_flag(*app, args->sync, "the --salvage files (repair's own changes are always fsynced in order)");
  app->add_option("--out", args->out, "--rebuild-descriptor: write the descriptor here instead");
  app->add_option("--seed", args->seed, "--rebuild-descriptor: seed for a new CID and UUIDs (repeatable runs)");
  add_outside_paths_flag(*app, args->flags);
  return {app, [args] {
            if (args->undo && args->rebuild) throw vmdk::UsageError("", "--undo and --rebuild-descriptor exclude each other");
            if (args->rebuild) return run_rebuild(*args);
            if (args->paths.size() != 1) {
              throw vmdk::UsageError("", "repair takes one PATH (several only with --rebuild-descriptor)");
            }
            if (args->undo) {
              vmdk::UndoOptions undo;
              undo.dry_run = args->dry_run;
              undo.force = args->force;
              undo.open = open_options(args->flags);  // --wait, --allow-outside-paths
              make_printer(args->json, std::cout)->print(vmdk::undo_repair(args->paths.front(), undo));
              return 0;
            }
            vmdk::RepairOptions options;
            options.open = open_options(args->flags);
            options.dry_run = args->dry_run;
            if (!args->parent.empty()) options.parent = args->parent;
            for (const std::string& folder : args->search) options.search.emplace_back(folder);
            options.accept_cid_mismatch = args->accept_cid_mismatch;
            if (!args->salvage.empty()) options.salvage = args->salvage;
            options.salvage_durability = durability_of(args->sync);
            const vmdk::RepairReport report = vmdk::repair(args->paths.front(), options);
            make_printer(args->json, std::cout)->print(report);
            return report.exit_status();
          }};
}

}  // namespace vmdkit_cli
