// find_shared_layer_files: the identities of every layer's files, compared across layers.
#include "chain/shared_layers.hpp"

#include <algorithm>
#include <optional>

#include "disk/path_confine.hpp"
#include "disk/shared_files.hpp"
#include "vmdk/error.hpp"

namespace vmdk::chain {

namespace {

struct LayerFile {
  paths::FileId id;
  std::size_t layer = 0;
  std::string name;
};

// The descriptor and extent files of one layer, each once (a monolithic file is both).
void add_layer_files(const Layer& layer, std::size_t index, std::vector<LayerFile>& out) {
  const std::size_t first = out.size();
  auto add = [&](const std::filesystem::path& path) {
    if (path.empty()) return;
    const std::optional<paths::FileId> id = paths::file_id(path);
    if (!id) return;
    for (std::size_t i = first; i < out.size(); ++i) {
      if (out[i].id == *id) return;
    }
    out.push_back({*id, index, path.string()});
  };
  add(layer.disk->path());
  for (const ExtentSlot& slot : layer.disk->extents()) add(slot.path);
}

}  // namespace

std::vector<SharedLayerFile> find_shared_layer_files(const std::vector<Layer>& layers) {
  std::vector<LayerFile> files;
  for (std::size_t i = 0; i < layers.size(); ++i) add_layer_files(layers[i], i, files);
  std::stable_sort(files.begin(), files.end(), [](const LayerFile& a, const LayerFile& b) { return a.id < b.id; });
  std::vector<SharedLayerFile> shared;
  for (std::size_t i = 0; i < files.size(); ++i) {
    for (std::size_t j = i + 1; j < files.size() && files[j].id == files[i].id; ++j) {
      shared.push_back({files[i].layer, files[j].layer, files[i].name});
    }
  }
  std::sort(shared.begin(), shared.end(), [](const SharedLayerFile& a, const SharedLayerFile& b) {
    return a.upper != b.upper ? a.upper < b.upper : a.lower < b.lower;
  });
  return shared;
}

std::string describe_shared(const std::vector<Layer>& layers, const SharedLayerFile& shared) {
  auto name = [&](std::size_t index) {
    return "layer " + std::to_string(index) + " (" + layers[index].disk->path().string() + ")";
  };
  return name(shared.upper) + " and " + name(shared.lower) + " both use the file " + shared.file +
         ": a write into one layer would change the other";
}

void refuse_shared_files(const std::vector<Layer>& layers, const std::vector<SharedLayerFile>& shared) {
  if (!shared.empty()) {
    throw ChainError(layers[shared.front().upper].disk->path().string(),
                     describe_shared(layers, shared.front()) + "; refused for writing");
  }
  for (const Layer& layer : layers) {
    const Disk& disk = *layer.disk;
    disk::refuse_extent_aliases(disk.extents(), disk.path().string(), disk.path());
  }
}

}  // namespace vmdk::chain
