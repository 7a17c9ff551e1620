#include "smtp/proto/data_decoder.h"

#include <algorithm>

namespace sluice::smtp {

void DataDecoder::SetError(DataError e) {
  // A fatal error wins over a soft one; the first soft one is kept.
  if (error_ == DataError::kNone || e == DataError::kBareLf || e == DataError::kBareCr) {
    error_ = e;
  }
}

void DataDecoder::Emit(std::string_view s, std::string& out) {
  size_ += s.size();
  if (size_ > limits_.max_size) {
    SetError(DataError::kTooBig);
  }
  if (error_ == DataError::kNone) {
    out.append(s);
  }
}

DataDecoder::Step DataDecoder::Feed(std::string_view in, std::string& out) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n) {
    if (fatal()) {
      return {i, false};
    }
    char c = in[i];
    switch (state_) {
      case State::kLineStart:
        line_length_ = 0;
        if (c == '.') {
          // RFC 5321 §4.5.3.1.6: the transparency dot does not count.
          state_ = State::kDot;
          ++i;
          continue;
        }
        state_ = State::kText;
        continue;  // reprocess as text
      case State::kDot:
        if (c == '\r') {
          state_ = State::kDotCr;
          ++i;
          continue;
        }
        // A stuffed dot: drop it and read the rest of the line as text.
        state_ = State::kText;
        continue;
      case State::kDotCr:
        if (c == '\n') {
          return {i + 1, true};
        }
        SetError(DataError::kBareCr);
        return {i, false};
      case State::kText: {
        // Copy a run of ordinary octets in one go.
        std::size_t j = i;
        while (j < n && in[j] != '\r' && in[j] != '\n') {
          ++j;
        }
        if (j > i) {
          line_length_ += j - i;
          if (line_length_ > limits_.max_line_length) {
            SetError(DataError::kLineTooLong);
          }
          Emit(in.substr(i, j - i), out);
          i = j;
          continue;
        }
        if (c == '\n') {
          SetError(DataError::kBareLf);
          return {i, false};
        }
        state_ = State::kCr;
        ++i;
        continue;
      }
      case State::kCr:
        if (c != '\n') {
          SetError(DataError::kBareCr);
          return {i, false};
        }
        Emit("\r\n", out);
        state_ = State::kLineStart;
        ++i;
        continue;
    }
  }
  return {i, false};
}

std::size_t ChunkReader::Feed(std::string_view in, std::string& out) {
  auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
  remaining_ -= take;
  total_ += take;
  if (!too_big()) {
    out.append(in.substr(0, take));
  }
  return take;
}

}  // namespace sluice::smtp
