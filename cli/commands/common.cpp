// Helpers shared by the subcommands: disk flags, opening a chain with its warnings, size options.
#include <cstdio>

#include "commands/command.hpp"
#include "output/escape.hpp"
#include "output/format.hpp"
#include "vmdk/error.hpp"

namespace vmdkit_cli {

void add_outside_paths_flag(CLI::App& app, DiskFlags& flags) {
  app.add_flag("--allow-outside-paths", flags.allow_outside_paths,
               "Accept extent and parent paths outside the descriptor's folder (absolute paths, '..', "
               "device nodes, symlinks pointing elsewhere)");
  app.add_flag("--strict", flags.strict,
               "Untrusted input: refuse anything outside one self-contained file (extents in other files, a "
               "parent disk), for services that take disks from strangers");
  app.add_option("--wait", flags.wait,
                 "Seconds to wait while another program holds a lock on one of the disk's files (default 0: "
                 "refuse at once, naming the holder)")
      ->check(CLI::Range(0.0, 86400.0));
}

vmdk::OpenOptions open_options(const DiskFlags& flags) {
  vmdk::OpenOptions options;
  options.allow_outside_paths = flags.allow_outside_paths;
  options.strict = flags.strict;
  options.lock.wait_seconds = flags.wait;
  return options;
}

void add_cid_mismatch_flag(CLI::App& app, DiskFlags& flags) {
  app.add_flag("--allow-cid-mismatch", flags.allow_cid_mismatch,
               "Read through a parent whose CID does not match the child's parentCID (warns on stderr)");
}

vmdk::ChainOptions chain_options(const DiskFlags& flags) {
  vmdk::ChainOptions options;
  options.open = open_options(flags);
  options.allow_cid_mismatch = flags.allow_cid_mismatch;
  return options;
}

std::unique_ptr<vmdk::Chain> open_chain(const std::string& path, const DiskFlags& flags) {
  auto chain = vmdk::Chain::open(path, chain_options(flags));
  for (const auto& w : chain->warnings()) warn(w);
  return chain;
}

void add_new_disk_flags(CLI::App& app, NewDiskFlags& flags, bool with_compression) {
  app.add_option("--adapter", flags.adapter,
                 "ddb.adapterType of the new disk: ide, buslogic, lsilogic, lsisas1068 or pvscsi (default lsilogic; "
                 "ide gets 16-head geometry, the others 255)");
  app.add_option("--hw-version", flags.hw_version, "ddb.virtualHWVersion (default 4, readable by every VMware product)");
  app.add_option("--grain-size", flags.grain_size,
                 "Grain size of sparse and streamOptimized disks: a power of two from 4K to 1M (default 64K)");
  app.add_flag("--zeroed-grains", flags.zeroed_grains,
               "Sparse disks: allow zeroed-grain entries (header version 2), so whole-grain zero writes take no "
               "space; VirtualBox cannot open such disks");
  app.add_option("--seed", flags.seed,
                 "Seed for the CID, ddb.uuid and ddb.longContentID: the same command with the same seed makes "
                 "byte-identical files (default: random)");
  add_sync_flag(app, flags.sync, "every file of the new disk");
  if (with_compression) {
    app.add_option("--compress-level", flags.compress_level,
                   "streamOptimized: deflate level 0 (stored, for bit-exact fixtures) to 9 (default 6)")
        ->check(CLI::Range(0, 9));
  }
}

vmdk::NewDiskOptions new_disk_options(const NewDiskFlags& flags) {
  vmdk::NewDiskOptions options;
  if (!flags.type.empty()) options.type = vmdk::parse_disk_type(flags.type);
  options.adapter = vmdk::parse_adapter(flags.adapter);
  options.hw_version = flags.hw_version;
  options.grain_size = size_option("--grain-size", flags.grain_size);
  options.zeroed_grains = flags.zeroed_grains;
  options.compress_level = flags.compress_level;
  options.seed = flags.seed;
  options.durability = durability_of(flags.sync);
  return options;
}

void add_sync_flag(CLI::App& app, bool& flag, const std::string& what) {
  app.add_flag("--sync", flag,
               "Make " + what +
                   " durable: fsync before the rename into place and of the folder after (default: left to "
                   "the page cache like cp and qemu-img; the files still appear whole or not at all)");
}

vmdk::Durability durability_of(bool sync) {
  return sync ? vmdk::Durability::synced : vmdk::Durability::page_cache;
}

void warn(const std::string& message) {
  std::fprintf(stderr, "vmdkit: warning: %s\n", escape_controls(message).c_str());
  std::fflush(stderr);
}

std::uint64_t size_option(const std::string& option, const std::string& text) {
  auto value = parse_size(text);
  if (!value) {
    throw vmdk::UsageError("", "invalid " + option + " value '" + text +
                                   "' (expected a byte count: decimal, 0x hex, optional K/M/G/T suffix)");
  }
  return *value;
}

}  // namespace vmdkit_cli
