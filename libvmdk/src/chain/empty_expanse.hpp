// Empty expanses of a chain (DESIGN.md "Cost is bounded by the input"): where no layer holds data
// (each layer unallocated down to a zero run, a ZERO extent or the bottom), the chain map is one
// range however large, found with one block status per layer instead of one resolved window per
// 32 MiB (a 200-byte descriptor may claim 2^63 bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "vmdk/chain.hpp"

namespace vmdk::chain {

struct Expanse {
  std::uint64_t length = 0;  ///< 0: some layer has data at the probed offset
  BlockState state = BlockState::unallocated;
  std::uint32_t depth = 0;  ///< the layer whose zeros answer, or the bottom layer when unallocated
};

/// Probes expanses at increasing offsets of one walk over the chain. Each layer's last answer is
/// kept, so a layer that is empty over a long range is asked once for it, not once per probe.
class ExpanseProbe {
 public:
  explicit ExpanseProbe(const std::vector<Layer>& layers) : layers_(layers), known_(layers.size()) {}

  /// The expanse that starts at pos and ends at most at end (pos < end <= capacity).
  Expanse at(std::uint64_t pos, std::uint64_t end);

 private:
  DiskRun status(std::size_t depth, std::uint64_t pos, std::uint64_t end);

  const std::vector<Layer>& layers_;
  std::vector<std::optional<DiskRun>> known_;
};

}  // namespace vmdk::chain
