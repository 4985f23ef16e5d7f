// Which files of a chain are locked how (DESIGN.md safety rules, locks): every layer's descriptor
// and extent files, exclusive for the layers an operation changes, shared for the rest.
#pragma once

#include <cstddef>
#include <filesystem>
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

/// Locks path's chain for a change before the operation opens it: exclusive on the files of the
/// first exclusive_layers layers, shared on the rest; waits as options.open.lock says. The chain is
/// planned with options (report_broken lets a broken chain lock the layers that open).
/// Throws LockError, or what Chain::open throws.
io::LockSet lock_chain(const std::filesystem::path& path, const ChainOptions& options, std::size_t exclusive_layers);

/// Shared locks on the files of the one disk at path (parents not followed), for `info`.
io::LockSet lock_disk(const std::filesystem::path& path, const OpenOptions& options);

/// "<file>.lck: a VMware product may have <file> open ..." for every file with a lock folder.
std::vector<std::string> lock_folder_warnings(const std::vector<std::filesystem::path>& files);

}  // namespace vmdk::chain
