// Seeded generator for CIDs and UUIDs (see identity.hpp): splitmix64, whose output depends only on
// the seed, so fixtures and `--seed` runs repeat on every machine.
#include "descriptor/identity.hpp"

#include <cstdio>
#include <random>

namespace vmdk {

Random::Random(std::optional<std::uint64_t> seed) {
  if (seed) {
    state_ = *seed;
  } else {
    std::random_device device;
    state_ = (std::uint64_t{device()} << 32) ^ device();
  }
}

std::uint64_t Random::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint32_t Random::cid() {
  // 0xffffffff means "no parent" and 0xfffffffe is VMware's placeholder: never use either.
  for (;;) {
    auto value = static_cast<std::uint32_t>(next() >> 32);
    if (value < 0xfffffffeu) return value;
  }
}

std::string Random::uuid() {
  std::string out;
  char byte[4];
  std::uint64_t halves[2] = {next(), next()};
  for (int i = 0; i < 16; ++i) {
    auto value = static_cast<unsigned>((halves[i / 8] >> (8 * (i % 8))) & 0xff);
    std::snprintf(byte, sizeof byte, "%02x", value);
    if (i > 0) out += (i == 8) ? '-' : ' ';
    out += byte;
  }
  return out;
}

std::string Random::long_content_id(std::uint32_t cid) {
  char text[40];
  std::uint64_t high = next();
  auto middle = static_cast<std::uint32_t>(next() >> 32);
  std::snprintf(text, sizeof text, "%016llx%08x%08x", static_cast<unsigned long long>(high), middle, cid);
  return text;
}

}  // namespace vmdk
