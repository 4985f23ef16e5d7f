// New empty COWD extents (vmdk-format.md 4.2.1, 4.2.2): header, then a zeroed grain directory
// whose end is the first free sector; tables and grains are appended on demand later.
#include "extent/cowd/cowd_writer.hpp"

#include <algorithm>
#include <vector>

#include "io/checked_math.hpp"
#include "format/cowd_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::cowd {

namespace {


class CowdWriter final : public ExtentWriter {
 public:
  CowdWriter(std::shared_ptr<ByteSink> file, std::uint64_t capacity_bytes)
      : file_(std::move(file)), capacity_(capacity_bytes) {
    if (capacity_ == 0 || capacity_ % format::kSectorSize != 0 || capacity_ / format::kSectorSize > 0xffffffffull) {
      throw UsageError(file_->name(),
                       "a vmfsSparse (COWD) delta holds a positive multiple of 512 bytes below "
                       "2 TiB (numSectors is 32-bit); got " +
                           std::to_string(capacity_));
    }
    header_.num_sectors = static_cast<std::uint32_t>(capacity_ / format::kSectorSize);
    header_.grain_size = 1;  // what ESXi writes (4.2.1)
    header_.gd_offset = 4;
    const std::uint64_t coverage = std::uint64_t{header_.grain_size} * format::kCowdGtes;
    header_.num_gd_entries = static_cast<std::uint32_t>(vmdk::div_round_up(header_.num_sectors, coverage));
    gd_sectors_ = vmdk::div_round_up(std::uint64_t{header_.num_gd_entries} * 4, format::kSectorSize);
    header_.free_sector = static_cast<std::uint32_t>(header_.gd_offset + gd_sectors_);
  }

  std::uint64_t size() const override { return capacity_; }

  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (offset + data.size() > capacity_) {
      throw UsageError(file_->name(), "write past the end of the COWD extent (" + hex(offset + data.size()) +
                                          " > " + hex(capacity_) + ")");
    }
    if (std::any_of(data.begin(), data.end(), [](std::uint8_t b) { return b != 0; })) {
      throw UnsupportedError(file_->name(),
                             "a new vmfsSparse delta is created empty; write data through it "
                             "afterwards (vmdkit write)",
                             offset);
    }
  }

  void finish() override {
    if (finished_) return;
    // The directory is written as zeros first, the header last: a file without its magic is
    // never taken for a delta, and the file is renamed into place only after this anyway.
    std::vector<std::uint8_t> gd(static_cast<std::size_t>(gd_sectors_ * format::kSectorSize), 0);
    file_->write_at(std::uint64_t{header_.gd_offset} * format::kSectorSize, gd);
    const auto header = format::encode_cowd_header(header_);
    file_->write_at(0, header);
    file_->flush();
    finished_ = true;
  }

  std::uint64_t file_bytes() const override { return std::uint64_t{header_.free_sector} * format::kSectorSize; }

 private:
  std::shared_ptr<ByteSink> file_;
  std::uint64_t capacity_;
  format::CowdHeader header_;
  std::uint64_t gd_sectors_ = 0;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<ExtentWriter> make_cowd_writer(std::shared_ptr<ByteSink> file, std::uint64_t capacity_bytes) {
  return std::make_unique<CowdWriter>(std::move(file), capacity_bytes);
}

}  // namespace vmdk::cowd
