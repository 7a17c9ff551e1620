#pragma once
// Local delivery into a Maildir: where mail to the bare <postmaster> (and
// postmaster at a local domain) is kept when [server] postmaster names no
// mailbox to send it on to. Readable by any Maildir client (mutt -f DIR).
//
// Durability: Deliver() returns only after the file is synced and renamed into
// new/ and the directory entry is synced too.

#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::ingest {

class Maildir {
 public:
  explicit Maildir(std::string path) : path_(std::move(path)) {}

  // Writes one message (its lines end in CRLF, as received; stored with LF, as
  // Maildir readers expect). Returns the file name in new/, or why it failed.
  // Blocking: call it from the blocking pool.
  Result<std::string, std::string> Deliver(std::string_view unique, std::string_view head,
                                           std::string_view body) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sluice::ingest
