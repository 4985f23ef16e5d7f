// The identities a descriptor carries (vmdk-format.md 1.7, 1.10): the generator behind CIDs, UUIDs
// and long content IDs of new and changed disks. Seeded (`--seed`, fixtures) runs repeat byte for
// byte; unseeded runs draw their seed from the operating system.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vmdk {

class Random {
 public:
  /// A seeded generator, or one seeded from std::random_device when seed is empty.
  explicit Random(std::optional<std::uint64_t> seed);
  std::uint64_t next();  ///< splitmix64
  /// A CID for a new or modified disk: never 0xffffffff or 0xfffffffe (vmdk-format.md 1.10).
  std::uint32_t cid();
  /// ddb.uuid text: 16 bytes as lowercase hex pairs, "-" between bytes 8 and 9 (1.7).
  std::string uuid();
  /// ddb.longContentID: 24 random hex digits followed by the CID (open-vmdk's convention).
  std::string long_content_id(std::uint32_t cid);

 private:
  std::uint64_t state_;
};

}  // namespace vmdk
