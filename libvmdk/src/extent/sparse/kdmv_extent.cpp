// KDMV extent walk: block status, map and reads that coalesce host-contiguous grains (2.4, 2.5).
#include "extent/sparse/kdmv_extent.hpp"

#include <algorithm>
#include <cstring>

#include "vmdk/error.hpp"

namespace vmdk::sparse {

namespace {

// Appends r to out, merging with out.back() when both describe one continuous range.
void append_run(std::vector<Run>& out, std::size_t first, const Run& r) {
  if (out.size() > first) {
    Run& last = out.back();
    bool touching = last.offset + last.length == r.offset && last.state == r.state;
    bool mergeable = r.state != BlockState::data ||
                     (!last.compressed && !r.compressed && last.host_offset + last.length == r.host_offset);
    if (touching && mergeable) {
      last.length += r.length;
      return;
    }
  }
  out.push_back(r);
}

}  // namespace

KdmvExtentBase::KdmvExtentBase(std::shared_ptr<const ByteSource> file, KdmvLayout layout, std::uint64_t size_bytes)
    : file_(file),
      layout_(std::move(layout)),
      size_(size_bytes),
      mapped_bytes_(std::min(size_bytes, layout_.capacity_bytes)),
      tables_(std::move(file), layout_, mapped_bytes_) {}

void KdmvExtentBase::check_range(std::uint64_t offset, std::uint64_t length) const {
  if (offset > size_ || length > size_ - offset) {
    throw UsageError(layout_.name, "range " + hex(offset) + "+" + hex(length) + " is outside the extent (" +
                                       hex(size_) + " bytes)", offset);
  }
}

Run KdmvExtentBase::to_run(const Piece& p) const {
  Run r{p.offset, p.length, p.state, kNoHostOffset, false};
  if (p.state == BlockState::data) {
    if (layout_.compressed) {
      r.host_offset = p.host;
      r.compressed = true;
    } else {
      r.host_offset = p.host + (p.offset - p.grain_offset);
    }
  }
  return r;
}

Run KdmvExtentBase::block_status(std::uint64_t offset, std::uint64_t max_len) const {
  if (offset >= size_ || max_len == 0) {
    throw UsageError(layout_.name, "block status at " + hex(offset) + " is outside the extent", offset);
  }
  max_len = std::min(max_len, size_ - offset);
  std::vector<Run> runs;
  walk(offset, max_len, [&](const Piece& p) {
    append_run(runs, 0, to_run(p));
    return runs.size() == 1;  // stop at the first piece that does not extend the first run
  });
  return runs.front();
}

void KdmvExtentBase::map(std::uint64_t offset, std::uint64_t length, std::vector<Run>& out) const {
  check_range(offset, length);
  const std::size_t first = out.size();
  walk(offset, length, [&](const Piece& p) {
    append_run(out, first, to_run(p));
    return true;
  });
}

void KdmvExtentBase::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  check_range(offset, out.size());
  // One pending pread that grows while grains follow each other on disk.
  std::uint64_t pending_host = 0;
  std::size_t pending_pos = 0;
  std::size_t pending_len = 0;
  auto flush = [&] {
    if (pending_len == 0) return;
    read_exact(*file_, pending_host, out.subspan(pending_pos, pending_len), "grain data");
    pending_len = 0;
  };
  walk(offset, out.size(), [&](const Piece& p) {
    const std::size_t pos = static_cast<std::size_t>(p.offset - offset);
    const std::size_t len = static_cast<std::size_t>(p.length);
    if (p.state != BlockState::data) {
      std::memset(out.data() + pos, 0, len);
    } else if (layout_.compressed) {
      read_compressed(p, out.subspan(pos, len));
    } else {
      std::uint64_t host = p.host + (p.offset - p.grain_offset);
      if (pending_len != 0 && pending_host + pending_len == host && pending_pos + pending_len == pos) {
        pending_len += len;
      } else {
        flush();
        pending_host = host;
        pending_pos = pos;
        pending_len = len;
      }
    }
    return true;
  });
  flush();
}

void KdmvExtentBase::read_compressed(const Piece& p, std::span<std::uint8_t>) const {
  throw FormatError(layout_.name, "grain table " + std::to_string(p.gd_index) + " entry " +
                                      std::to_string(p.gt_entry) + " refers to a compressed grain", p.offset);
}

std::vector<std::uint64_t> KdmvExtentBase::distinct_tables() const {
  const std::uint64_t count = std::min(tables_.directory_size(),
                                       (mapped_bytes_ + layout_.gt_coverage_bytes - 1) / layout_.gt_coverage_bytes);
  // (sector, entry) sorted: the first of each sector is the lowest entry naming that table. The
  // directory is already in memory, so this costs twice its size at most.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> named;
  for (std::uint64_t g = 0; g < count; ++g) {
    if (tables_.table_sector(g) != 0) named.emplace_back(tables_.table_sector(g), g);
  }
  std::sort(named.begin(), named.end());
  std::vector<std::uint64_t> first;
  for (std::size_t k = 0; k < named.size(); ++k) {
    if (k == 0 || named[k].first != named[k - 1].first) first.push_back(named[k].second);
  }
  std::sort(first.begin(), first.end());
  return first;
}

std::vector<std::pair<std::string, std::uint64_t>> KdmvExtentBase::header_fields() const {
  static constexpr const char* kShown[] = {"version",         "flags",           "capacity",
                                           "grain_size",      "descriptor_offset", "descriptor_size",
                                           "num_gtes_per_gt", "rgd_offset",      "gd_offset",
                                           "overhead",        "unclean_shutdown", "compress_algorithm"};
  std::vector<std::pair<std::string, std::uint64_t>> fields;
  for (const char* name : kShown) fields.emplace_back(name, layout_.effective.field(name));
  return fields;
}

}  // namespace vmdk::sparse
