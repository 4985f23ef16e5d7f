// vmdkit create: makes a new, empty disk of any hosted type (monolithicSparse by default).
#include "vmdk/create.hpp"

#include <iostream>
#include <optional>

#include "commands/command.hpp"
#include "output/printer.hpp"

namespace vmdkit_cli {

namespace {
struct CreateArgs {
  std::string path;
  std::string size;
  std::string type = "monolithicSparse";
  std::string adapter = "lsilogic";
  std::uint32_t hw_version = 4;
  std::string grain_size;
  bool zeroed_grains = false;
  std::optional<std::uint64_t> seed;
  bool json = false;
  bool quiet = false;
};
}  // namespace

Command add_create_command(CLI::App& root) {
  auto args = std::make_shared<CreateArgs>();
  auto* app = root.add_subcommand("create", "Create a new, empty disk (all of it reads as zeros)");
  app->footer(
      "Existing files are never overwritten: when PATH or any file the new disk needs (NAME-flat.vmdk, "
      "NAME-s001.vmdk, ...) exists, nothing is written and the command fails. Every file is written under "
      "a temporary name beside PATH and renamed when complete, the descriptor last, so an interrupted "
      "create leaves no half-made disk under the final names. Sparse and flat data files are created as "
      "holes: they take almost no space until data is written.");
  app->add_option("PATH", args->path, "The disk to create (the .vmdk a VM or tool opens)")->required();
  app->add_option("--size", args->size,
                  "Virtual size in bytes, with an optional K, M, G or T suffix (powers of 1024); a multiple "
                  "of 512")
      ->required();
  app->add_option(
      "--type", args->type,
      "createType: monolithicSparse (default, one growing file), twoGbMaxExtentSparse (growing, "
      "split into 2 GiB parts NAME-s001.vmdk...), monolithicFlat (NAME.vmdk + NAME-flat.vmdk with "
      "every byte at its offset), twoGbMaxExtentFlat (the same in 2 GiB parts NAME-f001.vmdk...), "
      "streamOptimized (compressed, for OVF/OVA; not writable in place), vmfs (ESXi: NAME.vmdk + "
      "NAME-flat.vmdk)");
  app->add_option("--adapter", args->adapter,
                  "ddb.adapterType: ide, buslogic, lsilogic (default), lsisas1068 or pvscsi; also selects "
                  "the geometry (IDE 16 heads, SCSI 255)");
  app->add_option("--hw-version", args->hw_version, "ddb.virtualHWVersion (default 4)");
  app->add_option("--grain-size", args->grain_size,
                  "Grain size of sparse and stream types in bytes (K/M suffix allowed): a power of two "
                  "from 4K to 1M, default 64K");
  app->add_flag("--zeroed-grains", args->zeroed_grains,
                "Sparse types: header version 2 with zeroed-grain entries, so zero writes take no space");
  app->add_option("--seed", args->seed,
                  "Seed for the CID, ddb.uuid and ddb.longContentID: the same command with the same seed "
                  "makes byte-identical files (default: random)");
  app->add_flag("--json", args->json, "Print a JSON report (see docs/json-output.md)");
  app->add_flag("-q,--quiet", args->quiet, "Print nothing on success");
  return {app, [args] {
            vmdk::CreateOptions options;
            options.capacity = size_option("--size", args->size);
            options.type = vmdk::parse_disk_type(args->type);
            options.adapter = vmdk::parse_adapter(args->adapter);
            options.hw_version = args->hw_version;
            if (!args->grain_size.empty()) options.grain_size = size_option("--grain-size", args->grain_size);
            options.zeroed_grains = args->zeroed_grains;
            options.seed = args->seed;
            auto report = vmdk::create(args->path, options);
            if (args->json || !args->quiet) make_printer(args->json, std::cout)->print(report);
            return 0;
          }};
}

}  // namespace vmdkit_cli
