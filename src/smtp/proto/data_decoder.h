#pragma once
// Security: decodes the DATA stream of untrusted clients; the end-of-data rule
//           here is the SMTP smuggling defence.
// Standards: RFC 5321 §4.1.1.4 (end of data), §4.5.2 (transparency / dot-stuffing),
//            §4.5.3.1.6 (text line length).
//
// Only <CRLF>.<CRLF> ends the data. A bare LF or a bare CR anywhere is an
// error that stops decoding at once (the session answers 5xx and closes, as
// Postfix does with smtpd_forbid_bare_newline), so no other reading of the
// stream can ever take effect.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::smtp {

enum class DataError {
  kNone,
  kBareLf,       // fatal: stop reading
  kBareCr,       // fatal: stop reading
  kTooBig,       // keep consuming to the end, then 552 5.3.4
  kLineTooLong,  // keep consuming to the end, then 550 5.5.2
};

struct DataLimits {
  std::uint64_t max_size = 25 * 1024 * 1024;  // octets after unstuffing
  std::size_t max_line_length = 998;          // octets, CRLF excluded (RFC 5322 §2.1.1)
};

class DataDecoder {
 public:
  explicit DataDecoder(DataLimits limits) : limits_(limits) {}

  struct Step {
    std::size_t consumed = 0;  // octets of `in` used
    bool done = false;         // saw <CRLF>.<CRLF>
  };

  // Decodes as much of `in` as it can, appending unstuffed content (with CRLF
  // line ends) to `out` unless an error has made the message unacceptable.
  // Stops right after the terminating ".\r\n", leaving later octets (pipelined
  // commands) unconsumed, or at a fatal error.
  Step Feed(std::string_view in, std::string& out);

  DataError error() const { return error_; }
  bool fatal() const { return error_ == DataError::kBareLf || error_ == DataError::kBareCr; }
  std::uint64_t size() const { return size_; }

 private:
  enum class State { kLineStart, kDot, kDotCr, kText, kCr };
  void Emit(std::string_view s, std::string& out);
  void SetError(DataError e);

  DataLimits limits_;
  State state_ = State::kLineStart;
  DataError error_ = DataError::kNone;
  std::uint64_t size_ = 0;
  std::size_t line_length_ = 0;
};

// Accounting for one BDAT transaction (RFC 3030): chunk bytes are taken raw,
// the total is checked against the size limit, and over-limit data is still
// read (the protocol requires it) but discarded.
class ChunkReader {
 public:
  explicit ChunkReader(std::uint64_t max_size) : max_size_(max_size) {}

  // Starts a chunk of `size` octets.
  void BeginChunk(std::uint64_t size) { remaining_ = size; }
  // Takes up to the rest of the current chunk from `in`; returns octets used.
  std::size_t Feed(std::string_view in, std::string& out);
  bool chunk_done() const { return remaining_ == 0; }
  std::uint64_t total() const { return total_; }
  bool too_big() const { return total_ > max_size_; }

 private:
  std::uint64_t max_size_;
  std::uint64_t remaining_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace sluice::smtp
