// The inside of vmdk::Chain, shared by resolution (resolve.cpp) and reading (chain_read.cpp).
#pragma once

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

}  // namespace vmdk
