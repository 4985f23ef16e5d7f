// vmdkit compare: are two disks (VMDK chains or raw files) the same bytes? Exit 0 same, 1 different, 2 error.
#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "output/progress.hpp"
#include "vmdk/ops.hpp"

namespace vmdkit_cli {

namespace {
struct CompareArgs {
  std::string a;
  std::string b;
  bool json = false;
  bool quiet = false;
  DiskFlags flags;
};
}  // namespace

Command add_compare_command(CLI::App& root) {
  auto args = std::make_shared<CompareArgs>();
  auto* app = root.add_subcommand("compare", "Compare the contents of two disks, each a VMDK chain or a raw file");
  app->footer(
      "A file that starts with the sparse magic KDMV or with descriptor text is read as a VMDK chain; "
      "anything else as raw bytes, except a qcow/qcow2, QED, VDI, VHD or VHDX image, which is refused naming its "
      "format (exit 2). Exit codes: 0 identical, 1 different (the first differing offset is "
      "printed), 2 error.");
  app->add_option("A", args->a, "First disk")->required();
  app->add_option("B", args->b, "Second disk")->required();
  app->add_flag("--json", args->json, "Print one JSON document (see docs/json-output.md)");
  app->add_flag("-q,--quiet", args->quiet, "No progress bar");
  add_outside_paths_flag(*app, args->flags);
  add_cid_mismatch_flag(*app, args->flags);
  return {app,
          [args] {
            vmdk::CompareOptions options;
            options.chain = chain_options(args->flags);
            options.warning = warn;
            ProgressBar bar("compare", !args->quiet);
            options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
            auto report = vmdk::compare(args->a, args->b, options);
            bar.finish();
            make_printer(args->json, std::cout)->print(report);
            return report.identical ? 0 : 1;
          },
          2};
}

}  // namespace vmdkit_cli
