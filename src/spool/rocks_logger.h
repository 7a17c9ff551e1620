#pragma once
// RocksDB's informational log, sent to Sluice's log instead of a LOG file in
// the spool directory: a LOG file on a full disk fails too, and a later line
// to it trips an assertion in RocksDB's file writer.

#include <memory>

namespace rocksdb {
class Logger;
}

namespace sluice::spool {

// Warnings and errors at spdlog's warn and error; the rest at debug.
std::shared_ptr<rocksdb::Logger> MakeRocksLogger();

}  // namespace sluice::spool
