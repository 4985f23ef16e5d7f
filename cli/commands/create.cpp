// vmdkit create: makes a new, empty disk of any hosted or ESXi base type (monolithicSparse by default).
#include "vmdk/create.hpp"
#include "vmdk/disk_type.hpp"

#include <iostream>
#include <optional>

#include "commands/command.hpp"
#include "output/printer.hpp"

namespace vmdkit_cli {

namespace {
struct CreateArgs {
  std::string path;
  std::string size;
  NewDiskFlags disk;  // an empty type means monolithicSparse
  bool json = false;
  bool quiet = false;
  bool overwrite = false;
};
}  // namespace

Command add_create_command(CLI::App& root) {
  auto args = std::make_shared<CreateArgs>();
  auto* app = root.add_subcommand("create", "Create a new, empty disk (all of it reads as zeros)");
  app->footer(
      "Existing files are not overwritten: when PATH or any file the new disk needs (NAME-flat.vmdk, "
      "NAME-s001.vmdk, ...) exists, nothing is written and the command fails, unless --overwrite; even "
      "then a disk that is a layer with children or a file another disk's descriptor names is refused. Every file "
      "is written under a temporary name beside PATH and put in place when complete, the descriptor last, so "
      "an interrupted create leaves no half-made disk under the final names. Sparse and flat data files are "
      "created as "
      "holes: they take almost no space until data is written.");
  app->add_option("PATH", args->path, "The disk to create (the .vmdk a VM or tool opens)")->required();
  app->add_option("--size", args->size,
                  "Virtual size in bytes, with an optional K, M, G or T suffix (powers of 1024); a multiple "
                  "of 512")
      ->required();
  app->add_option(
      "--type", args->disk.type,
      "createType: monolithicSparse (default, one growing file), twoGbMaxExtentSparse (growing, "
      "split into 2 GiB parts NAME-s001.vmdk...), monolithicFlat (NAME.vmdk + NAME-flat.vmdk with "
      "every byte at its offset), twoGbMaxExtentFlat (the same in 2 GiB parts NAME-f001.vmdk...), "
      "streamOptimized (compressed, for OVF/OVA; not writable in place), vmfs (ESXi: NAME.vmdk + "
      "NAME-flat.vmdk, createType vmfs), vmfsThin (the same with ddb.thinProvisioned = \"1\"; ESXi "
      "and vmdkit write createType vmfs for it)");
  add_new_disk_flags(*app, args->disk, /*with_compression=*/true);
  app->add_flag("--json", args->json, "Print a JSON report (see docs/json-output.md)");
  app->add_flag("-q,--quiet", args->quiet, "Print nothing on success");
  app->add_flag("--overwrite", args->overwrite,
                "Replace existing files (never a disk with children or another disk's file)");
  return {app, [args] {
            vmdk::CreateOptions options;
            static_cast<vmdk::NewDiskOptions&>(options) = new_disk_options(args->disk);
            options.capacity = size_option("--size", args->size);
            options.overwrite = args->overwrite;
            auto report = vmdk::create(args->path, options);
            if (args->json || !args->quiet) make_printer(args->json, std::cout)->print(report);
            return 0;
          }};
}

}  // namespace vmdkit_cli
