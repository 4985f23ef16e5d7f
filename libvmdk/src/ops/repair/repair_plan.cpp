// Saving and applying a repair plan (crash-safe write order, DESIGN.md safety rules).
#include "ops/repair/repair_plan.hpp"

#include <map>
#include <memory>

#include "vmdk/io.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

void save_for_undo(const RepairPlan& plan, UndoLog& log) {
  for (const auto* writes : {&plan.data, &plan.metadata, &plan.headers}) {
    for (const PlannedWrite& w : *writes) log.save(w.file, w.offset, w.bytes.size());
  }
  for (const auto& [file, size] : plan.truncations) log.save(file, size, UINT64_MAX - size);
  for (const PlannedDescriptor& d : plan.descriptors) {
    if (d.home.embedded) {
      log.save(d.home.file, d.home.offset, d.home.capacity);
    } else {
      log.save_whole(d.home.file);
    }
  }
}

namespace {

class Files {
 public:
  File& get(const fs::path& path) {
    auto it = open_.find(path);
    if (it == open_.end()) it = open_.emplace(path, File::open(path, File::Mode::read_write)).first;
    return *it->second;
  }
  void sync() {
    for (auto& [path, file] : open_) file->flush();
  }

 private:
  std::map<fs::path, std::unique_ptr<File>> open_;
};

void write_all(Files& files, const std::vector<PlannedWrite>& writes) {
  for (const PlannedWrite& w : writes) files.get(w.file).write_at(w.offset, w.bytes);
}

}  // namespace

void apply_plan(const RepairPlan& plan) {
  Files files;
  write_all(files, plan.data);
  files.sync();
  write_all(files, plan.metadata);
  files.sync();
  for (const auto& [file, size] : plan.truncations) files.get(file).resize(size);
  files.sync();
  write_all(files, plan.headers);
  files.sync();
  for (const PlannedDescriptor& d : plan.descriptors) store_descriptor(d.home, d.text);
}

}  // namespace vmdk::ops
