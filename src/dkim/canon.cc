#include "dkim/canon.h"

#include <algorithm>

namespace sluice::dkim {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// Finds the end of the line starting at `pos`: returns the index of its line
// end and sets `next` past it (CRLF, lone CR or lone LF); npos if none.
std::size_t LineEnd(std::string_view s, std::size_t pos, std::size_t& next) {
  std::size_t nl = s.find('\n', pos);
  std::size_t limit = nl == std::string_view::npos ? s.size() : nl;
  std::size_t cr = s.substr(0, limit).find('\r', pos);
  std::size_t end = cr != std::string_view::npos ? cr : nl;
  if (end == std::string_view::npos) {
    next = s.size();
    return end;
  }
  next = end + (end + 1 == nl ? 2 : 1);
  return end;
}

// Output gathered into blocks before it reaches the consumer.
class Sink {
 public:
  explicit Sink(const std::function<void(std::string_view)>& out) : out_(out) {}
  ~Sink() { Flush(); }
  void Put(std::string_view s) {
    total_ += s.size();
    if (buf_.size() + s.size() > kBlock) {
      Flush();
      if (s.size() > kBlock) {
        out_(s);
        return;
      }
    }
    buf_.append(s);
  }
  void Flush() {
    if (!buf_.empty()) {
      out_(buf_);
      buf_.clear();
    }
  }
  std::size_t total() const { return total_; }

 private:
  static constexpr std::size_t kBlock = 16 * 1024;
  const std::function<void(std::string_view)>& out_;
  std::string buf_;
  std::size_t total_ = 0;
};

// True if a line has no tab and no run of two spaces: relaxed leaves it as is.
bool RelaxedUnchanged(std::string_view text) {
  return text.find('\t') == std::string_view::npos && text.find("  ") == std::string_view::npos;
}

// `text` with each run of WSP as one SP, into `out` (copied a span at a time).
void CollapseWsp(std::string_view text, std::string& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t ws = text.find_first_of(" \t", pos);
    if (ws == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, ws - pos));
    out += ' ';
    pos = text.find_first_not_of(" \t", ws);
    if (pos == std::string_view::npos) {
      break;
    }
  }
}

}  // namespace

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lx = static_cast<unsigned char>(x >= 'A' && x <= 'Z' ? x | 0x20 : x);
           auto ly = static_cast<unsigned char>(y >= 'A' && y <= 'Z' ? y | 0x20 : y);
           return lx == ly;
         });
}

std::optional<CanonPair> ParseCanon(std::string_view text) {
  auto one = [](std::string_view s) -> std::optional<Canon> {
    if (s == "simple") {
      return Canon::kSimple;
    }
    if (s == "relaxed") {
      return Canon::kRelaxed;
    }
    return std::nullopt;
  };
  auto slash = text.find('/');
  auto h = one(text.substr(0, slash));
  // RFC 6376 §3.5 c=: a missing body algorithm is "simple".
  auto b = slash == std::string_view::npos ? std::optional<Canon>(Canon::kSimple)
                                           : one(text.substr(slash + 1));
  if (!h || !b) {
    return std::nullopt;
  }
  return CanonPair{*h, *b};
}

std::string ToString(CanonPair c) {
  auto one = [](Canon x) { return x == Canon::kSimple ? "simple" : "relaxed"; };
  return std::string(one(c.header)) + "/" + one(c.body);
}

std::vector<HeaderField> SplitFields(std::string_view text) {
  std::vector<HeaderField> out;
  std::size_t pos = 0;
  std::size_t start = std::string_view::npos;  // of the field being gathered
  std::size_t last_end = 0;                    // end of its latest line
  auto finish = [&] {
    if (start != std::string_view::npos) {
      std::string_view raw = text.substr(start, last_end - start);
      std::string_view name = raw.substr(0, raw.find(':'));
      while (!name.empty() && IsWsp(name.back())) {
        name.remove_suffix(1);
      }
      out.push_back({name, raw});
      start = std::string_view::npos;
    }
  };
  while (pos < text.size()) {
    std::size_t next = 0;
    std::size_t end = LineEnd(text, pos, next);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(pos, end - pos);
    if (line.empty()) {
      break;  // the end of the header section
    }
    if (IsWsp(line.front())) {
      if (start != std::string_view::npos) {
        last_end = end;  // a continuation line
      }
    } else {
      finish();
      if (line.find(':') != std::string_view::npos) {
        start = pos;
        last_end = end;
      }
    }
    pos = next;
  }
  finish();
  return out;
}

std::size_t BodyOffset(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t next = 0;
    std::size_t end = LineEnd(text, pos, next);
    if (end == pos) {
      return next;
    }
    if (end == std::string_view::npos) {
      break;
    }
    pos = next;
  }
  return text.size();
}

std::string CanonHeaderText(Canon c, std::string_view raw) {
  std::string out;
  if (c == Canon::kSimple) {
    out.reserve(raw.size() + 2);
    out.append(raw);
    out += "\r\n";
    return out;
  }
  // RFC 6376 §3.4.2: lower-case the name; unfold; reduce each run of WSP to
  // one SP; no WSP at the ends of the value or around the colon.
  auto colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && IsWsp(name.back())) {
    name.remove_suffix(1);
  }
  out.reserve(raw.size() + 2);
  for (char ch : name) {
    out += ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch | 0x20) : ch;
  }
  out += ':';
  if (colon != std::string_view::npos) {
    // Unfold (drop CR and LF), then collapse WSP runs and trim both ends.
    std::string_view value = raw.substr(colon + 1);
    std::string unfolded;
    if (value.find_first_of("\r\n") != std::string_view::npos) {
      unfolded.reserve(value.size());
      for (char ch : value) {
        if (ch != '\r' && ch != '\n') {
          unfolded += ch;
        }
      }
      value = unfolded;
    }
    while (!value.empty() && IsWsp(value.front())) {
      value.remove_prefix(1);
    }
    while (!value.empty() && IsWsp(value.back())) {
      value.remove_suffix(1);
    }
    if (RelaxedUnchanged(value)) {
      out.append(value);
    } else {
      std::string collapsed;
      CollapseWsp(value, collapsed);
      out += collapsed;
    }
  }
  out += "\r\n";
  return out;
}

std::string CanonHeader(Canon c, const HeaderField& f) { return CanonHeaderText(c, f.raw); }

std::size_t CanonBody(Canon c, std::string_view body,
                      const std::function<void(std::string_view)>& out) {
  Sink sink(out);
  std::size_t empty_lines = 0;  // held back: trailing empty lines are dropped
  std::string line;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t next = 0;
    std::size_t end = LineEnd(body, pos, next);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    std::string_view text = body.substr(pos, end - pos);
    pos = next;
    if (c == Canon::kRelaxed) {
      // §3.4.4: no WSP at line end; each run of WSP inside becomes one SP.
      while (!text.empty() && IsWsp(text.back())) {
        text.remove_suffix(1);
      }
      if (!RelaxedUnchanged(text)) {
        CollapseWsp(text, line);
        text = line;
      }
    }
    if (text.empty()) {
      ++empty_lines;
      continue;
    }
    for (; empty_lines > 0; --empty_lines) {
      sink.Put("\r\n");
    }
    sink.Put(text);
    sink.Put("\r\n");
  }
  // §3.4.3: an empty simple body is one CRLF; §3.4.4: an empty relaxed body is empty.
  if (sink.total() == 0 && c == Canon::kSimple) {
    sink.Put("\r\n");
  }
  sink.Flush();
  return sink.total();
}

}  // namespace sluice::dkim
