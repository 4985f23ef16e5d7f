// vmdkit check: every descriptor, header, grain directory, grain table entry and link of a chain,
// reported as findings; exit 0 clean, 2 corruption, 3 only leaks, 1 could not run.
#include "vmdk/check.hpp"

#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"

namespace vmdkit_cli {

namespace {
struct CheckArgs {
  std::string path;
  bool json = false;
  DiskFlags flags;
};
}  // namespace

Command add_check_command(CLI::App& root) {
  auto args = std::make_shared<CheckArgs>();
  auto* app = root.add_subcommand("check", "Check a disk and its whole chain for damage (read-only)");
  app->footer(
      "Looks at every file of PATH's chain: descriptors, sparse headers, both grain directories, every grain "
      "table entry (past the end of the file, into metadata, two entries sharing a grain, a grain cut short), "
      "space no entry uses (leaks), the unclean-shutdown flag, stream footers, missing or short extent files, "
      "parent links (CID mismatch, missing parent, absolute hint, capacity, cycles) and interrupted "
      "consolidations. Every finding names the file and the byte offset of the damaged structure, and says "
      "whether 'vmdkit repair' can fix it. Nothing is written.\n\n"
      "Exit status: 0 clean (warnings may be listed), 2 corruption found, 3 only leaks, 1 could not run.");
  app->add_option("PATH", args->path, "The disk (the top of its chain)")->required();
  app->add_flag("--json", args->json, "Print the findings as JSON (see docs/json-output.md)");
  add_outside_paths_flag(*app, args->flags);
  return {app, [args] {
            vmdk::CheckOptions options;
            options.open = open_options(args->flags);
            const vmdk::CheckReport report = vmdk::check(args->path, options);
            make_printer(args->json, std::cout)->print(report);
            return report.exit_status();
          }};
}

}  // namespace vmdkit_cli
