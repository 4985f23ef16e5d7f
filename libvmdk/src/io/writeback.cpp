// Early writeback (see writeback.hpp).
#include "io/writeback.hpp"

#include <fcntl.h>

namespace vmdk::io {

void start_writeback(ByteSink& sink) {
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
  const auto* file = dynamic_cast<const File*>(&sink);
  if (file == nullptr) return;
  // Offset 0 and length 0: the whole file. The result is ignored on purpose (see the header).
  (void)::sync_file_range(file->descriptor(), 0, 0, SYNC_FILE_RANGE_WRITE);
#else
  (void)sink;
#endif
}

}  // namespace vmdk::io
