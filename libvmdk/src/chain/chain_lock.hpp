// Which files of a chain are locked how (DESIGN.md safety rules, locks): every layer's descriptor
// and extent files, exclusive for the layers an operation changes, shared for the rest.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <vector>

#include "io/lock.hpp"
#include "vmdk/chain.hpp"

namespace vmdk::chain {

/// The descriptor file and every extent file of disk that exists (each once).
std::vector<std::filesystem::path> disk_files(const Disk& disk);

/// Requests for every file of chain's layers: exclusive for the first exclusive_layers layers
/// (from the leaf), shared for the others.
std::vector<io::LockRequest> chain_requests(const Chain& chain, std::size_t exclusive_layers);

/// A copy of options that opens without taking locks (for planning which locks to take).
ChainOptions without_locks(ChainOptions options);

/// A chain and the locks it was opened under (held as long as this lives).
struct LockedChain {
  io::LockSet locks;
  std::unique_ptr<Chain> chain;
};

/// Opens path's chain for a change: exclusive locks on the files of the first exclusive_layers
/// layers, shared on the rest, waiting as options.open.lock says; the chain returned is the one
/// opened under the locks (the plan's last run), so the operation need not open it again. Without
/// locks (options.open.lock.enabled false) the chain is opened as Chain::open does.
/// Throws LockError, or what Chain::open throws.
LockedChain lock_chain(const std::filesystem::path& path, const ChainOptions& options, std::size_t exclusive_layers);

/// Shared locks on the files of the one disk at path (parents not followed), for `info`.
io::LockSet lock_disk(const std::filesystem::path& path, const OpenOptions& options);

/// "<file>.lck: a VMware product may have <file> open ..." for every file with a lock folder.
std::vector<std::string> lock_folder_warnings(const std::vector<std::filesystem::path>& files);

}  // namespace vmdk::chain
