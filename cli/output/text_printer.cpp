// Text printer: reports for people. The chain as a tree (leaf at top), the map as a table plus a
// strip per layer, info as aligned fields. Deterministic: no timestamps, no terminal queries.
#include <algorithm>
#include <iomanip>

#include "output/escape.hpp"
#include "output/format.hpp"
#include "output/printer.hpp"
#include "vmdk/error.hpp"

namespace vmdkit_cli {

namespace {

std::string cid_or_none(const std::optional<std::uint32_t>& cid) {
  return cid ? cid_hex(*cid) : "(none)";
}

std::string parent_cid_text(std::uint32_t cid) {
  return cid == vmdk::kNoParentCid ? cid_hex(cid) + " (no parent)" : cid_hex(cid);
}

// A header field's value as its display hint asks (the library knows the formats, not the CLI).
std::string field_text(std::uint64_t value, vmdk::FieldDisplay display) {
  switch (display) {
    case vmdk::FieldDisplay::hex: return vmdk::hex(value);
    case vmdk::FieldDisplay::version_halves:
      return std::to_string(value >> 32) + "." + std::to_string(value & 0xffffffffu) + " (" + vmdk::hex(value) + ")";
    case vmdk::FieldDisplay::decimal: break;
  }
  return std::to_string(value);
}

bool is_broken(const std::string& link) {
  return link != "ok" && link != "base";
}

class TextPrinter final : public Printer {
 public:
  // Everything printed passes through an escaping buffer: names and values come from files.
  explicit TextPrinter(std::ostream& out) : escaped_(out.rdbuf()), stream_(&escaped_), out_(stream_) {}
  ~TextPrinter() override { stream_.flush(); }

  void print(const vmdk::InfoReport& r) override {
    field("path", r.path);
    field("create type", r.create_type.empty() ? "(none)" : r.create_type);
    field("capacity", std::to_string(r.capacity) + " bytes (" + human_size(r.capacity) + ")");
    field("descriptor", std::string(r.embedded_descriptor ? "embedded" : "separate file") + ", version " +
                            std::to_string(r.descriptor_version));
    field("cid", cid_or_none(r.cid));
    field("parent cid", parent_cid_text(r.parent_cid));
    field("parent hint", r.parent_hint ? *r.parent_hint : "(none)");
    field("allocated", std::to_string(r.allocated) + " bytes (" + human_size(r.allocated) + ")");
    field("extents", std::to_string(r.extents.size()) + (r.complete ? "" : " (some not readable)"));
    for (std::size_t i = 0; i < r.extents.size(); ++i) {
      const auto& e = r.extents[i];
      out_ << "  [" << i << "] " << e.access << ' ' << e.type << ' ' << human_size(e.size);
      if (!e.file.empty()) out_ << " \"" << e.file << '"';
      if (e.offset) out_ << " at " << dec_hex(*e.offset);
      out_ << ": " << e.status;
      if (!e.problem.empty() && e.problem != e.status) out_ << " (" << e.problem << ')';
      out_ << '\n';
      if (e.details) {
        const auto& d = *e.details;
        out_ << "      format " << d.format;
        if (d.grain_size) out_ << ", grain " << human_size(d.grain_size);
        out_ << ", allocated " << human_size(d.allocated_bytes) << '\n';
        for (std::size_t f = 0; f < d.header.size(); ++f) {
          const auto& [name, value] = d.header[f];
          const auto display = f < d.header_display.size() ? d.header_display[f] : vmdk::FieldDisplay::decimal;
          out_ << "      " << std::left << std::setw(22) << name << ' ' << field_text(value, display) << '\n';
        }
      }
    }
    if (!r.ddb.empty()) {
      out_ << "ddb:\n";
      for (const auto& [key, value] : r.ddb) out_ << "  " << key << " = \"" << value << "\"\n";
    }
  }

  void print(const vmdk::ChainReport& r) override {
    out_ << "chain: " << (r.ok ? "ok" : "BROKEN") << ", " << r.layers.size()
         << (r.layers.size() == 1 ? " layer" : " layers") << '\n';
    std::string indent;
    for (std::size_t i = 0; i < r.layers.size(); ++i) {
      const auto& l = r.layers[i];
      out_ << indent << (i == 0 ? "" : "└─ ") << l.path << "  ["
           << (l.create_type.empty() ? "?" : l.create_type) << ", " << human_size(l.capacity)
           << ", allocated " << human_size(l.allocated) << ", cid " << cid_or_none(l.cid);
      if (l.parent_cid != vmdk::kNoParentCid) out_ << ", parent cid " << cid_hex(l.parent_cid);
      out_ << ']';
      if (l.link == "base") out_ << "  (base)";
      out_ << '\n';
      if (i > 0) indent += "   ";
      if (is_broken(l.link)) {
        out_ << indent << "└─ ✗ BROKEN LINK (" << l.link << "): " << l.problem << '\n';
        if (i > 0 || i + 1 < r.layers.size()) indent += "   ";
      }
    }
    for (const auto& w : r.warnings) {
      bool shown =
          std::any_of(r.layers.begin(), r.layers.end(), [&](const auto& l) { return l.problem == w; });
      if (!shown) out_ << "warning: " << w << '\n';
    }
  }

  void print(const vmdk::MapReport& r) override {
    out_ << "capacity " << std::to_string(r.capacity) << " bytes (" << human_size(r.capacity) << "), "
         << r.layers.size() << (r.layers.size() == 1 ? " layer" : " layers") << '\n';
    if (!r.strips.empty()) {
      std::size_t width = r.strips.front().size();
      out_ << "layers (each column " << human_size(width ? r.capacity / width : 0)
           << "; '#' data, '0' zeros, '.' nothing, '+' mixed):\n";
      for (std::size_t i = 0; i < r.layers.size() && i < r.strips.size(); ++i) {
        out_ << "  " << std::right << std::setw(3) << i << " |" << r.strips[i] << "| " << r.layers[i] << '\n';
      }
    }
    out_ << "ranges:\n";
    out_ << std::left << std::setw(20) << "  start" << std::setw(20) << "end" << std::setw(12) << "length"
         << std::setw(7) << "depth" << std::setw(13) << "state"
         << "file @ offset\n";
    for (const auto& run : r.ranges) {
      // Like qemu-img: an unallocated range is not present, even though it reads as zeros.
      std::string state = run.zero && run.data ? "zero (hole)"  // a hole of a flat extent's file
                          : run.data       ? (run.compressed ? "data (comp)" : "data")
                          : run.present ? "zero"
                                        : "unallocated";
      out_ << "  " << std::left << std::setw(18) << vmdk::hex(run.offset) << std::setw(20)
           << vmdk::hex(run.offset + run.length) << std::setw(12) << human_size(run.length) << std::setw(7)
           << run.depth << std::setw(13) << state;
      if (run.data) {
        out_ << run.file;
        if (run.host_offset != vmdk::kNoHostOffset) out_ << " @ " << vmdk::hex(run.host_offset);
      }
      out_ << '\n';
    }
  }

  void print(const vmdk::ConvertReport& r) override {
    out_ << "wrote " << r.output << " (" << r.format << ", " << human_size(r.capacity) << ", "
         << human_size(r.data_bytes) << " of data in " << human_size(r.output_bytes) << ")\n";
    if (r.files.size() > 1) {
      for (const auto& f : r.files) out_ << "  " << f << '\n';
    }
  }

  void print(const vmdk::CreateReport& r) override {
    out_ << "created " << r.path << " (" << r.type << ", " << human_size(r.capacity) << ", CID "
         << cid_hex(r.cid) << ")\n";
    if (r.files.size() > 1) {
      for (const auto& f : r.files) out_ << "  " << f << '\n';
    }
  }

  void print(const vmdk::SnapshotReport& r) override {
    // The new file's path is the last line: scripts take it with `tail -n 1`.
    out_ << "snapshot of " << r.parent << " (CID " << cid_hex(r.parent_cid) << "), new delta CID "
         << cid_hex(r.cid) << ", parent hint \"" << r.parent_hint << "\"\n"
         << r.path << '\n';
  }

  void print(const vmdk::WriteReport& r) override {
    out_ << "wrote " << human_size(r.length) << " at " << dec_hex(r.offset) << " into " << r.path << " ("
         << r.grains_written << " grains written, " << r.zeroed_grains << " zeroed, "
         << human_size(r.copied_bytes) << " copied from below); CID " << cid_hex(r.old_cid) << " -> "
         << cid_hex(r.new_cid) << '\n';
  }

  void print(const vmdk::FixtureReport& r) override {
    out_ << "built " << r.spec << " into " << r.output << '\n';
    for (const auto& f : r.files) out_ << "  " << f.name << " (" << f.size << " bytes)\n";
  }

  void print(const vmdk::CompareReport& r) override {
    if (r.identical) {
      out_ << "identical\n";
    } else if (r.first_difference) {
      out_ << "different: first difference at offset " << dec_hex(*r.first_difference) << '\n';
    } else {
      out_ << "different: " << r.message << '\n';
    }
  }

  void print(const vmdk::ConsolidateReport& r) override {
    const auto& p = r.plan;
    out_ << (r.done ? (p.resumed ? "finished an interrupted consolidation: " : "consolidated: ")
                    : "plan (dry run): ")
         << p.top << " into " << p.ancestor << '\n';
    out_ << "  layers merged:  ";
    for (std::size_t i = 0; i < p.merged.size(); ++i) out_ << (i ? ", " : "") << p.merged[i];
    out_ << '\n';
    out_ << "  data:           " << p.grains << " grains, " << human_size(p.bytes)
         << " written into the ancestor (" << p.zero_grains << " zero grains)\n";
    out_ << "  extra space:    " << human_size(p.extra_space) << " (free: " << human_size(p.free_space)
         << ")\n";
    out_ << "  ancestor CID:   " << cid_hex(p.ancestor_cid) << " -> " << cid_hex(p.new_ancestor_cid) << '\n';
    for (const auto& l : p.relinks) {
      out_ << "  re-link:        " << l.path << ": parent \"" << l.old_hint << "\" -> \"" << l.new_hint
           << "\", parentCID " << cid_hex(l.old_parent_cid) << " -> " << cid_hex(l.new_parent_cid) << '\n';
    }
    for (const auto& f : p.removed) out_ << "  remove:         " << f << '\n';
    for (const auto& k : p.kept) out_ << "  kept:           " << k.path << ", named by " << k.named_by << '\n';
    // The disk that holds the data is the last line, for scripts.
    out_ << r.result << '\n';
  }

  void print(const vmdk::CheckReport& r) override {
    for (const auto& f : r.findings) {
      out_ << to_string(f.severity) << ": " << f.file;
      if (f.offset) out_ << " at " << vmdk::hex(*f.offset);
      out_ << ": " << f.message << " [" << f.code << (f.repairable ? ", repairable" : "") << "]\n";
    }
    out_ << r.path << ": " << r.files.size() << (r.files.size() == 1 ? " file" : " files") << " checked, "
         << r.corruptions << " corruptions, " << r.leaks << " leaks, " << r.warnings << " warnings: "
         << (r.corruptions != 0 ? "damaged"
             : r.leaks != 0     ? "leaks only"
                                : "clean")
         << '\n';
  }

  void print(const vmdk::RepairReport& r) override {
    const char* verb = r.dry_run ? "would " : "";
    if (r.actions.empty()) {
      const bool left = !r.unrepaired.empty() &&
                        std::any_of(r.unrepaired.begin(), r.unrepaired.end(),
                                    [](const auto& f) { return f.severity != vmdk::Severity::warning; });
      out_ << r.path
           << (left ? ": nothing repair can fix without more options or by itself\n"
                    : ": nothing to repair\n");
    }
    for (const auto& a : r.actions) {
      out_ << verb << (r.dry_run ? "fix: " : "fixed: ") << a.file;
      if (a.offset) out_ << " at " << vmdk::hex(*a.offset);
      out_ << ": " << a.message << " [" << a.code << "]\n";
    }
    for (const auto& l : r.lost) {
      out_ << "lost: " << l.disk << " bytes " << vmdk::hex(l.offset) << "+" << vmdk::hex(l.length) << ": "
           << l.reason << '\n';
    }
    for (const auto& k : r.kept) {
      out_ << (r.dry_run ? "would keep: " : "kept: ") << k.file << " bytes " << vmdk::hex(k.offset) << "+"
           << vmdk::hex(k.length);
      if (k.virtual_offset) {
        out_ << " (may be " << k.disk << " bytes " << vmdk::hex(*k.virtual_offset) << "+" << vmdk::hex(k.virtual_length)
             << ")";
      }
      out_ << ": " << k.reason << '\n';
      for (const auto& s : k.salvaged) out_ << (r.dry_run ? "  would salvage to: " : "  salvaged to: ") << s << '\n';
    }
    for (const auto& f : r.unrepaired) {
      out_ << "left: " << to_string(f.severity) << ": " << f.file;
      if (f.offset) out_ << " at " << vmdk::hex(*f.offset);
      out_ << ": " << f.message << " [" << f.code << "]\n";
    }
    if (!r.undo_log.empty()) {
      out_ << "undo log: " << r.undo_log << " (" << human_size(r.undo_bytes)
           << " saved; 'vmdkit repair --undo " << r.path << "' puts it back)\n";
    }
    if (r.after) {
      out_ << r.path << ": after repair " << r.after->corruptions << " corruptions, " << r.after->leaks
           << " leaks, " << r.after->warnings
           << " warnings: " << (r.after->corruptions != 0 ? "damage left" : "clean");
      if (!r.kept.empty()) out_ << " (" << r.kept.size() << " kept grains left in place)";
      out_ << '\n';
    }
  }

  void print(const vmdk::UndoReport& r) override {
    out_ << (r.dry_run ? "would put back " : "put back ") << human_size(r.bytes) << " from " << r.log << '\n';
    for (const auto& f : r.files) out_ << "  " << f << '\n';
  }

  void print(const vmdk::RebuildReport& r) override {
    out_ << (r.written ? (r.replaced ? "replaced: " : "wrote: ") : "would write: ") << r.path << " ("
         << r.create_type << ", " << human_size(r.capacity) << ")\n";
    for (const auto& e : r.extents)
      out_ << "  extent: " << e.type << " \"" << e.file << "\" " << human_size(e.size) << '\n';
    out_ << "  CID: " << cid_hex(r.cid) << " (" << r.cid_reason << ")\n";
    if (!r.parent.empty()) {
      out_ << "  parent: " << r.parent << " (hint \"" << r.parent_hint << "\", parentCID "
           << cid_hex(r.parent_cid) << "; " << r.parent_reason << ")\n";
    }
    for (const auto& w : r.warnings) out_ << "  warning: " << w << '\n';
  }

 private:
  void field(const std::string& name, const std::string& value) {
    out_ << std::left << std::setw(13) << (name + ":") << value << '\n';
  }
  EscapingBuffer escaped_;
  std::ostream stream_;
  std::ostream& out_;
};

}  // namespace

std::unique_ptr<Printer> make_text_printer(std::ostream& out) {
  return std::make_unique<TextPrinter>(out);
}

}  // namespace vmdkit_cli
