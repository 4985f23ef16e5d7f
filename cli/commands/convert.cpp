// vmdkit convert: a chain to a raw image (zero and unallocated ranges stay holes).
#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "output/progress.hpp"
#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

namespace vmdkit_cli {

namespace {
struct ConvertArgs {
  std::string source;
  std::string destination;
  std::string to;
  bool json = false;
  bool quiet = false;
  DiskFlags flags;
};
}  // namespace

Command add_convert_command(CLI::App& root) {
  auto args = std::make_shared<ConvertArgs>();
  auto* app = root.add_subcommand("convert", "Convert a disk, read through its chain, to another format");
  app->footer(
      "Only --to raw is supported so far. Zero and unallocated ranges (and data that is all zeros) stay "
      "holes. The output is written to a temporary file beside DST, synced and renamed when complete.");
  app->add_option("SRC", args->source, "The disk to read (leaf of the chain)")->required();
  app->add_option("DST", args->destination, "The file to write (replaced when it exists)")->required();
  app->add_option("--to", args->to, "Output format: raw")->required();
  app->add_flag("--json", args->json, "Print a JSON summary (see docs/json-output.md)");
  app->add_flag("-q,--quiet", args->quiet, "No progress bar and no summary");
  add_outside_paths_flag(*app, args->flags);
  add_cid_mismatch_flag(*app, args->flags);
  return {app, [args] {
            vmdk::ConvertOptions options;
            options.format = args->to;
            if (options.format != "raw") {
              throw vmdk::UnsupportedError("", "--to " + args->to + " is not supported yet (only raw)");
            }
            auto chain = open_chain(args->source, args->flags);
            ProgressBar bar("convert", !args->quiet);
            options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
            auto report = vmdk::convert(*chain, args->destination, options);
            bar.finish();
            if (args->json || !args->quiet) make_printer(args->json, std::cout)->print(report);
            return 0;
          }};
}

}  // namespace vmdkit_cli
