// Process start-up for the vmdkit tool: the malloc heap is asked for transparent huge pages.
#pragma once

namespace vmdkit_cli {

/// Reserves the main malloc heap in one step and marks it for transparent huge pages (where glibc
/// and the kernel offer them; elsewhere it does nothing). Why: in a virtual machine the first
/// touch of each fresh 4 KiB page costs a fault of about 10 us (bench machine), more than the
/// work done in the memory; a run of `vmdkit cat` on a deep chain touched about 450 fresh pages,
/// a fault per descriptor, table cache entry and map segment. A 2 MiB huge page costs one fault
/// of about 50 us. Only the tool does this: the library leaves its caller's allocator alone.
void use_huge_pages_for_the_heap();

}  // namespace vmdkit_cli
