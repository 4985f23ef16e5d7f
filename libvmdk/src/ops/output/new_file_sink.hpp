// The sink of a new file vmdkit puts in place by rename (convert, create, fixture build): the
// writers call flush() where a durable file needs its fsyncs, and this sink turns those calls into
// fsyncs only when the user asked for durability (--sync, Durability::synced). Without it the file
// is left to the kernel's writeback like cp's and qemu-img's (DESIGN.md "Durability"): it is not
// part of any chain until its rename, so no ordering inside it protects anything.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "vmdk/disk_type.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops {

class NewFileSink final : public ByteSink {
 public:
  NewFileSink(std::shared_ptr<ByteSink> target, Durability durability)
      : target_(std::move(target)), durability_(durability) {}

  void write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    target_->write_at(offset, data);
  }
  /// The target's fsync with Durability::synced; nothing with page_cache.
  void flush() override {
    if (durability_ == Durability::synced) target_->flush();
  }
  /// Early write-out only pays off before an fsync: without --sync it would make the user wait
  /// for the device where cp and qemu-img leave the pages to the kernel.
  void start_writeback() override {
    if (durability_ == Durability::synced) target_->start_writeback();
  }
  void resize(std::uint64_t size) override { target_->resize(size); }
  bool random_access() const override { return target_->random_access(); }
  const std::string& name() const override { return target_->name(); }

 private:
  std::shared_ptr<ByteSink> target_;
  Durability durability_;
};

}  // namespace vmdk::ops
