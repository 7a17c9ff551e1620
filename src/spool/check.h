#pragma once
// `sluice spool check`: reads every record of a spool and says what is wrong
// with it and what a repair would do. It changes nothing.
//
// A message is a metadata record and a data record under one key (spool.h).
// Problems: metadata that cannot be decoded, metadata without data (nothing
// to deliver), data without metadata (space nobody will free), a stored size
// that is not the data's, a record that cannot be read. A message whose
// every recipient is final is not a problem: sluiced removes it at start.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "spool/rocks_spool.h"

namespace sluice::spool {

struct CheckFinding {
  std::string id;       // the message's spool id (hex), or the key in hex
  std::string problem;  // what is wrong
  std::string repair;   // what a repair would do
};

struct CheckReport {
  std::uint64_t messages = 0;      // metadata records
  std::uint64_t pending = 0;       // messages with recipients still to deliver
  std::uint64_t finished = 0;      // every recipient final: removed at next start
  std::uint64_t data_records = 0;  // chunks (data_chunks.h)
  std::uint64_t data_bytes = 0;
  std::vector<CheckFinding> findings;
  bool clean() const { return findings.empty(); }
};

Result<CheckReport, SpoolError> CheckSpool(RocksSpool& spool);

}  // namespace sluice::spool
