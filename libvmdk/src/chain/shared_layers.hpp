// Files used by two layers of one chain (a child whose extent line names its parent's file, or
// two deltas over one file): found on open, refused when the chain is to be written.
#pragma once

#include <string>
#include <vector>

#include "vmdk/chain.hpp"

namespace vmdk::chain {

/// Every file (descriptor or extent, by device and inode) that more than one layer uses: one
/// entry per pair of layers, upper layer first. One stat per file per open.
std::vector<SharedLayerFile> find_shared_layer_files(const std::vector<Layer>& layers);

/// "layer 0 (child.vmdk) and layer 1 (parent.vmdk) both use parent.vmdk": one sentence.
std::string describe_shared(const std::vector<Layer>& layers, const SharedLayerFile& shared);

/// For a chain opened for writing: ChainError for the first shared file, FormatError for the
/// first aliased pair of extent lines of any layer.
void refuse_shared_files(const std::vector<Layer>& layers, const std::vector<SharedLayerFile>& shared);

}  // namespace vmdk::chain
