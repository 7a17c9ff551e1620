#include "smtp/proto/reply_parser.h"

#include <algorithm>

namespace sluice::smtp {

std::size_t EnhancedCodeLength(std::string_view t) {
  // class "." subject "." detail; class 2/4/5, subject 1-3 digits, detail 1-3 digits.
  std::size_t i = 0;
  if (t.size() < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[1] != '.') {
    return 0;
  }
  i = 2;
  for (int part = 0; part < 2; ++part) {
    std::size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9' && i - start < 3) {
      ++i;
    }
    if (i == start) {
      return 0;
    }
    if (part == 0) {
      if (i >= t.size() || t[i] != '.') {
        return 0;
      }
      ++i;
    }
  }
  if (i < t.size() && t[i] != ' ') {
    return 0;
  }
  return i;
}

void ReplyParser::Reset() {
  size_ = 0;
  code_ = 0;
  partial_.clear();
  text_.clear();
  enhanced_.clear();
  enhanced_consistent_ = true;
  first_line_ = true;
}

ReplyParseStatus ReplyParser::Feed(std::string_view in, std::size_t& consumed, Reply& out) {
  consumed = 0;
  while (consumed < in.size()) {
    auto nl = in.find('\n', consumed);
    if (nl == std::string_view::npos) {
      partial_.append(in.substr(consumed));
      size_ += in.size() - consumed;
      consumed = in.size();
      return size_ > max_size_ ? ReplyParseStatus::kTooLong : ReplyParseStatus::kNeedMore;
    }
    partial_.append(in.substr(consumed, nl - consumed));
    size_ += nl - consumed + 1;
    consumed = nl + 1;
    if (size_ > max_size_) {
      Reset();
      return ReplyParseStatus::kTooLong;
    }
    std::string line = std::move(partial_);
    partial_.clear();
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    // "ddd" [ ("-" / SP) text ]
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
        line[2] < '0' || line[2] > '9' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      Reset();
      return ReplyParseStatus::kMalformed;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!first_line_ && code != code_) {
      Reset();
      return ReplyParseStatus::kMalformed;
    }
    code_ = code;
    bool more = line.size() > 3 && line[3] == '-';
    std::string_view text = line.size() > 4 ? std::string_view(line).substr(4) : std::string_view();
    std::size_t elen = EnhancedCodeLength(text);
    std::string_view enh = text.substr(0, elen);
    if (first_line_) {
      enhanced_ = std::string(enh);
    } else if (enh != enhanced_) {
      enhanced_consistent_ = false;
    }
    if (!first_line_) {
      text_ += '\n';
    }
    text_.append(text);
    first_line_ = false;
    if (!more) {
      out.code = code_;
      if (enhanced_consistent_ && !enhanced_.empty()) {
        out.enhanced = enhanced_;
        // Drop the repeated code from each line of text.
        std::string stripped;
        std::string_view rest = text_;
        while (true) {
          auto eol = rest.find('\n');
          std::string_view l = rest.substr(0, eol);
          l.remove_prefix(std::min(l.size(), enhanced_.size()));
          if (!l.empty() && l.front() == ' ') {
            l.remove_prefix(1);
          }
          stripped.append(l);
          if (eol == std::string_view::npos) {
            break;
          }
          stripped += '\n';
          rest.remove_prefix(eol + 1);
        }
        out.text = std::move(stripped);
      } else {
        out.enhanced.clear();
        out.text = text_;
      }
      Reset();
      return ReplyParseStatus::kComplete;
    }
  }
  return ReplyParseStatus::kNeedMore;
}

std::string DotStuff(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / 64 + 8);
  DotStuffer stuffer;
  stuffer.Feed(data, out);
  stuffer.Finish(out);
  return out;
}

void DotStuffer::Feed(std::string_view data, std::string& out) {
  std::size_t pos = 0;
  if (after_cr_ && !data.empty() && data.front() == '\n') {
    pos = 1;  // the LF of a CRLF whose CR ended the last piece
  }
  if (!data.empty()) {
    after_cr_ = false;
  }
  // Whole lines are copied at once; a lone CR or LF ends a line too and is
  // written as CRLF.
  while (pos < data.size()) {
    if (line_start_ && data[pos] == '.') {
      out += '.';
    }
    line_start_ = false;
    // The line ends at its first CR or LF; CRLF is the usual case. (Two
    // single-octet searches: memchr, not a loop over every octet.)
    const std::size_t nl = data.find('\n', pos);
    std::size_t end =
        data.substr(0, nl == std::string_view::npos ? data.size() : nl).find('\r', pos);
    if (end == std::string_view::npos) {
      end = nl;
    }
    if (end == std::string_view::npos) {
      out.append(data.substr(pos));
      return;
    }
    out.append(data.substr(pos, end - pos));
    out += "\r\n";
    line_start_ = true;
    if (data[end] == '\r' && end + 1 == data.size()) {
      after_cr_ = true;
    }
    pos = end + (data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n' ? 2 : 1);
  }
}

void DotStuffer::Finish(std::string& out) {
  if (!line_start_) {
    out += "\r\n";
  }
  out += ".\r\n";
  line_start_ = true;
  after_cr_ = false;
}

}  // namespace sluice::smtp
