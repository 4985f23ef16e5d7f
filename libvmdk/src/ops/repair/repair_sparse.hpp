// Repair plans of hosted sparse and stream files, made from their scan (vmdk-format.md 6.5).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "extent/sparse/sparse_scan.hpp"
#include "ops/repair/repair_plan.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops {

/// Adds to plan the writes that fix an uncompressed sparse file (path, opened as file) as its scan
/// proposes; lost ranges are reported in the virtual space of disk, the extent starting at
/// slot_start. Does nothing for streams or an unusable header.
void plan_sparse_repair(const std::filesystem::path& path, const ByteSource& file, sparse::SparseScan& scan,
                        const std::string& disk, std::uint64_t slot_start, RepairPlan& plan);

/// Adds to plan a salvage of a stream whose footer is unusable (a cut-short or damaged tail): its
/// grains are found by a marker scan from overHead and get new grain tables, a grain directory, a
/// footer and an end-of-stream marker after the last whole grain. Everything past the last whole
/// grain is listed as lost (stream grains come in ascending LBA order). Throws FormatError when
/// not even the header can be used.
void plan_stream_salvage(const std::filesystem::path& path, const ByteSource& file, const std::string& disk,
                         std::uint64_t slot_start, std::uint64_t slot_length, RepairPlan& plan);

}  // namespace vmdk::ops
