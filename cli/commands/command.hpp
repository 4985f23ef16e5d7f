// What every subcommand file provides and shares: registration on the root CLI11 app, the common
// flags of commands that open disks, and the warning spelling on stderr.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "vmdk/chain.hpp"
#include "vmdk/disk_type.hpp"

namespace vmdkit_cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  ///< runs the command once parsed; returns the exit code
  int error_exit = 1;        ///< exit code when run throws (compare uses 2)
  /// True when the command's standard output carries data (convert to '-'): a --json error object
  /// then goes to stderr, like the command's JSON report. Unset: stdout is for the report.
  std::function<bool()> stdout_is_data = nullptr;
};

Command add_info_command(CLI::App& root);
Command add_chain_command(CLI::App& root);
Command add_map_command(CLI::App& root);
Command add_cat_command(CLI::App& root);
Command add_convert_command(CLI::App& root);
Command add_compare_command(CLI::App& root);
Command add_create_command(CLI::App& root);
Command add_snapshot_command(CLI::App& root);
Command add_write_command(CLI::App& root);
Command add_fixture_command(CLI::App& root);
Command add_consolidate_command(CLI::App& root);
Command add_check_command(CLI::App& root);
Command add_repair_command(CLI::App& root);

/// Flags of the commands that open disks.
struct DiskFlags {
  bool allow_outside_paths = false;
  bool strict = false;
  bool allow_cid_mismatch = false;
  double wait = 0;  ///< --wait: seconds to wait for another program's lock
};
/// Adds --allow-outside-paths, --strict and --wait.
void add_outside_paths_flag(CLI::App& app, DiskFlags& flags);
/// The open options these flags ask for.
vmdk::OpenOptions open_options(const DiskFlags& flags);
void add_cid_mismatch_flag(CLI::App& app, DiskFlags& flags);
vmdk::ChainOptions chain_options(const DiskFlags& flags);

/// Opens a chain for reading and prints its warnings (a CID mismatch read anyway...) on stderr.
std::unique_ptr<vmdk::Chain> open_chain(const std::string& path, const DiskFlags& flags);

/// Options of the commands that make new disks (create, convert): type, adapter, hardware version,
/// grain size, zeroed grains, compression level, seed. Kept as text until parsed, so that errors
/// name the option.
struct NewDiskFlags {
  std::string type;
  std::string adapter = "lsilogic";
  unsigned hw_version = 4;
  std::string grain_size = "64K";
  bool zeroed_grains = false;
  int compress_level = 6;
  std::optional<std::uint64_t> seed;
  bool sync = false;
};
/// Adds --sync: the command's new files (named by what) are fsynced before their renames and their
/// folder after; without it they are left to the page cache, as cp and qemu-img leave theirs.
void add_sync_flag(CLI::App& app, bool& flag, const std::string& what);
/// Durability::synced with --sync, page_cache without.
vmdk::Durability durability_of(bool sync);
/// Adds --adapter, --hw-version, --grain-size, --zeroed-grains, --seed, --sync (and --compress-level
/// when with_compression). --type/--to is added by the command itself.
void add_new_disk_flags(CLI::App& app, NewDiskFlags& flags, bool with_compression);
/// Parses the flags; throws vmdk::UsageError naming the bad option.
vmdk::NewDiskOptions new_disk_options(const NewDiskFlags& flags);

/// "vmdkit: warning: <message>" on stderr.
void warn(const std::string& message);

/// Parses --offset/--length style values; throws vmdk::UsageError naming the option.
std::uint64_t size_option(const std::string& option, const std::string& text);

}  // namespace vmdkit_cli
