#include "dkim/verify.h"

#include <charconv>

#include "core/ascii.h"
#include "core/base64.h"
#include "dkim/canon.h"
#include "dkim/key.h"
#include "dkim/sign.h"
#include "dkim/tag_list.h"

namespace sluice::dkim {
namespace {

// Bounds on the work one message can cause.
constexpr std::size_t kMaxSignatures = 8;
constexpr std::size_t kMaxSignedFields = 256;

// The field with the value of its b= tag removed (§3.7: "including all
// surrounding whitespace", i.e. treated as the empty string).
std::string WithoutB(std::string_view raw) {
  auto colon = raw.find(':');
  std::size_t pos = colon + 1;
  while (pos < raw.size()) {
    std::size_t semi = raw.find(';', pos);
    std::size_t end = semi == std::string_view::npos ? raw.size() : semi;
    std::string_view spec = raw.substr(pos, end - pos);
    std::size_t eq = spec.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = spec.substr(0, eq);
      std::size_t a = name.find_first_not_of(" \t\r\n");
      std::size_t b = name.find_last_not_of(" \t\r\n");
      if (a != std::string_view::npos && name.substr(a, b - a + 1) == "b") {
        std::string out(raw.substr(0, pos + eq + 1));
        out.append(raw.substr(end));
        return out;
      }
    }
    pos = end + 1;
  }
  return std::string(raw);
}

bool ParseNumber(std::string_view s, long long& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

Verdict Check(const HeaderField& sig_field, const MessageView& m, const KeyLookup& lookup,
              std::chrono::system_clock::time_point now) {
  Verdict v;
  auto perm = [&v](std::string why) {
    v.status = Status::kPermError;
    v.reason = std::move(why);
    return v;
  };
  std::string_view value = sig_field.raw.substr(sig_field.raw.find(':') + 1);
  auto tags = ParseTagList(value);
  if (!tags) {
    return perm("signature tag list syntax error");
  }
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"}) {
    if (!Find(*tags, required)) {
      return perm(std::string("signature lacks ") + required + "=");
    }
  }
  v.domain = AsciiLower(*Find(*tags, "d"));
  v.selector = std::string(*Find(*tags, "s"));
  if (*Find(*tags, "v") != "1") {
    return perm("unsupported signature version");
  }
  auto alg = ParseAlgorithm(*Find(*tags, "a"));
  if (!alg) {
    return perm("unsupported algorithm " + std::string(*Find(*tags, "a")));
  }
  CanonPair canon{Canon::kSimple, Canon::kSimple};
  if (auto c = Find(*tags, "c")) {
    auto parsed = ParseCanon(StripWhitespace(*c));
    if (!parsed) {
      return perm("unknown canonicalization " + std::string(*c));
    }
    canon = *parsed;
  }
  if (auto q = Find(*tags, "q"); q && StripWhitespace(*q) != "dns/txt") {
    return perm("unsupported query method");
  }
  // h=: From must be among the signed fields (§5.4).
  std::vector<std::string> names;
  {
    std::string h = StripWhitespace(*Find(*tags, "h"));
    for (std::size_t pos = 0; pos <= h.size();) {
      auto c = h.find(':', pos);
      names.push_back(h.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
      if (c == std::string::npos) {
        break;
      }
      pos = c + 1;
    }
    if (names.size() > kMaxSignedFields) {
      return perm("h= names more than " + std::to_string(kMaxSignedFields) + " fields");
    }
    bool from = false;
    for (const auto& n : names) {
      from = from || IEquals(n, "from");
    }
    if (!from) {
      return perm("From is not signed");
    }
  }
  // i= must be in d= or a subdomain of it (§3.5).
  if (auto i = Find(*tags, "i")) {
    std::string id = AsciiLower(StripWhitespace(*i));
    auto at = id.rfind('@');
    std::string idomain = at == std::string::npos ? "" : id.substr(at + 1);
    bool ok = idomain == v.domain ||
              (idomain.size() > v.domain.size() &&
               idomain.compare(idomain.size() - v.domain.size(), v.domain.size(), v.domain) == 0 &&
               idomain[idomain.size() - v.domain.size() - 1] == '.');
    if (!ok) {
      return perm("i= is not within d=");
    }
  }
  long long t = 0;
  long long x = 0;
  bool has_t = false;
  if (auto ts = Find(*tags, "t")) {
    if (!ParseNumber(*ts, t)) {
      return perm("bad t=");
    }
    has_t = true;
  }
  if (auto xs = Find(*tags, "x")) {
    if (!ParseNumber(*xs, x) || (has_t && x < t)) {
      return perm("bad x=");
    }
    auto now_s =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (x < now_s) {
      return perm("signature expired");
    }
  }
  // Body hash, up to l= bytes of the canonical body if limited.
  std::optional<long long> limit;
  if (auto ls = Find(*tags, "l")) {
    long long l = 0;
    if (!ParseNumber(*ls, l) || l < 0) {
      return perm("bad l=");
    }
    limit = l;
  }
  Sha256Hasher hasher;
  long long fed = 0;
  CanonBody(canon.body, m.body, [&](std::string_view piece) {
    if (limit) {
      auto room = static_cast<std::size_t>(std::max(0LL, *limit - fed));
      piece = piece.substr(0, std::min(room, piece.size()));
    }
    fed += static_cast<long long>(piece.size());
    hasher.Update(piece);
  });
  if (limit && fed < *limit) {
    return perm("l= is longer than the body");
  }
  if (Base64Encode(hasher.Final()) != StripWhitespace(*Find(*tags, "bh"))) {
    v.status = Status::kFail;
    v.reason = "body hash did not verify";
    return v;
  }
  auto sig = Base64Decode(StripWhitespace(*Find(*tags, "b")));
  if (!sig) {
    return perm("b= is not base64");
  }
  // The key.
  auto record = lookup(v.selector + "._domainkey." + v.domain);
  if (!record) {
    if (record.error() == LookupError::kTemporary) {
      v.status = Status::kTempError;
      v.reason = "key lookup failed";
      return v;
    }
    return perm("no key record at " + v.selector + "._domainkey." + v.domain);
  }
  auto key = PublicKey::FromRecord(record.value());
  if (!key) {
    return perm("key record: " + key.error());
  }
  if (key->algorithm() != *alg) {
    return perm("key type does not match a=");
  }
  if (*alg == Algorithm::kRsaSha256 && key->bits() < 1024) {
    return perm("RSA key shorter than 1024 bits (RFC 8301)");
  }
  std::string input =
      HeaderHashInput(canon.header, m.fields, names, WithoutB(sig_field.raw));
  if (!key->Verify(input, sig.value())) {
    v.status = Status::kFail;
    v.reason = "signature did not verify";
    return v;
  }
  v.status = Status::kPass;
  return v;
}

}  // namespace

const char* ToString(Status s) {
  switch (s) {
    case Status::kPass:
      return "pass";
    case Status::kFail:
      return "fail";
    case Status::kTempError:
      return "temperror";
    case Status::kPermError:
      return "permerror";
  }
  return "permerror";
}

std::vector<Verdict> Verify(std::string_view message, const KeyLookup& lookup,
                            std::chrono::system_clock::time_point now) {
  MessageView m = View({}, message);
  std::vector<Verdict> out;
  for (const auto& f : m.fields) {
    if (IEquals(f.name, "DKIM-Signature")) {
      if (out.size() < kMaxSignatures) {
        out.push_back(Check(f, m, lookup, now));
      } else {
        // Each signature costs a body hash and a DNS lookup: bounded.
        out.push_back({Status::kPermError, "more than " + std::to_string(kMaxSignatures) +
                                               " signatures; not verified", "", ""});
      }
    }
  }
  return out;
}

}  // namespace sluice::dkim
