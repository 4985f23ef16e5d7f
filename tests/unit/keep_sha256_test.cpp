// Unit tests of format/sha256 (the digest undo logs keep): FIPS 180-4 test vectors, and the same
// digest whatever the split of the message into update() calls.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "io/sha256.hpp"

namespace {

std::string digest_of(const std::string& text, std::size_t piece) {
  vmdk::Sha256 sha;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  for (std::size_t at = 0; at < text.size(); at += piece) {
    sha.update(std::span(bytes + at, std::min(piece, text.size() - at)));
  }
  return sha.hex_digest();
}

}  // namespace

TEST_CASE("sha256 gives the FIPS 180-4 digests", "[sha256]") {
  CHECK(digest_of("", 1) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(digest_of("abc", 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(digest_of(two_blocks, two_blocks.size()) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  CHECK(digest_of(million, million.size()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 does not depend on how the message is split", "[sha256]") {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>(i * 7 + 3);
  const std::string whole = digest_of(text, text.size());
  for (std::size_t piece : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 127u, 500u}) CHECK(digest_of(text, piece) == whole);
}
