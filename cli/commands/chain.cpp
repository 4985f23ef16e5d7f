// vmdkit chain: the layers from PATH down to its base, and whether every link holds.
#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "vmdk/ops.hpp"

namespace vmdkit_cli {

namespace {
struct ChainArgs {
  std::string path;
  bool json = false;
  DiskFlags flags;
};
}  // namespace

Command add_chain_command(CLI::App& root) {
  auto args = std::make_shared<ChainArgs>();
  auto* app = root.add_subcommand("chain", "Show the snapshot chain from PATH down to its base, with the state "
                                           "of every parent link");
  app->footer(
      "Links: ok, base, cid_mismatch, missing_parent, capacity_mismatch, cycle, unreadable_parent, "
      "outside_folder (the parent exists outside the child's folder: refused unless --allow-outside-paths). A "
      "broken chain is still printed; the exit code is then 1.");
  app->add_option("PATH", args->path, "The leaf of the chain (layers[0] in the report)")->required();
  app->add_flag("--json", args->json, "Print one JSON document (see docs/json-output.md)");
  add_outside_paths_flag(*app, args->flags);
  return {app, [args] {
            vmdk::ChainReportOptions options;
            options.open = open_options(args->flags);
            auto report = vmdk::chain_report(args->path, options);
            make_printer(args->json, std::cout)->print(report);
            return report.ok ? 0 : 1;
          }};
}

}  // namespace vmdkit_cli
