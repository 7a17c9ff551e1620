#include "dkim/sign.h"

#include <algorithm>

#include "core/ascii.h"
#include "core/base64.h"

namespace sluice::dkim {
namespace {

// Appends tag text, folding before it if the line would pass 76 columns.
class Folder {
 public:
  explicit Folder(std::string& out) : out_(out), column_(out.size()) {}
  void Put(std::string_view piece, bool may_fold = true) {
    if (may_fold && column_ + piece.size() > 76 && column_ > 1) {
      out_ += "\r\n\t";
      column_ = 1;
      if (!piece.empty() && piece.front() == ' ') {
        piece.remove_prefix(1);  // the tab separates
      }
    }
    out_ += piece;
    column_ += piece.size();
  }

 private:
  std::string& out_;
  std::size_t column_;
};

}  // namespace

const std::vector<std::string>& DefaultSignedHeaders() {
  static const std::vector<std::string> kHeaders = {
      "From",         "To",           "Cc",
      "Subject",      "Date",         "Message-ID",
      "Reply-To",     "MIME-Version", "Content-Type",
      "List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID"};
  return kHeaders;
}

const std::vector<std::string>& DefaultOversignedHeaders() {
  static const std::vector<std::string> kHeaders = {"From", "Subject"};
  return kHeaders;
}

MessageView View(std::string_view prepended, std::string_view message) {
  MessageView v;
  v.fields = SplitFields(prepended);
  auto rest = SplitFields(message);
  v.fields.insert(v.fields.end(), rest.begin(), rest.end());
  v.body = message.substr(BodyOffset(message));
  return v;
}

std::string BodyHash(Canon c, std::string_view body) {
  Sha256Hasher h;
  CanonBody(c, body, [&](std::string_view piece) { h.Update(piece); });
  return Base64Encode(h.Final());
}

std::string HeaderHashInput(Canon c, const std::vector<HeaderField>& fields,
                            const std::vector<std::string>& names,
                            std::string_view signature_field_without_b) {
  std::string out;
  std::vector<bool> used(fields.size(), false);
  for (const auto& name : names) {
    for (std::size_t i = fields.size(); i-- > 0;) {
      if (!used[i] && IEquals(fields[i].name, name)) {
        used[i] = true;
        out += CanonHeader(c, fields[i]);
        break;
      }
    }
  }
  std::string sig = CanonHeaderText(c, signature_field_without_b);
  sig.resize(sig.size() - 2);  // §3.7: without the trailing CRLF
  out += sig;
  return out;
}

Result<std::string, std::string> Sign(const PrivateKey& key, const SignOptions& o,
                                      const MessageView& m, std::string_view body_hash) {
  // The names to sign: one per instance present, plus one more for each
  // over-signed name, so that no further instance can be added unnoticed.
  std::vector<std::string> names;
  auto present = [&](const std::string& h) {
    return std::count_if(m.fields.begin(), m.fields.end(),
                         [&](const HeaderField& f) { return IEquals(f.name, h); });
  };
  auto listed = [](const std::vector<std::string>& list, const std::string& h) {
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& x) { return IEquals(x, h); });
  };
  for (const auto& h : o.headers) {
    if (listed(o.oversign, h)) {
      continue;  // below, with its extra entry
    }
    for (long i = 0, n = present(h); i < n; ++i) {
      names.push_back(AsciiLower(h));
    }
  }
  // Each over-signed name: one entry per instance present and one more, so
  // no further instance can be added unnoticed (§8.15).
  for (const auto& h : o.oversign) {
    for (long i = 0, n = present(h); i <= n; ++i) {
      names.push_back(AsciiLower(h));
    }
  }
  if (std::find(names.begin(), names.end(), "from") == names.end()) {
    names.insert(names.begin(), "from");  // §5.4: From MUST be signed
  }
  auto t = std::chrono::duration_cast<std::chrono::seconds>(o.now.time_since_epoch()).count();

  std::string field = "DKIM-Signature:";
  Folder f(field);
  f.Put(" v=1;");
  f.Put(std::string(" a=") + ToString(key.algorithm()) + ";");
  f.Put(" c=" + ToString(o.canon) + ";");
  f.Put(" d=" + o.domain + ";");
  f.Put(" s=" + o.selector + ";");
  if (!o.identity.empty()) {
    f.Put(" i=" + o.identity + ";");
  }
  f.Put(" t=" + std::to_string(t) + ";");
  if (o.expire) {
    f.Put(" x=" + std::to_string(t + o.expire->count()) + ";");
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string piece = (i == 0 ? " h=" : ":") + names[i];
    if (i + 1 == names.size()) {
      piece += ";";
    }
    f.Put(piece);
  }
  f.Put(" bh=" + std::string(body_hash) + ";");
  f.Put(" b=");

  auto sig = key.Sign(HeaderHashInput(o.canon.header, m.fields, names, field));
  if (!sig) {
    return Fail(sig.error());
  }
  // b= is folded freely: its whitespace is not part of the value (§3.5).
  std::string b = Base64Encode(sig.value());
  std::size_t column = field.size() - field.rfind('\n');
  for (std::size_t pos = 0; pos < b.size();) {
    std::size_t room = column >= 76 ? 0 : 76 - column;
    if (room < 8) {
      field += "\r\n\t";
      column = 1;
      continue;
    }
    std::size_t n = std::min(room, b.size() - pos);
    field.append(b, pos, n);
    column += n;
    pos += n;
  }
  field += "\r\n";
  return field;
}

Result<std::string, std::string> Sign(const PrivateKey& key, const SignOptions& o,
                                      std::string_view message) {
  MessageView m = View({}, message);
  return Sign(key, o, m, BodyHash(o.canon.body, m.body));
}

}  // namespace sluice::dkim
