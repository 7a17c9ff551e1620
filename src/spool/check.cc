#include "spool/check.h"

#include <unordered_map>

#include <fmt/format.h>

#include "spool/data_chunks.h"

namespace sluice::spool {
namespace {

std::string KeyHex(std::string_view key) {
  if (auto id = SpoolId::FromKey(key)) {
    return id->Hex();
  }
  std::string out;
  for (unsigned char c : key) {
    out += fmt::format("{:02x}", c);
  }
  return out;
}

}  // namespace

Result<CheckReport, SpoolError> CheckSpool(RocksSpool& spool) {
  CheckReport report;
  // Data first: key -> size, so each metadata record can be matched to it.
  std::unordered_map<std::string, std::uint64_t> data;
  auto read = spool.ForEachDataKey([&](std::string_view key, std::uint64_t size) {
    // A message's chunks share its key as their first octets (data_chunks.h).
    data[std::string(key.substr(0, kMessageKeySize))] += size;
    report.data_bytes += size;
  });
  if (!read) {
    return Fail(read.error());
  }
  report.data_records = read.value();

  auto metas = spool.ForEachMetaRecord([&](std::string_view key, std::string_view bytes) {
    ++report.messages;
    const std::string id = KeyHex(key);
    auto d = data.find(std::string(key));
    const bool has_data = d != data.end();
    auto meta = DecodeMeta(bytes);
    if (!meta) {
      report.findings.push_back(
          {id, "metadata cannot be decoded",
           has_data ? "remove the message (its envelope is lost)" : "remove the metadata record"});
    } else if (!has_data) {
      report.findings.push_back(
          {id, "metadata without message data", "remove the message and report it failed"});
    } else if (d->second != meta.value().size) {
      report.findings.push_back(
          {id, fmt::format("data is {} octets, metadata says {}", d->second, meta.value().size),
           "none: delivered as stored"});
    }
    if (meta) {
      bool all_final = true;
      for (std::size_t i = 0; i < meta.value().envelope.recipients.size(); ++i) {
        all_final = all_final && meta.value().IsDone(i);
      }
      ++(all_final ? report.finished : report.pending);
    }
    if (has_data) {
      data.erase(d);
    }
  });
  if (!metas) {
    return Fail(metas.error());
  }
  for (const auto& [key, size] : data) {
    report.findings.push_back({KeyHex(key), fmt::format("{} octets of data without metadata", size),
                               "delete the data record"});
  }
  return report;
}

}  // namespace sluice::spool
