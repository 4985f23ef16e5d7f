// Salvage of kept grains: plain copies of their bytes, named after the source file and offset,
// written by temporary name and rename so that a file in DIR is always whole.
#include "ops/repair/salvage_kept.hpp"


#include "ops/common/temp_file.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> read_kept(const KeptGrain& k) {
  std::unique_ptr<File> in = File::open(k.file);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(k.length));
  read_exact(*in, k.offset, bytes, "kept grain");
  return bytes;
}

bool holds(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  std::unique_ptr<File> in = File::open(file);
  if (in->size() != bytes.size()) return false;
  std::vector<std::uint8_t> now(bytes.size());
  read_exact(*in, 0, now, "salvaged grain");
  return now == bytes;
}

// The first name that is free or already holds bytes; never one holding something else.
fs::path salvage_name(const fs::path& dir, const KeptGrain& k, const std::vector<std::uint8_t>& bytes,
                      bool& exists) {
  const std::string stem = fs::path(k.file).filename().string() + "@" + hex(k.offset);
  for (int n = 1;; ++n) {
    const fs::path name = dir / (stem + (n == 1 ? "" : "-" + std::to_string(n)) + ".grain");
    std::error_code error;
    exists = fs::exists(name, error);
    if (!exists || holds(name, bytes)) return name;
  }
}

}  // namespace

void salvage_kept(std::vector<KeptGrain>& kept, const fs::path& dir, bool dry_run, Durability durability) {
  if (kept.empty()) return;
  if (!dry_run) {
    std::error_code error;
    fs::create_directories(dir, error);
    if (error || !fs::is_directory(dir)) {
      throw IoError(dir.string(), "cannot create the salvage folder: " + error.message());
    }
  }
  for (KeptGrain& k : kept) {
    const std::vector<std::uint8_t> bytes = read_kept(k);
    bool exists = false;
    const fs::path name = dry_run && !fs::is_directory(dir) ? dir / (fs::path(k.file).filename().string() + "@" +
                                                                    hex(k.offset) + ".grain")
                                                            : salvage_name(dir, k, bytes, exists);
    if (!dry_run && !exists) {
      TempFile temp(name);
      {
        std::unique_ptr<File> out = File::open(temp.temp(), File::Mode::create_truncate);
        out->write_at(0, bytes);
        if (durability == Durability::synced) out->flush();
      }
      temp.rename_into_place();
    }
    k.salvaged.push_back(name.string());
  }
  if (!dry_run) sync_folder(dir, durability);
}

}  // namespace vmdk::ops
