// Fixture building (DESIGN.md "ops", vmdk-format.md 8): a JSON spec describes disks, snapshot
// layers with their writes, and optional damage; the same spec always gives byte-identical files.
// The schema is documented in docs/fixture-spec.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vmdk/disk_type.hpp"

namespace vmdk {

struct FixtureOptions {
  bool overwrite = false;  ///< replace files of the same names in the output folder
  /// synced (--sync): the files create and convert build are fsynced before their renames, and
  /// the output folder after the files move into it. Snapshot layers and writes into the staged
  /// disks keep their own ordered fsyncs either way.
  Durability durability = Durability::page_cache;
};

struct FixtureFile {
  std::string name;  ///< relative to the output folder
  std::uint64_t size = 0;
};

struct FixtureReport {
  std::string spec;
  std::string output;
  std::vector<FixtureFile> files;  ///< every file built, in build order
};

/// Builds the disks of spec into out_dir (created when missing). Throws UsageError for a spec that
/// does not follow the schema (naming the JSON path, e.g. `disks[0].layers[2].writes[1].offset`),
/// and whatever the underlying create/snapshot/write operations throw.
FixtureReport build_fixture(const std::filesystem::path& spec, const std::filesystem::path& out_dir,
                            const FixtureOptions& options = {});

}  // namespace vmdk
