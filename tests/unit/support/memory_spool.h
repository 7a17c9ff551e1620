#pragma once
// A spool in memory for unit tests: every write is done (and called back)
// at once; counts what was asked of it.

#include <map>
#include <string>

#include "spool/spool.h"

namespace sluice::testing {

class MemorySpool final : public spool::Spool {
 public:
  struct Record {
    spool::Meta meta;
    std::string data;
  };
  std::map<SpoolId, Record> records;
  int updates = 0;
  int removes = 0;
  int meta_reads = 0;
  bool fail_reads = false;

  void Store(spool::Meta meta, std::string prefix, std::string body, Done done) override {
    SpoolId id = meta.id;
    records[id] = {std::move(meta), prefix + body};
    done(Ok{});
  }
  void UpdateMeta(const spool::Meta& meta, Done done) override {
    ++updates;
    auto it = records.find(meta.id);
    if (it != records.end()) {
      it->second.meta = meta;
    }
    done(Ok{});
  }
  Result<std::uint64_t, spool::SpoolError> ForEachMeta(
      const std::function<void(spool::Meta&&)>& fn) override {
    for (auto& [id, r] : records) {
      spool::Meta copy = r.meta;
      fn(std::move(copy));
    }
    return static_cast<std::uint64_t>(records.size());
  }
  Result<spool::Meta, spool::SpoolError> ReadMeta(const SpoolId& id) override {
    ++meta_reads;
    if (fail_reads) {
      return Fail(spool::SpoolError::kIo);
    }
    auto it = records.find(id);
    if (it == records.end()) {
      return Fail(spool::SpoolError::kNotFound);
    }
    return it->second.meta;
  }
  Result<std::string, spool::SpoolError> ReadData(const SpoolId& id) override {
    auto it = records.find(id);
    if (it == records.end()) {
      return Fail(spool::SpoolError::kNotFound);
    }
    return it->second.data;
  }
  Result<std::string, spool::SpoolError> ReadDataChunk(const SpoolId& id,
                                                       std::uint32_t index) override {
    if (index != 0) {
      return Fail(spool::SpoolError::kNotFound);
    }
    return ReadData(id);
  }
  void Remove(const SpoolId& id, std::uint64_t, Done done) override {
    ++removes;
    records.erase(id);
    done(Ok{});
  }
  Result<Ok, spool::SpoolError> Admission(std::uint64_t) override { return Ok{}; }
  void Close() override {}

  // Stores a message for `rcpts` as ingest would, received at `received_us`.
  spool::Meta Put(const std::vector<std::string>& rcpts, std::int64_t received_us,
                  const std::string& sender = "sender@example.org",
                  const std::string& data = "Subject: t\r\n\r\nhello\r\n") {
    spool::Meta m;
    m.id = SpoolId::Generate();
    m.envelope.sender = ParseMailbox(sender).value();
    for (const auto& r : rcpts) {
      Recipient rc;
      rc.address = ParseMailbox(r).value();
      m.envelope.recipients.push_back(std::move(rc));
    }
    m.received_us = received_us;
    m.due_us = received_us;
    m.size = data.size();
    records[m.id] = {m, data};
    return m;
  }
};

}  // namespace sluice::testing
