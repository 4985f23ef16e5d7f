// Overflow-checked arithmetic for values read from files: every size and offset goes through these
// before it is used to allocate, divide or seek (DESIGN.md safety rules).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

namespace vmdk {

/// a + b, or nullopt when it does not fit in 64 bits.
constexpr std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) {
  if (a > std::numeric_limits<std::uint64_t>::max() - b) return std::nullopt;
  return a + b;
}

/// a * b, or nullopt when it does not fit in 64 bits.
constexpr std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::nullopt;
  return a * b;
}

/// ceil(a / b) without overflow; b must be non-zero.
constexpr std::uint64_t div_round_up(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

/// a rounded up to a multiple of b (b non-zero), or nullopt on overflow.
constexpr std::optional<std::uint64_t> round_up(std::uint64_t a, std::uint64_t b) {
  return checked_mul(div_round_up(a, b), b);
}

constexpr bool is_power_of_two(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace vmdk
