#pragma once
// Security: parses replies from remote SMTP servers (untrusted); bounded.
// Standards: RFC 5321 §4.2 (reply lines, multi-line replies), RFC 3463 (enhanced codes).

#include <cstddef>
#include <string>
#include <string_view>

#include "smtp/proto/reply.h"

namespace sluice::smtp {

enum class ReplyParseStatus { kNeedMore, kComplete, kMalformed, kTooLong };

// Resumable: feed bytes as they arrive; Feed() consumes up to the end of one
// complete reply. Multi-line text is joined with '\n'; the enhanced code (if
// every line carries the same one) is split off into Reply::enhanced.
class ReplyParser {
 public:
  explicit ReplyParser(std::size_t max_size = 64 * 1024) : max_size_(max_size) {}

  // `consumed` is set to the octets of `in` used.
  ReplyParseStatus Feed(std::string_view in, std::size_t& consumed, Reply& out);

 private:
  void Reset();
  std::size_t max_size_;
  std::size_t size_ = 0;
  int code_ = 0;
  std::string partial_;  // an incomplete line carried over
  std::string text_;
  std::string enhanced_;
  bool enhanced_consistent_ = true;
  bool first_line_ = true;
};

// Parses "X.Y.Z" at the start of `text` (RFC 3463 §2); returns its length or 0.
std::size_t EnhancedCodeLength(std::string_view text);

// Dot-stuffs message content for DATA (RFC 5321 §4.5.2), normalising any bare
// LF or CR to CRLF, and appends the terminating "<CRLF>.<CRLF>".
std::string DotStuff(std::string_view data);

// The same, a piece at a time: Feed() each piece of the content in order,
// then Finish(). A line (or a CRLF) may span pieces.
class DotStuffer {
 public:
  void Feed(std::string_view piece, std::string& out);
  void Finish(std::string& out);

 private:
  bool line_start_ = true;
  bool after_cr_ = false;  // the last piece ended in a CR (already sent as CRLF)
};

}  // namespace sluice::smtp
