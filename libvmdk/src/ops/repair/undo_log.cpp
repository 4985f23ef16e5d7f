// Undo logs of repair: a text line, a JSON manifest line, then the saved bytes in manifest order.
#include "ops/repair/undo_log.hpp"

#include <algorithm>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "ops/change_lock.hpp"
#include "ops/temp_file.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

namespace undo_detail {

constexpr std::string_view kMagic = "vmdkit-undo 1\n";
constexpr std::uint64_t kMaxManifest = 64u << 20;

std::string log_prefix(const fs::path& disk) { return "." + disk.filename().string() + ".vmdkit-undo-"; }

fs::path folder_of(const fs::path& disk) {
  fs::path folder = disk.parent_path();
  return folder.empty() ? fs::path(".") : folder;
}

// Generations of the logs beside disk, ascending.
std::vector<std::pair<unsigned long, fs::path>> existing_logs(const fs::path& disk) {
  std::vector<std::pair<unsigned long, fs::path>> logs;
  const std::string prefix = log_prefix(disk);
  std::error_code error;
  for (const auto& item : fs::directory_iterator(folder_of(disk), error)) {
    const std::string name = item.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string number = name.substr(prefix.size());
    if (number.empty() || number.size() > 9 || !std::all_of(number.begin(), number.end(), ::isdigit)) continue;
    logs.emplace_back(std::stoul(number), item.path());
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

// Paths are stored relative to the log's folder so that a moved folder keeps its logs usable.
std::string stored_name(const fs::path& file, const fs::path& folder) {
  const fs::path relative = fs::absolute(file).lexically_normal().lexically_relative(fs::absolute(folder).lexically_normal());
  return relative.empty() ? fs::absolute(file).string() : relative.string();
}

}  // namespace undo_detail

using namespace undo_detail;

UndoLog::UndoLog(const fs::path& disk) {
  const auto logs = existing_logs(disk);
  const unsigned long next = logs.empty() ? 1 : logs.back().first + 1;
  path_ = disk.parent_path() / (log_prefix(disk) + std::to_string(next));
}

UndoLog::Saved& UndoLog::entry(const fs::path& file) {
  for (Saved& saved : files_) {
    if (saved.file == file) return saved;
  }
  Saved saved;
  saved.file = file;
  saved.size_before = File::open(file)->size();
  files_.push_back(std::move(saved));
  return files_.back();
}

void UndoLog::save(const fs::path& file, std::uint64_t offset, std::uint64_t length) {
  Saved& saved = entry(file);
  const std::uint64_t end = std::min(saved.size_before, offset + length);
  if (offset >= end) return;  // past the first-seen end: undo cuts it off
  Range range{offset, std::vector<std::uint8_t>(static_cast<std::size_t>(end - offset))};
  read_exact(*File::open(file), offset, range.bytes, "bytes saved for undo");
  saved.ranges.push_back(std::move(range));
}

void UndoLog::save_whole(const fs::path& file) { save(file, 0, File::open(file)->size()); }

std::uint64_t UndoLog::saved_bytes() const {
  std::uint64_t total = 0;
  for (const Saved& saved : files_) {
    for (const Range& r : saved.ranges) total += r.bytes.size();
  }
  return total;
}

void UndoLog::commit() {
  const fs::path folder = folder_of(path_);
  nlohmann::json manifest;
  manifest["files"] = nlohmann::json::array();
  for (const Saved& saved : files_) {
    nlohmann::json ranges = nlohmann::json::array();
    for (const Range& r : saved.ranges) ranges.push_back({{"offset", r.offset}, {"length", r.bytes.size()}});
    manifest["files"].push_back(
        {{"path", stored_name(saved.file, folder)}, {"size_before", saved.size_before}, {"ranges", ranges}});
  }
  const std::string head = std::string(kMagic) + manifest.dump() + "\n";
  TempFile temp(path_);
  {
    std::unique_ptr<File> out = File::open(temp.temp(), File::Mode::create_truncate);
    std::uint64_t at = 0;
    out->write_at(at, std::span(reinterpret_cast<const std::uint8_t*>(head.data()), head.size()));
    at += head.size();
    for (const Saved& saved : files_) {
      for (const Range& r : saved.ranges) {
        out->write_at(at, r.bytes);
        at += r.bytes.size();
      }
    }
    out->flush();
  }
  temp.rename_into_place();
  sync_folder(folder);
}

}  // namespace vmdk::ops

namespace vmdk {

namespace fs = std::filesystem;
using namespace ops::undo_detail;

UndoReport undo_repair(const fs::path& disk, bool dry_run) {
  io::LockSet locks = ops::lock_for_repair(disk, OpenOptions{}, dry_run);
  const auto logs = existing_logs(disk);
  if (logs.empty()) {
    throw UsageError(disk.string(), "no undo log of a repair beside it (looked for " +
                                        (folder_of(disk) / (log_prefix(disk) + "N")).string() + ")");
  }
  const fs::path log = logs.back().second;
  const fs::path folder = folder_of(log);
  std::unique_ptr<File> in = File::open(log);
  const std::uint64_t size = in->size();
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(size, kMaxManifest)), '\0');
  head.resize(in->read_at(0, std::span(reinterpret_cast<std::uint8_t*>(head.data()), head.size())));
  const std::size_t line_end = head.find('\n', kMagic.size());
  if (head.rfind(kMagic, 0) != 0 || line_end == std::string::npos) {
    throw FormatError(log.string(), "is not a vmdkit undo log (bad first line or manifest)", 0);
  }
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(head.substr(kMagic.size(), line_end - kMagic.size()));
  } catch (const nlohmann::json::exception& error) {
    throw FormatError(log.string(), std::string("undo manifest is not valid JSON: ") + error.what(), kMagic.size());
  }
  struct Step {
    fs::path file;
    std::uint64_t size_before;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // offset, length
  };
  std::vector<Step> steps;
  std::uint64_t data_at = line_end + 1;
  std::uint64_t data_total = 0;
  try {
    for (const auto& f : manifest.at("files")) {
      Step step{folder / f.at("path").get<std::string>(), f.at("size_before").get<std::uint64_t>(), {}};
      for (const auto& r : f.at("ranges")) {
        const auto offset = r.at("offset").get<std::uint64_t>();
        const auto length = r.at("length").get<std::uint64_t>();
        if (length > size || data_total > size - length) throw FormatError(log.string(), "undo ranges exceed the log");
        data_total += length;
        step.ranges.emplace_back(offset, length);
      }
      steps.push_back(std::move(step));
    }
  } catch (const nlohmann::json::exception& error) {
    throw FormatError(log.string(), std::string("undo manifest is malformed: ") + error.what(), kMagic.size());
  }
  if (data_at + data_total != size) {
    throw FormatError(log.string(), "undo log holds " + hex(size - data_at) + " bytes of saved data, its manifest lists " +
                                        hex(data_total));
  }
  UndoReport report;
  report.log = log.string();
  report.dry_run = dry_run;
  // Ranges of one file are written back last saved first, so the earliest copy of a byte wins.
  std::vector<std::uint64_t> starts;
  for (const Step& step : steps) {
    starts.push_back(data_at);
    for (const auto& r : step.ranges) data_at += r.second;
  }
  for (std::size_t s = steps.size(); s-- > 0;) {
    const Step& step = steps[s];
    report.files.push_back(step.file.string());
    std::unique_ptr<File> out = dry_run ? nullptr : File::open(step.file, File::Mode::read_write);
    std::vector<std::uint64_t> offsets;
    std::uint64_t at = starts[s];
    for (const auto& r : step.ranges) {
      offsets.push_back(at);
      at += r.second;
    }
    for (std::size_t k = step.ranges.size(); k-- > 0;) {
      std::vector<std::uint8_t> bytes(static_cast<std::size_t>(step.ranges[k].second));
      read_exact(*in, offsets[k], bytes, "undo data");
      if (out) out->write_at(step.ranges[k].first, bytes);
      report.bytes += bytes.size();
    }
    if (out) {
      out->resize(step.size_before);
      out->flush();
    }
  }
  if (!dry_run) {
    fs::remove(log);
    ops::sync_folder(folder);
  }
  return report;
}

}  // namespace vmdk
