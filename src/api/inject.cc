#include "api/inject.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include "core/ascii.h"
#include "core/base64.h"
#include "core/time_format.h"
#include "core/utf8.h"
#include "message/compose.h"
#include "message/downgrade.h"
#include "message/template.h"
#include "queue/queue_name.h"

namespace sluice::api {

namespace json = boost::json;

namespace {

using Values = std::map<std::string, std::string>;

InjectError Bad(std::string message) {
  return {"bad_request", std::move(message)};
}

// A string that may go into a header field: UTF-8, no control characters.
bool FitsHeader(std::string_view s) {
  return s.size() <= 900 && IsValidUtf8(s) && std::none_of(s.begin(), s.end(), [](char c) {
           return static_cast<unsigned char>(c) < 0x20 || c == 127;
         });
}

const std::set<std::string>& ReservedFields() {
  // Set from other fields, by ingest, or by Sluice's own machinery.
  static const std::set<std::string> k{"from",
                                       "to",
                                       "cc",
                                       "bcc",
                                       "reply-to",
                                       "subject",
                                       "date",
                                       "message-id",
                                       "mime-version",
                                       "content-type",
                                       "content-transfer-encoding",
                                       "content-disposition",
                                       "received",
                                       "return-path",
                                       "dkim-signature",
                                       "x-tenant",
                                       "x-campaign",
                                       "sender"};
  return k;
}

// "address" or {"email": ..., "name": ...}.
Result<message::Mailbox, std::string> MailboxOf(const json::value& v, const char* what) {
  message::Mailbox m;
  if (v.is_string()) {
    m.address = std::string(v.get_string());
  } else if (v.is_object()) {
    for (const auto& [k, f] : v.get_object()) {
      if ((k != "email" && k != "name") || !f.is_string()) {
        return Fail(fmt::format("\"{}\" is an address or {{\"email\", \"name\"}}", what));
      }
      (k == "email" ? m.address : m.name) = std::string(f.get_string());
    }
  } else {
    return Fail(fmt::format("\"{}\" is an address or {{\"email\", \"name\"}}", what));
  }
  if (!ParseMailbox(m.address)) {
    return Fail(fmt::format("\"{}\": {} is not an address", what, m.address));
  }
  if (!FitsHeader(m.name)) {
    return Fail(fmt::format("\"{}\": the name is not one line of UTF-8", what));
  }
  return m;
}

Result<Values, std::string> ValuesOf(const json::value& v, const std::string& where) {
  Values out;
  if (!v.is_object()) {
    return Fail(where + " must be an object of strings");
  }
  for (const auto& [k, f] : v.get_object()) {
    if (!f.is_string()) {
      return Fail(fmt::format("{}: \"{}\" must be a string", where, std::string_view(k)));
    }
    out[std::string(k)] = std::string(f.get_string());
  }
  return out;
}

// Requests of one campaign repeat their templates: each reactor thread keeps
// the last few it parsed (a template is used by one request at a time there).
Result<std::shared_ptr<message::Template>, std::string> CachedTemplate(
    std::string_view text, message::Template::Escape escape) {
  thread_local std::map<std::pair<std::string, int>, std::shared_ptr<message::Template>> cache;
  auto key = std::pair{std::string(text), static_cast<int>(escape)};
  if (auto it = cache.find(key); it != cache.end()) {
    return it->second;
  }
  auto t = message::Template::Parse(text, escape);
  if (!t) {
    return Fail(t.error());
  }
  if (cache.size() >= 32 || text.size() > (256u << 10)) {
    cache.clear();  // small and bounded; large templates are not kept
  }
  auto shared = std::make_shared<message::Template>(std::move(t).value());
  if (text.size() <= (256u << 10)) {
    cache.emplace(std::move(key), shared);
  }
  return shared;
}

struct Parts {
  message::Composition base;  // everything but To and the rendered texts
  std::shared_ptr<message::Template> subject, text, html;
  Values defaults;
};

Result<Parts, InjectError> ReadParts(const json::object& o) {
  Parts p;
  auto from = MailboxOf(o.at("from"), "from");
  if (!from) {
    return Fail(Bad(from.error()));
  }
  p.base.from = std::move(from).value();
  if (auto* r = o.if_contains("reply_to")) {
    auto m = MailboxOf(*r, "reply_to");
    if (!m) {
      return Fail(Bad(m.error()));
    }
    p.base.reply_to = std::move(m).value();
  }
  auto tmpl = [&o](const char* key, message::Template::Escape esc,
                   std::shared_ptr<message::Template>& into) -> std::optional<InjectError> {
    auto* f = o.if_contains(key);
    if (f == nullptr) {
      return std::nullopt;
    }
    if (!f->is_string() || !IsValidUtf8(std::string_view(f->get_string()))) {
      return Bad(fmt::format("\"{}\" must be a UTF-8 string", key));
    }
    if (std::string_view(f->get_string()).find('\0') != std::string_view::npos) {
      return Bad(fmt::format("\"{}\" holds a NUL character", key));
    }
    auto t = CachedTemplate(std::string_view(f->get_string()), esc);
    if (!t) {
      return Bad(fmt::format("\"{}\" is not a valid template: {}", key, t.error()));
    }
    into = std::move(t).value();
    return std::nullopt;
  };
  for (auto [key, esc, slot] : {std::tuple{"subject", message::Template::Escape::kNone, &p.subject},
                                std::tuple{"text", message::Template::Escape::kNone, &p.text},
                                std::tuple{"html", message::Template::Escape::kHtml, &p.html}}) {
    if (auto e = tmpl(key, esc, *slot)) {
      return Fail(*e);
    }
  }
  if (!p.text && !p.html) {
    return Fail(Bad("a message needs \"text\", \"html\" or both (or \"content\")"));
  }
  if (auto* h = o.if_contains("headers")) {
    auto values = ValuesOf(*h, "\"headers\"");
    if (!values) {
      return Fail(Bad(values.error()));
    }
    for (auto& [name, value] : *values) {
      if (!message::ValidFieldName(name) || ReservedFields().count(AsciiLower(name)) != 0) {
        return Fail(Bad(fmt::format("\"headers\": {} may not be set this way", name)));
      }
      if (!FitsHeader(value)) {
        return Fail(Bad(fmt::format("\"headers\": {} is not one line of UTF-8", name)));
      }
      p.base.headers.emplace_back(name, value);
    }
  }
  if (auto* a = o.if_contains("attachments")) {
    if (!a->is_array()) {
      return Fail(Bad("\"attachments\" must be an array"));
    }
    for (const auto& item : a->get_array()) {
      message::Attachment att;
      att.content_type = "application/octet-stream";
      std::optional<std::string> data;
      if (!item.is_object()) {
        return Fail(Bad("an attachment is {\"filename\", \"content_type\", \"content\"}"));
      }
      for (const auto& [k, f] : item.get_object()) {
        if (!f.is_string() || (k != "filename" && k != "content_type" && k != "content")) {
          return Fail(Bad("an attachment is {\"filename\", \"content_type\", \"content\"}"));
        }
        std::string s(f.get_string());
        if (k == "filename") {
          att.filename = std::move(s);
        } else if (k == "content_type") {
          att.content_type = std::move(s);
        } else {
          std::erase_if(s, [](char c) { return c == '\r' || c == '\n'; });
          data = Base64Decode(s);
          if (!data) {
            return Fail(Bad("an attachment's \"content\" is not base64 (RFC 4648 §4)"));
          }
        }
      }
      const auto slash = att.content_type.find('/');
      const auto token = [](std::string_view t) {
        return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("!#$&^_.+-").find(c) != std::string_view::npos;
        });
      };
      if (slash == std::string::npos ||
          !token(std::string_view(att.content_type).substr(0, slash)) ||
          !token(std::string_view(att.content_type).substr(slash + 1))) {
        return Fail(Bad("an attachment's \"content_type\" is type/subtype"));
      }
      if (!data || att.filename.empty() || !FitsHeader(att.filename)) {
        return Fail(Bad("an attachment needs a one-line \"filename\" and its \"content\""));
      }
      att.data = std::move(*data);
      p.base.attachments.push_back(std::move(att));
    }
  }
  if (auto* s = o.if_contains("substitutions")) {
    auto values = ValuesOf(*s, "\"substitutions\"");
    if (!values) {
      return Fail(Bad(values.error()));
    }
    p.defaults = std::move(values).value();
  }
  return p;
}

Result<std::vector<std::pair<std::string, std::string>>, std::string> ParseMetadata(
    const json::value& v) {
  if (!v.is_object()) {
    return Fail(std::string("\"metadata\" must be an object of strings"));
  }
  const json::object& o = v.get_object();
  if (o.size() > kMaxMetadataKeys) {
    return Fail(fmt::format("\"metadata\" has {} keys; at most {}", o.size(), kMaxMetadataKeys));
  }
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t bytes = 0;
  for (const auto& [k, value] : o) {
    if (!queue::ValidTag(std::string_view(k))) {
      return Fail(fmt::format("\"metadata\" key \"{}\" must be 1-64 of A-Z a-z 0-9 . _ -",
                              std::string_view(k)));
    }
    if (!value.is_string()) {
      return Fail(
          fmt::format("\"metadata\" value of \"{}\" must be a string", std::string_view(k)));
    }
    bytes += k.size() + value.get_string().size();
    out.emplace_back(std::string(k), std::string(value.get_string()));
  }
  if (bytes > kMaxMetadataBytes) {
    return Fail(fmt::format("\"metadata\" is {} bytes; at most {}", bytes, kMaxMetadataBytes));
  }
  return out;
}

}  // namespace

Result<InjectRequest, InjectError> ParseInject(std::string_view body, std::string_view unique) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    return Fail(Bad("the body is not JSON: " + ec.message()));
  }
  if (!v.is_object()) {
    return Fail(Bad("the body must be a JSON object"));
  }
  const json::object& o = v.get_object();
  static const std::set<std::string_view> kKnown{
      "from",     "recipients", "content",     "campaign", "tenant",      "reply_to",
      "subject",  "text",       "html",        "headers",  "attachments", "substitutions",
      "metadata", "send_at",    "unsubscribe", "tracking"};
  for (const auto& [k, _] : o) {
    if (kKnown.count(std::string_view(k)) == 0) {
      return Fail(Bad(fmt::format(
          "unknown field \"{}\" (known: from, recipients, content or subject, text, html, "
          "headers, attachments, substitutions, reply_to; campaign, tenant, metadata, send_at, "
          "unsubscribe, tracking)",
          std::string_view(k))));
    }
  }
  const bool raw = o.contains("content");
  for (const char* part :
       {"reply_to", "subject", "text", "html", "headers", "attachments", "substitutions"}) {
    if (raw && o.contains(part)) {
      return Fail(
          Bad(fmt::format("\"content\" is the whole message: \"{}\" cannot go with it", part)));
    }
  }
  InjectRequest out;
  // The envelope sender: "from" (or its "email"); "" is the null sender.
  const json::value* from = o.if_contains("from");
  if (from == nullptr) {
    return Fail(Bad("\"from\" (the sender) is required; \"\" is the null sender"));
  }
  Address sender;
  {
    std::string given;
    if (from->is_string()) {
      given = std::string(from->get_string());
    } else if (!raw && from->is_object() && from->get_object().contains("email") &&
               from->get_object().at("email").is_string()) {
      given = std::string(from->get_object().at("email").get_string());
    } else {
      return Fail(Bad(raw ? "\"from\" must be a string"
                          : "\"from\" is an address or {\"email\", \"name\"}"));
    }
    if (!given.empty() || !raw) {
      auto a = ParseMailbox(given);
      if (!a) {
        return Fail(
            Bad(fmt::format("\"from\": {} is not an address: {}", given, ToString(a.error()))));
      }
      sender = std::move(a).value();
    }
  }
  for (const char* key : {"campaign", "tenant"}) {
    if (const json::value* f = o.if_contains(key)) {
      if (!f->is_string() || !queue::ValidTag(std::string_view(f->get_string()))) {
        return Fail(Bad(fmt::format("\"{}\" must be 1-64 of A-Z a-z 0-9 . _ -", key)));
      }
      (std::string_view(key) == "campaign" ? out.campaign : out.tenant) =
          std::string(f->get_string());
    }
  }
  if (const json::value* u = o.if_contains("unsubscribe")) {
    if (!u->is_bool()) {
      return Fail(Bad("\"unsubscribe\" is true or false"));
    }
    out.unsubscribe = u->get_bool();
  }
  if (const json::value* t = o.if_contains("tracking")) {
    // {"opens": true, "clicks": true}: either may be left out (false).
    constexpr std::string_view kTrackingShape =
        "\"tracking\" is an object: {\"opens\": true|false, \"clicks\": true|false}";
    if (!t->is_object()) {
      return Fail(Bad(std::string(kTrackingShape)));
    }
    for (const auto& [k, flag] : t->get_object()) {
      if ((k != "opens" && k != "clicks") || !flag.is_bool()) {
        return Fail(Bad(std::string(kTrackingShape)));
      }
      (k == "opens" ? out.track_opens : out.track_clicks) = flag.get_bool();
    }
  }
  if (const json::value* m = o.if_contains("metadata")) {
    auto metadata = ParseMetadata(*m);
    if (!metadata) {
      return Fail(Bad(std::move(metadata).error()));
    }
    out.metadata = std::move(metadata).value();
  }
  if (const json::value* at = o.if_contains("send_at")) {
    out.send_at = at->is_string() ? ParseRfc3339(std::string_view(at->get_string())) : std::nullopt;
    if (!out.send_at) {
      return Fail(Bad("\"send_at\" must be an RFC 3339 date-time, as 2026-12-24T08:00:00Z"));
    }
  }
  const json::value* rcpts = o.if_contains("recipients");
  if (rcpts == nullptr || !rcpts->is_array() || rcpts->get_array().empty()) {
    return Fail(Bad("\"recipients\" must be a non-empty array"));
  }
  if (rcpts->get_array().size() > kMaxRecipientsPerRequest) {
    return Fail(InjectError{"too_many_recipients",
                            fmt::format("at most {} recipients a request; this one has {}",
                                        kMaxRecipientsPerRequest, rcpts->get_array().size())});
  }

  std::optional<Parts> parts;
  OutgoingMessage whole;
  if (raw) {
    const json::value& content = o.at("content");
    if (!content.is_string() || content.get_string().empty()) {
      return Fail(Bad("\"content\" must be the whole message, header and body"));
    }
    const std::string_view c(content.get_string());
    if (!IsValidUtf8(c)) {
      return Fail(Bad("\"content\" is not valid UTF-8"));
    }
    if (c.find('\0') != std::string_view::npos) {
      return Fail(Bad("\"content\" holds a NUL character (RFC 5322 §2.2 forbids it)"));
    }
    whole.content = message::ToCrlfLines(c);
    whole.envelope.sender = sender;
  } else {
    auto p = ReadParts(o);
    if (!p) {
      return Fail(p.error());
    }
    parts = std::move(p).value();
  }

  std::size_t composed = 0;
  std::size_t index = 0;
  for (const json::value& r : rcpts->get_array()) {
    ++index;
    std::string given;
    std::string name;
    Values values;
    bool shape_ok = r.is_string();
    if (r.is_string()) {
      given = std::string(r.get_string());
    } else if (r.is_object()) {
      shape_ok = true;
      for (const auto& [k, f] : r.get_object()) {
        if (k == "email" && f.is_string()) {
          given = std::string(f.get_string());
        } else if (!raw && k == "name" && f.is_string() &&
                   FitsHeader(std::string_view(f.get_string()))) {
          name = std::string(f.get_string());
        } else if (!raw && k == "substitutions") {
          auto subs = ValuesOf(f, "");
          shape_ok = shape_ok && subs.ok();
          if (subs) {
            values = std::move(subs).value();
          }
        } else {
          shape_ok = false;
        }
      }
      shape_ok = shape_ok && r.get_object().contains("email");
    }
    if (!shape_ok) {
      out.rejected.push_back(
          {json::serialize(r).substr(0, 200),
           raw ? "a recipient is \"address\" or {\"email\": \"address\"}"
               : "a recipient is \"address\" or {\"email\", \"name\", \"substitutions\"}"});
      continue;
    }
    auto a = ParseMailbox(given);
    if (!a) {
      out.rejected.push_back({given, std::string("not an address: ") + ToString(a.error())});
      continue;
    }
    Recipient rc;
    rc.address = std::move(a).value();
    if (raw) {
      whole.envelope.smtputf8 = whole.envelope.smtputf8 || rc.address.utf8;
      whole.envelope.recipients.push_back(std::move(rc));
      whole.recipients.push_back(std::move(given));
      continue;
    }
    // One message for this recipient, its values over the request's.
    Values all = parts->defaults;
    for (auto& [k, val] : values) {
      all[k] = std::move(val);
    }
    all["email"] = given;
    all["name"] = name;
    message::Composition c = parts->base;
    c.to = {given, name};
    const std::size_t room = kMaxComposedBytes - std::min(composed, kMaxComposedBytes);
    for (auto [tmpl, into] : {std::pair{&parts->subject, &c.subject},
                              std::pair{&parts->text, &c.text}, std::pair{&parts->html, &c.html}}) {
      if (!*tmpl) {
        continue;
      }
      auto rendered = (*tmpl)->Render(all, room);
      if (!rendered) {
        return Fail(InjectError{"too_large", "the messages of this request would be over " +
                                                 std::to_string(kMaxComposedBytes >> 20) +
                                                 " MiB: " + rendered.error()});
      }
      *into = std::move(rendered).value();
    }
    if (!FitsHeader(c.subject)) {
      out.rejected.push_back({given, "the subject, filled in, is not one line of up to 900 bytes"});
      continue;
    }
    OutgoingMessage m;
    m.envelope.sender = sender;
    m.envelope.smtputf8 = sender.utf8 || rc.address.utf8;
    m.envelope.recipients.push_back(std::move(rc));
    m.content = message::Compose(c, fmt::format("{}_{}", unique, index));
    composed += m.content.size();
    if (composed > kMaxComposedBytes) {
      return Fail(InjectError{"too_large", "the messages of this request would be over " +
                                               std::to_string(kMaxComposedBytes >> 20) + " MiB"});
    }
    if (message::Has8Bit(m.content)) {
      m.envelope.body = BodyType::k8BitMime;
    }
    m.recipients.push_back(std::move(given));
    out.messages.push_back(std::move(m));
  }
  if (raw && !whole.envelope.recipients.empty()) {
    whole.envelope.smtputf8 = whole.envelope.smtputf8 || sender.utf8;
    if (message::Has8Bit(whole.content)) {
      whole.envelope.body = BodyType::k8BitMime;
    }
    out.messages.push_back(std::move(whole));
  }
  return out;
}

}  // namespace sluice::api
