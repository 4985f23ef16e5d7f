// consolidate, the switch (see consolidate_finish.hpp): descriptor edits through Descriptor, stored
// by descriptor_store (only the edited lines change; embedded in place or standalone by rename),
// then deletions.
#include "ops/consolidate/consolidate_finish.hpp"

#include <cstdio>
#include <system_error>

#include "ops/common/descriptor_store.hpp"
#include "ops/common/temp_file.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

void finish_switch(const Journal& journal, const OpenOptions& open) {
  const std::string journal_name = journal.file.string();
  // 1. ANCESTOR's new CID: from now on ANCESTOR holds the merged content.
  {
    std::unique_ptr<Disk> ancestor = Disk::open(journal.ancestor, open);
    const std::optional<std::uint32_t> cid = ancestor->descriptor().cid();
    if (!cid || (*cid != journal.ancestor_cid && *cid != journal.new_ancestor_cid)) {
      throw FormatError(journal_name,
                        "the ancestor " + journal.ancestor.string() + " has CID " + format_cid(cid) +
                            ", neither the old " + format_cid(journal.ancestor_cid) + " nor the new " +
                            format_cid(journal.new_ancestor_cid) + " recorded here; refusing to go on");
    }
    if (*cid != journal.new_ancestor_cid) {
      DescriptorHome home = load_descriptor_home(*ancestor);
      store_descriptor(home, with_new_cid(home, journal.new_ancestor_cid));
    }
  }
  // 2. TOP's children point at ANCESTOR. A child that is gone has nothing to re-link.
  for (const JournalRelink& link : journal.relinks) {
    if (!entry_exists(link.path)) continue;
    std::unique_ptr<Disk> child = Disk::open(link.path, open);
    const std::uint32_t parent_cid = child->descriptor().parent_cid();
    if (parent_cid != link.old_parent_cid && parent_cid != link.new_parent_cid) {
      throw FormatError(journal_name,
                        "the child " + link.path.string() + " has parentCID " + format_cid(parent_cid) +
                            ", neither the old " + format_cid(link.old_parent_cid) + " nor the new " +
                            format_cid(link.new_parent_cid) + " recorded here; refusing to re-link it");
    }
    DescriptorHome home = load_descriptor_home(*child);
    const std::string printed = relinked(home, link.new_hint, link.new_parent_cid).print_preserving();
    if (printed != home.text) store_descriptor(home, printed);
  }
  // 3. The merged layers' files; missing ones were deleted by an interrupted run.
  for (const fs::path& file : journal.removed) {
    std::error_code error;
    fs::remove(file, error);
    if (error) throw IoError(file.string(), "cannot remove the merged file: " + error.message());
  }
  sync_folder(journal.ancestor.parent_path());
  // 4. The journal last: until it is gone a re-run finishes the steps above.
  remove_journal(journal.file);
}

}  // namespace vmdk::ops
