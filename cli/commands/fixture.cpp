// vmdkit fixture build: disks built from a JSON spec (docs/fixture-spec.md), byte-identical on
// every run, for CI fixtures and negative tests.
#include "vmdk/fixture.hpp"

#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"

namespace vmdkit_cli {

namespace {
struct FixtureArgs {
  std::string spec;
  std::string output;
  bool overwrite = false;
  bool json = false;
  bool sync = false;
};
}  // namespace

Command add_fixture_command(CLI::App& root) {
  auto args = std::make_shared<FixtureArgs>();
  auto* app = root.add_subcommand("fixture", "Build deterministic test disks from a JSON spec");
  app->require_subcommand(1);
  auto* build = app->add_subcommand("build", "Build the disks of SPEC into DIR");
  build->footer(
      "SPEC describes disks (type, capacity, grain size, CIDs, UUIDs), snapshot layers with their writes and "
      "optional damage; the schema is in docs/fixture-spec.md. The same spec always gives byte-identical "
      "files. "
      "Disks are built in a hidden staging folder inside DIR and moved into DIR when all are complete; "
      "nothing is "
      "written outside DIR. Files that already exist in DIR are refused unless --overwrite; even then a "
      "disk in DIR that has a child the build does not replace, or a file another descriptor in DIR "
      "names, is refused.");
  build->add_option("SPEC", args->spec, "The JSON spec")->required();
  build->add_option("-o,--output", args->output, "Folder to build into (created when missing)")->required();
  build->add_flag("--overwrite", args->overwrite,
                  "Replace files of the same names in DIR (never a disk with children or another disk's file)");
  build->add_flag("--json", args->json, "Print a JSON summary (see docs/json-output.md)");
  add_sync_flag(*build, args->sync, "the files built (and DIR after they move in)");
  return {app, [args] {
            vmdk::FixtureOptions options;
            options.overwrite = args->overwrite;
            options.durability = durability_of(args->sync);
            const vmdk::FixtureReport report = vmdk::build_fixture(args->spec, args->output, options);
            make_printer(args->json, std::cout)->print(report);
            return 0;
          }};
}

}  // namespace vmdkit_cli
