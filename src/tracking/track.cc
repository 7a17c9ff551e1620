#include "tracking/track.h"

#include "message/html_parts.h"
#include "tracking/html.h"

namespace sluice::tracking {

std::string CleanUrl(std::string_view url) {
  std::string out;
  out.reserve(url.size());
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\t' || c == '\r' || c == '\n') {
      continue;
    }
    if (u <= 0x20 || u == 0x7f) {
      return "";
    }
    if (u >= 0x80) {
      // As a browser sends it: UTF-8 octets percent-encoded (RFC 3987 §3.1).
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
      continue;
    }
    out += c;
  }
  return out;
}

std::string Track(std::string_view message, const Hit& hit, bool opens, bool clicks,
                  const Settings& s, bool* changed) {
  std::string pixel;
  if (opens) {
    Hit open = hit;
    open.kind = Kind::kOpen;
    open.url.clear();
    if (auto token = Encode(open, s.secret)) {
      pixel = s.base_url + "/t/o/" + *token;
    }
  }
  LinkFn link;
  if (clicks) {
    link = [&hit, &s](const std::string& url) -> std::optional<std::string> {
      if (!s.skip_prefix.empty() && url.rfind(s.skip_prefix, 0) == 0) {
        return std::nullopt;
      }
      Hit click = hit;
      click.kind = Kind::kClick;
      click.url = CleanUrl(url);
      if (click.url.empty()) {
        return std::nullopt;
      }
      auto token = Encode(click, s.secret);
      if (!token) {
        return std::nullopt;
      }
      return s.base_url + "/t/c/" + *token;
    };
  }
  return message::RewriteHtmlParts(
      message, [&](std::string_view html) { return TrackHtml(html, link, pixel); }, changed);
}

}  // namespace sluice::tracking
