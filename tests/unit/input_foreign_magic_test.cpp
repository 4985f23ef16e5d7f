// extent::foreign_image_format: the magics of qcow/qcow2, QED, VDI, VHD and VHDX, in memory, and
// nothing for VMDK bytes, zeros or a near miss.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "extent/foreign_magic.hpp"
#include "vmdk/io.hpp"

namespace {

using vmdk::MemoryFile;
using vmdk::extent::foreign_image_format;

// size bytes of zeros with text written at offset.
MemoryFile foreign_test_image(std::size_t size, std::size_t offset, const std::string& text) {
  std::vector<std::uint8_t> bytes(size);
  std::memcpy(bytes.data() + offset, text.data(), text.size());
  return MemoryFile("x", std::move(bytes));
}

}  // namespace

TEST_CASE("other image formats are named by their magic", "[format]") {
  CHECK(foreign_image_format(foreign_test_image(4096, 0, std::string("QFI\xfb\0\0\0\3", 8))) == "qcow2");
  CHECK(foreign_image_format(foreign_test_image(4096, 0, std::string("QFI\xfb\0\0\0\2", 8))) == "qcow2");
  CHECK(foreign_image_format(foreign_test_image(4096, 0, std::string("QFI\xfb\0\0\0\1", 8))) == "qcow");
  CHECK(foreign_image_format(foreign_test_image(4096, 0, std::string("QED\0", 4))) == "QED");
  CHECK(foreign_image_format(foreign_test_image(4096, 0x40, "\x7f\x10\xda\xbe")) == "VDI (VirtualBox)");
  CHECK(foreign_image_format(foreign_test_image(4096, 0, "vhdxfile")) == "VHDX");
  CHECK(foreign_image_format(foreign_test_image(4096, 0, "conectix")) == "VHD");
  CHECK(foreign_image_format(foreign_test_image(1 << 20, (1 << 20) - 512, "conectix")) == "VHD");  // a fixed VHD
  CHECK(foreign_image_format(foreign_test_image(1 << 20, (1 << 20) - 511, "conectix")) == "VHD");  // an old 511-byte footer
}

TEST_CASE("VMDK bytes, zeros and near misses are no foreign format", "[format]") {
  CHECK_FALSE(foreign_image_format(foreign_test_image(4096, 0, "KDMV")));
  CHECK_FALSE(foreign_image_format(foreign_test_image(4096, 0, "# Disk DescriptorFile\n")));
  CHECK_FALSE(foreign_image_format(foreign_test_image(4096, 0, "")));
  CHECK_FALSE(foreign_image_format(MemoryFile("empty")));
  CHECK_FALSE(foreign_image_format(foreign_test_image(4096, 0, "QFI")));
  CHECK_FALSE(foreign_image_format(foreign_test_image(4096, 0x41, "\x7f\x10\xda\xbe")));
  CHECK_FALSE(foreign_image_format(foreign_test_image(4096, 100, "conectix")));
  CHECK_FALSE(foreign_image_format(foreign_test_image(4096, 0, "vhdxfil")));
}
