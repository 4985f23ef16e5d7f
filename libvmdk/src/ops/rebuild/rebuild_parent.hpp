// The chain side of descriptor rebuilding (vmdk-format.md 1.10, 6.2, 6.5): the disks around the
// lost descriptor, the children that already name it (they know its CID), and a delta's parent
// chosen by option, CID, naming convention or capacity, never by a guess between equals.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ops/rebuild/parent_search.hpp"
#include "ops/rebuild/rebuild_extents.hpp"
#include "vmdk/disk.hpp"

namespace vmdk::ops::rebuild {

struct Neighbourhood {
  std::filesystem::path dest;                   ///< the descriptor being rebuilt
  std::vector<std::filesystem::path> folders;   ///< scanned, in order
  DiskScan scan;                                ///< the disks found there, dest itself left out
  std::vector<ParentCandidate> children;        ///< disks whose parent hint names dest, by path
  std::set<std::filesystem::path> descendants;  ///< the children and every disk below them
};

/// Scans folders (see scan_disks) and finds dest's children and descendants by their hints.
Neighbourhood scan_neighbourhood(const std::filesystem::path& dest,
                                 const std::vector<std::filesystem::path>& folders, const OpenOptions& open);

struct ParentChoice {
  std::filesystem::path path;
  std::uint32_t cid = 0;
  std::string source;  ///< "option", "cid", "name", "capacity" (RebuildReport::parent_source)
  std::string reason;
};

/// The parent named by the user: opened with allow_missing_extents; its capacity must equal
/// capacity (bytes) and its CID parent_cid when given. Throws ChainError (capacity, CID, a parent
/// whose chain runs through dest), FormatError (no CID), and what Disk::open throws.
ParentChoice given_parent(const Neighbourhood& around, const std::filesystem::path& parent,
                          std::uint64_t capacity, std::optional<std::uint32_t> parent_cid,
                          const OpenOptions& open);

/// Among the scanned disks of the same capacity that are not descendants: the one with parent_cid
/// when given, then the one named NAME-(N-1) for a NAME-N delta, then NAME, then the only one.
/// Throws ChainError listing the candidates when two are equally good, or when there is none.
ParentChoice search_parent(const Neighbourhood& around, const ExtentName& name, std::uint64_t capacity,
                           std::optional<std::uint32_t> parent_cid);

}  // namespace vmdk::ops::rebuild
