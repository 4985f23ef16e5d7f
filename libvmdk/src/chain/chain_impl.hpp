// The inside of vmdk::Chain, shared by resolution (resolve.cpp) and reading (chain_read.cpp).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chain/window_map.hpp"
#include "vmdk/chain.hpp"

namespace vmdk {

struct Chain::Impl {
  std::shared_ptr<void> locks;  // first member: released after everything else is closed
  std::vector<Layer> layers;
  std::vector<std::string> warnings;
  std::uint64_t capacity = 0;
  std::vector<SharedLayerFile> shared;  // files two layers use (shared_layers.cpp)
  // Built once the layers are final: it keeps a reference to them.
  std::unique_ptr<chain::WindowCache> cache;
};

namespace chain {

/// Called around every layer's Disk::open while a chain is resolved: before, with the path about
/// to be opened, and after, with the disk opened from it. Chain::open_locked locks each layer's
/// file before it is read (chain_lock.cpp) instead of opening the whole chain twice.
struct LayerOpenHooks {
  std::function<void(const std::filesystem::path&)> before_open;
  std::function<void(const Disk&)> after_open;
};

/// Resolves leaf's layers from the leaf down (resolve.cpp), calling hooks around each open.
void build_layers(const std::filesystem::path& leaf, const ChainOptions& options, const LayerOpenHooks& hooks,
                  std::vector<Layer>& layers, std::vector<std::string>& warnings);

}  // namespace chain

}  // namespace vmdk
