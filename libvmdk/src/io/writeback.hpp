// Early writeback: the kernel starts writing a sink's dirty pages to the device while the caller
// goes on producing more. A writer that is busy computing (the streamOptimized compressor) leaves
// the device idle until its final fsync, which then waits for all of it at once; started early,
// that writing overlaps the computing and the fsync finds little left to do.
#pragma once

#include "vmdk/io.hpp"

namespace vmdk::io {

/// Starts write-out of the dirty pages of sink when it is a File (Linux sync_file_range with
/// SYNC_FILE_RANGE_WRITE: no waiting for the device, pages already being written are left alone).
/// Proves nothing about durability (the fsync that follows still does) and does nothing for other
/// sinks (pipes, memory) or where the system has no such call. Errors are ignored: a real I/O
/// error is reported by the writes and the fsync.
void start_writeback(ByteSink& sink);

}  // namespace vmdk::io
