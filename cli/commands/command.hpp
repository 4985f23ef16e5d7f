// What every subcommand file provides and shares: registration on the root CLI11 app, the common
// flags of commands that open disks, and the warning spelling on stderr.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "vmdk/chain.hpp"

namespace vmdkit_cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  ///< runs the command once parsed; returns the exit code
  int error_exit = 1;        ///< exit code when run throws (compare uses 2)
};

Command add_info_command(CLI::App& root);
Command add_chain_command(CLI::App& root);
Command add_map_command(CLI::App& root);
Command add_cat_command(CLI::App& root);
Command add_convert_command(CLI::App& root);
Command add_compare_command(CLI::App& root);

/// Flags of the commands that open disks.
struct DiskFlags {
  bool allow_outside_paths = false;
  bool allow_cid_mismatch = false;
};
void add_outside_paths_flag(CLI::App& app, DiskFlags& flags);
void add_cid_mismatch_flag(CLI::App& app, DiskFlags& flags);
vmdk::ChainOptions chain_options(const DiskFlags& flags);

/// Opens a chain for reading and prints its warnings (a CID mismatch read anyway...) on stderr.
std::unique_ptr<vmdk::Chain> open_chain(const std::string& path, const DiskFlags& flags);

/// "vmdkit: warning: <message>" on stderr.
void warn(const std::string& message);

/// Parses --offset/--length style values; throws vmdk::UsageError naming the option.
std::uint64_t size_option(const std::string& option, const std::string& text);

}  // namespace vmdkit_cli
