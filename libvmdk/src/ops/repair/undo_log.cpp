// Undo logs of repair: a text line, a JSON manifest line, then the saved bytes in manifest order.
// The manifest lists the saved ranges per file, the grains repair kept, and the state repair left
// the disk in ("state": sizes, range digests, CIDs), which undo checks before writing anything.
#include "ops/repair/undo_log.hpp"

#include <algorithm>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "ops/common/change_lock.hpp"
#include "io/sha256.hpp"
#include "ops/common/temp_file.hpp"
#include "vmdk/disk.hpp"
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

// Every undo log in folder, of any disk.
std::vector<fs::path> all_logs(const fs::path& folder) {
  std::vector<fs::path> logs;
  std::error_code error;
  for (const auto& item : fs::directory_iterator(folder, error)) {
    const std::string name = item.path().filename().string();
    const std::size_t at = name.rfind(".vmdkit-undo-");
    if (name.empty() || name[0] != '.' || at == std::string::npos) continue;
    const std::string number = name.substr(at + 13);
    if (number.empty() || !std::all_of(number.begin(), number.end(), ::isdigit)) continue;
    logs.push_back(item.path());
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

struct Manifest {
  nlohmann::json doc;
  std::uint64_t data_at = 0;  // where the saved bytes start
  std::uint64_t size = 0;     // of the log
};

Manifest read_manifest(const fs::path& log, const File& in) {
  Manifest m;
  m.size = in.size();
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(m.size, kMaxManifest)), '\0');
  head.resize(in.read_at(0, std::span(reinterpret_cast<std::uint8_t*>(head.data()), head.size())));
  const std::size_t line_end = head.find('\n', kMagic.size());
  if (head.rfind(kMagic, 0) != 0 || line_end == std::string::npos) {
    throw FormatError(log.string(), "is not a vmdkit undo log (bad first line or manifest)", 0);
  }
  try {
    m.doc = nlohmann::json::parse(head.substr(kMagic.size(), line_end - kMagic.size()));
  } catch (const nlohmann::json::exception& error) {
    throw FormatError(log.string(), std::string("undo manifest is not valid JSON: ") + error.what(), kMagic.size());
  }
  m.data_at = line_end + 1;
  return m;
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

void UndoLog::record_state(const std::vector<std::pair<fs::path, std::uint32_t>>& cids) {
  for (Saved& saved : files_) {
    const std::uint64_t size = File::open(saved.file)->size();
    saved.size_after = size;
    saved.checks.clear();
    for (const Range& r : saved.ranges) {
      saved.checks.push_back({r.offset, r.bytes.size(), range_digest(saved.file, r.offset, r.bytes.size())});
    }
    // Bytes repair appended: undo cuts them off, so they must be what repair wrote too.
    if (size > saved.size_before) {
      saved.checks.push_back(
          {saved.size_before, size - saved.size_before, range_digest(saved.file, saved.size_before, size - saved.size_before)});
    }
  }
  cids_ = cids;
  state_recorded_ = true;
}

namespace {

nlohmann::json kept_json(const std::vector<KeptGrain>& kept, const fs::path& folder) {
  nlohmann::json out = nlohmann::json::array();
  for (const KeptGrain& k : kept) {
    out.push_back({{"file", stored_name(k.file, folder)},
                   {"offset", k.offset},
                   {"length", k.length},
                   {"disk", stored_name(k.disk, folder)},
                   {"virtual_offset", k.virtual_offset ? nlohmann::json(*k.virtual_offset) : nlohmann::json(nullptr)},
                   {"virtual_length", k.virtual_length},
                   {"reason", k.reason}});
  }
  return out;
}

}  // namespace

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
  manifest["kept"] = kept_json(kept_, folder);
  if (state_recorded_) {
    nlohmann::json files = nlohmann::json::array();
    for (const Saved& saved : files_) {
      nlohmann::json checks = nlohmann::json::array();
      for (const Check& c : saved.checks) {
        checks.push_back({{"offset", c.offset}, {"length", c.length}, {"sha256", c.sha256}});
      }
      files.push_back({{"path", stored_name(saved.file, folder)}, {"size", *saved.size_after}, {"checks", checks}});
    }
    nlohmann::json cids = nlohmann::json::array();
    for (const auto& [disk, cid] : cids_) cids.push_back({{"path", stored_name(disk, folder)}, {"cid", format_cid(cid)}});
    manifest["state"] = {{"files", files}, {"cids", cids}};
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

std::string range_digest(const fs::path& file, std::uint64_t offset, std::uint64_t length) {
  constexpr std::uint64_t kChunk = 1u << 20;
  std::unique_ptr<File> in = File::open(file);
  const std::uint64_t end = std::min(in->size(), offset + length);
  vmdk::Sha256 sha;
  std::vector<std::uint8_t> buffer;
  for (std::uint64_t at = offset; at < end; at += kChunk) {
    buffer.resize(static_cast<std::size_t>(std::min(kChunk, end - at)));
    read_exact(*in, at, buffer, "bytes checked for undo");
    sha.update(buffer);
  }
  return sha.hex_digest();
}

std::vector<KeptGrain> kept_in_logs(const fs::path& folder) {
  std::vector<KeptGrain> kept;
  for (const fs::path& log : all_logs(folder)) {
    try {
      const Manifest m = read_manifest(log, *File::open(log));
      if (!m.doc.contains("kept")) continue;
      for (const auto& k : m.doc.at("kept")) {
        KeptGrain grain;
        grain.file = (folder / k.at("file").get<std::string>()).lexically_normal().string();
        grain.offset = k.at("offset").get<std::uint64_t>();
        grain.length = k.at("length").get<std::uint64_t>();
        grain.disk = (folder / k.at("disk").get<std::string>()).lexically_normal().string();
        if (!k.at("virtual_offset").is_null()) grain.virtual_offset = k.at("virtual_offset").get<std::uint64_t>();
        grain.virtual_length = k.at("virtual_length").get<std::uint64_t>();
        grain.reason = k.at("reason").get<std::string>() + " (kept by the repair logged in " +
                       log.filename().string() + ")";
        kept.push_back(std::move(grain));
      }
    } catch (const Error&) {
      continue;  // a damaged log keeps nothing; undo reports it when it is applied
    } catch (const nlohmann::json::exception&) {
      continue;
    }
  }
  return kept;
}

}  // namespace vmdk::ops

namespace vmdk {

namespace fs = std::filesystem;
using namespace ops::undo_detail;

namespace {

struct UndoStep {
  fs::path file;
  std::uint64_t size_before;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // offset, length
};

std::vector<UndoStep> undo_steps(const ops::undo_detail::Manifest& manifest, const fs::path& log,
                                 const fs::path& folder) {
  std::vector<UndoStep> steps;
  std::uint64_t total = 0;
  try {
    for (const auto& f : manifest.doc.at("files")) {
      UndoStep step{(folder / f.at("path").get<std::string>()).lexically_normal(), f.at("size_before").get<std::uint64_t>(), {}};
      for (const auto& r : f.at("ranges")) {
        const auto offset = r.at("offset").get<std::uint64_t>();
        const auto length = r.at("length").get<std::uint64_t>();
        if (length > manifest.size || total > manifest.size - length) {
          throw FormatError(log.string(), "undo ranges exceed the log");
        }
        total += length;
        step.ranges.emplace_back(offset, length);
      }
      steps.push_back(std::move(step));
    }
  } catch (const nlohmann::json::exception& error) {
    throw FormatError(log.string(), std::string("undo manifest is malformed: ") + error.what(), kMagic.size());
  }
  return steps;
}

// The disk must be exactly as the repair left it: anything written since (a later write, another
// repair, a consolidation) would be overwritten by bytes that no longer fit, corrupting the disk.
void verify_state(const nlohmann::json& state, const fs::path& log, const fs::path& folder) {
  const std::string why = " since the repair that " + log.filename().string() +
                          " undoes; applying it would corrupt the disk, so undo refuses (nothing was written)";
  try {
    for (const auto& f : state.at("files")) {
      const fs::path file = (folder / f.at("path").get<std::string>()).lexically_normal();
      if (!fs::exists(file)) throw UsageError(file.string(), "is gone" + why);
      const std::uint64_t want = f.at("size").get<std::uint64_t>();
      const std::uint64_t now = File::open(file)->size();
      if (now != want) {
        throw UsageError(file.string(), "size changed from " + hex(want) + " to " + hex(now) + " bytes" + why);
      }
      for (const auto& c : f.at("checks")) {
        const auto offset = c.at("offset").get<std::uint64_t>();
        const auto length = c.at("length").get<std::uint64_t>();
        if (ops::range_digest(file, offset, length) != c.at("sha256").get<std::string>()) {
          throw UsageError(file.string(), "bytes " + hex(offset) + "+" + hex(length) + " changed" + why, offset);
        }
      }
    }
    for (const auto& c : state.at("cids")) {
      const fs::path file = (folder / c.at("path").get<std::string>()).lexically_normal();
      OpenOptions open;
      open.allow_missing_extents = true;
      open.allow_damaged_extents = true;
      open.allow_outside_paths = true;
      const std::string now = format_cid(Disk::open(file, open)->descriptor().cid());
      if (now != c.at("cid").get<std::string>()) {
        throw UsageError(file.string(), "CID changed from " + c.at("cid").get<std::string>() + " to " + now + why);
      }
    }
  } catch (const nlohmann::json::exception& error) {
    throw FormatError(log.string(), std::string("undo manifest state is malformed: ") + error.what(), kMagic.size());
  }
}

}  // namespace

UndoReport undo_repair(const fs::path& disk, const UndoOptions& options) {
  const bool dry_run = options.dry_run;
  const bool force = options.force;
  io::LockSet locks = ops::lock_for_repair(disk, options.open, dry_run);
  const auto logs = existing_logs(disk);
  if (logs.empty()) {
    throw UsageError(disk.string(), "no undo log of a repair beside it (looked for " +
                                        (folder_of(disk) / (log_prefix(disk) + "N")).string() + ")");
  }
  const fs::path log = logs.back().second;
  const fs::path folder = folder_of(log);
  std::unique_ptr<File> in = File::open(log);
  const ops::undo_detail::Manifest manifest = ops::undo_detail::read_manifest(log, *in);
  const std::uint64_t size = manifest.size;
  const std::vector<UndoStep> steps = undo_steps(manifest, log, folder);
  UndoReport report;
  report.log = log.string();
  report.dry_run = dry_run;
  if (manifest.doc.contains("state")) {
    verify_state(manifest.doc.at("state"), log, folder);
    report.state_verified = true;
  } else if (!force) {
    throw UsageError(log.string(),
                     "this undo log records no state of the disk it applies to (it was written by an older vmdkit), "
                     "so undo cannot tell whether the disk changed since the repair; pass --force to apply it anyway");
  }
  std::uint64_t data_at = manifest.data_at;
  std::uint64_t data_total = 0;
  for (const UndoStep& step : steps) {
    for (const auto& r : step.ranges) data_total += r.second;
  }
  if (data_at + data_total != size) {
    throw FormatError(log.string(), "undo log holds " + hex(size - data_at) + " bytes of saved data, its manifest lists " +
                                        hex(data_total));
  }
  // Ranges of one file are written back last saved first, so the earliest copy of a byte wins.
  std::vector<std::uint64_t> starts;
  for (const UndoStep& step : steps) {
    starts.push_back(data_at);
    for (const auto& r : step.ranges) data_at += r.second;
  }
  for (std::size_t s = steps.size(); s-- > 0;) {
    const UndoStep& step = steps[s];
    report.files.push_back(step.file.string());
    std::unique_ptr<File> out = dry_run ? nullptr : File::open(step.file, File::Mode::read_write);
    std::uint64_t at = starts[s];
    std::vector<std::uint64_t> offsets;
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
