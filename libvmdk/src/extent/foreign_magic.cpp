// Magics of other image formats, as their specifications give them:
//   qcow, qcow2  "QFI\xfb" at 0, then a big-endian version (1: qcow, 2 and 3: qcow2)
//   QED          "QED\0" at 0 (0x00444551 little-endian)
//   VDI          signature 0xbeda107f, little-endian, at 0x40 (after the 64-byte text banner)
//   VHDX         "vhdxfile" at 0 (the file type identifier)
//   VHD          footer cookie "conectix" in the last 512 bytes (fixed disks; 511 for some old
//                producers) or at 0 (the footer copy that starts dynamic and differencing disks)
#include "extent/foreign_magic.hpp"

#include <array>
#include <cstring>

namespace vmdk::extent {

namespace {

bool foreign_magic_at(std::span<const std::uint8_t> bytes, std::size_t offset, const char* magic,
              std::size_t length) {
  return bytes.size() >= offset + length && std::memcmp(bytes.data() + offset, magic, length) == 0;
}

bool foreign_vhd_footer_at_end(const ByteSource& source) {
  const std::uint64_t size = source.size();
  for (std::uint64_t footer : {std::uint64_t{512}, std::uint64_t{511}}) {
    if (size < footer) continue;
    std::array<std::uint8_t, 8> cookie{};
    if (source.read_at(size - footer, cookie) == cookie.size() &&
        std::memcmp(cookie.data(), "conectix", 8) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> foreign_image_format(const ByteSource& source) {
  std::array<std::uint8_t, 512> head{};
  const std::size_t got = source.read_at(0, head);
  const auto bytes = std::span<const std::uint8_t>(head.data(), got);
  if (foreign_magic_at(bytes, 0, "QFI\xfb", 4)) {
    const bool version1 = got >= 8 && bytes[4] == 0 && bytes[5] == 0 && bytes[6] == 0 && bytes[7] == 1;
    return version1 ? "qcow" : "qcow2";
  }
  if (foreign_magic_at(bytes, 0, "QED\0", 4)) return "QED";
  if (foreign_magic_at(bytes, 0x40, "\x7f\x10\xda\xbe", 4)) return "VDI (VirtualBox)";
  if (foreign_magic_at(bytes, 0, "vhdxfile", 8)) return "VHDX";
  if (foreign_magic_at(bytes, 0, "conectix", 8) || foreign_vhd_footer_at_end(source)) return "VHD";
  return std::nullopt;
}

}  // namespace vmdk::extent
