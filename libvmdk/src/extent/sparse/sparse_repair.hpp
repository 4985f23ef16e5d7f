// Repair plans of hosted sparse and stream files, made from their scan (vmdk-format.md 6.5).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "extent/repair_plan.hpp"
#include "extent/sparse/sparse_scan.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

/// Adds to plan the writes that fix an uncompressed sparse file (path, opened as file) as its scan
/// proposes; lost ranges are reported in the virtual space of disk, the extent starting at
/// slot_start. Does nothing for streams or an unusable header.
void plan_sparse_repair(const std::filesystem::path& path, const ByteSource& file, SparseScan& scan,
                        const std::string& disk, std::uint64_t slot_start, extent::RepairPlan& plan);

/// Adds to plan a salvage of a stream whose footer is unusable (a cut-short or damaged tail): its
/// grains are found by a marker scan from overHead and get new grain tables, a grain directory, a
/// footer and an end-of-stream marker after the last whole grain. Everything past the last whole
/// grain is listed as lost (stream grains come in ascending LBA order). Throws FormatError when
/// not even the header can be used.
void plan_stream_salvage(const std::filesystem::path& path, const ByteSource& file, const std::string& disk,
                         std::uint64_t slot_start, std::uint64_t slot_length, extent::RepairPlan& plan);

/// The repair hook of hosted sparse and stream files: scans the file target and adds to plan a
/// salvage when it is a stream with an unusable footer, else the repair its scan proposes.
/// Throws IoError, and FormatError when a stream's header cannot be used for a salvage.
void plan_sparse_file_repair(const extent::RepairTarget& target, extent::RepairPlan& plan);

}  // namespace vmdk::sparse
