// The built-in extent kinds, listed once (DESIGN.md rule 1). The library is static, so kinds that
// registered themselves from static objects would be dropped by the linker: the table asks this list.
// Order matters only between kinds serving one line type: the first is that type's default.
#include "extent/cowd/cowd_kind.hpp"
#include "extent/flat/flat_kind.hpp"
#include "extent/kind_table.hpp"
#include "extent/sesparse/sesparse_kind.hpp"
#include "extent/sparse/sparse_kind.hpp"
#include "extent/stream/stream_kind.hpp"
#include "extent/zero/zero_kind.hpp"

namespace vmdk::extent {

std::vector<std::shared_ptr<const ExtentKind>> builtin_kinds() {
  return {flat::flat_kind(),     zero::zero_kind(), sparse::sparse_kind(),
          stream::stream_kind(), cowd::cowd_kind(), sesparse::sesparse_kind()};
}

}  // namespace vmdk::extent
