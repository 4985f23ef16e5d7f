// vmdkit info: one disk's descriptor, extents and sparse headers; parents are not followed.
#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "vmdk/ops.hpp"

namespace vmdkit_cli {

namespace {
struct InfoArgs {
  std::string path;
  bool json = false;
  DiskFlags flags;
};
}  // namespace

Command add_info_command(CLI::App& root) {
  auto args = std::make_shared<InfoArgs>();
  auto* app = root.add_subcommand("info", "Show one disk: create type, capacity, CIDs, parent hint, extents "
                                          "(with their status), sparse header fields and the DDB");
  app->footer(
      "Parents are not followed. Extent files that are missing, of a kind not yet readable, refused or "
      "damaged are listed with status 'missing', 'unsupported' or 'error' and the problem; the descriptor "
      "and the other extents are still shown and the command succeeds (exit 0).");
  app->add_option("PATH", args->path, "The disk: a descriptor or a file with an embedded descriptor")->required();
  app->add_flag("--json", args->json, "Print one JSON document (see docs/json-output.md)");
  add_outside_paths_flag(*app, args->flags);
  return {app, [args] {
            vmdk::InfoOptions options;
            options.open = open_options(args->flags);
            auto report = vmdk::info(args->path, options);
            for (const std::string& w : report.warnings) warn(w);
            make_printer(args->json, std::cout)->print(report);
            return 0;
          }};
}

}  // namespace vmdkit_cli
