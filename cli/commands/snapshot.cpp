// vmdkit snapshot: a new delta link `<base>-NNNNNN.vmdk` on top of a disk; the new path is the
// last line of the text output.
#include <iostream>
#include <optional>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/snapshot.hpp"

namespace vmdkit_cli {

namespace {
struct SnapshotArgs {
  std::string path;
  bool force = false;
  bool zeroed_grains = false;
  std::string delta_format;  // empty: automatic
  std::optional<std::uint64_t> seed;
  bool json = false;
  bool quiet = false;
  DiskFlags flags;
};
}  // namespace

Command add_snapshot_command(CLI::App& root) {
  auto args = std::make_shared<SnapshotArgs>();
  auto* app = root.add_subcommand("snapshot", "Take a snapshot: create the next delta on top of a disk");
  app->footer(
      "The new delta lies beside PATH as <base>-00000N.vmdk (the first free N; <base> is PATH's name "
      "without a -00000N suffix): a monolithicSparse file for a hosted PATH, or for an ESXi PATH a "
      "seSparse descriptor plus its data file <base>-00000N-sesparse.vmdk (a vmfsSparse PATH gets a "
      "vmfsSparse descriptor plus its COWD data file <base>-00000N-delta.vmdk); with "
      "parentCID = PATH's CID and a relative "
      "parentFileNameHint. PATH and the rest of its chain are only read, never modified; from now on, "
      "write into the new delta: writing into PATH would corrupt the delta. The new file's path is the "
      "last line printed (use `tail -n 1`).");
  app->add_option("PATH", args->path, "The disk to snapshot (the current top of its chain)")->required();
  app->add_flag("--force", args->force,
                "Take the snapshot although PATH already has a child (forks the chain: the old child stays "
                "valid only while PATH is not written) or a VMware lock folder (PATH.lck) marks it in use");
  app->add_flag("--zeroed-grains", args->zeroed_grains,
                "The delta gets header version 2 with zeroed-grain entries, so zero writes take no space");
  app->add_option(
      "--delta-format", args->delta_format,
      "sparse (hosted monolithicSparse; default for hosted disks), seSparse (ESXi 6.7+, 4 KiB grains; "
      "default for ESXi disks unless --zeroed-grains), vmfsSparse (ESXi COWD with 1-sector grains, as "
      "on VMFS 5; default under a vmfsSparse parent)");
  app->add_option("--seed", args->seed,
                  "Seed for the delta's CID: the same command with the same seed makes byte-identical "
                  "files (default: random)");
  app->add_flag("--json", args->json, "Print a JSON report (see docs/json-output.md)");
  app->add_flag("-q,--quiet", args->quiet, "Print only the new delta's path");
  add_outside_paths_flag(*app, args->flags);
  return {app, [args] {
            vmdk::SnapshotOptions options;
            options.open = open_options(args->flags);
            options.force = args->force;
            options.zeroed_grains = args->zeroed_grains;
            options.seed = args->seed;
            if (!args->delta_format.empty())
              options.delta_format = vmdk::parse_delta_format(args->delta_format);
            auto report = vmdk::snapshot(args->path, options);
            if (args->quiet && !args->json) {
              std::cout << report.path << '\n';
            } else {
              make_printer(args->json, std::cout)->print(report);
            }
            return 0;
          }};
}

}  // namespace vmdkit_cli
