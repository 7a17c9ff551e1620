#include "dkim/key_store.h"

#include <algorithm>

namespace sluice::dkim {

const char* ToString(Published p) {
  switch (p) {
    case Published::kYes:
      return "published";
    case Published::kNo:
      return "not published";
    case Published::kUnknown:
      return "unknown";
  }
  return "unknown";
}

KeyStore::KeyStore(Options opts) : opts_(std::move(opts)) {
  for (std::size_t i = 0; i < opts_.domains.size(); ++i) {
    by_domain_.emplace(opts_.domains[i].domain, i);
  }
}

std::vector<Choice> KeyStore::Choose(std::string_view from_domain, TimePoint now) const {
  auto it = by_domain_.find(std::string(from_domain));
  if (it == by_domain_.end() && !opts_.fallback_domain.empty()) {
    it = by_domain_.find(opts_.fallback_domain);
  }
  if (it == by_domain_.end()) {
    return {};
  }
  const DomainConfig& d = opts_.domains[it->second];
  std::vector<Choice> out;
  for (Algorithm alg : {Algorithm::kRsaSha256, Algorithm::kEd25519Sha256}) {
    const KeyConfig* best = nullptr;
    for (const auto& k : d.keys) {
      if (k.key.algorithm() != alg) {
        continue;
      }
      if ((k.valid_from && now < *k.valid_from) || (k.valid_until && now >= *k.valid_until)) {
        continue;
      }
      if (opts_.require_published && IsPublished(d.signing_domain, k.selector) != Published::kYes) {
        continue;
      }
      auto from = k.valid_from.value_or(TimePoint::min());
      if (best == nullptr || from > best->valid_from.value_or(TimePoint::min())) {
        best = &k;
      }
    }
    if (best != nullptr) {
      out.push_back({best, &d});
    }
  }
  return out;
}

void KeyStore::SetPublished(const std::string& signing_domain, const std::string& selector,
                            Published p) {
  std::lock_guard lock(mu_);
  published_[{signing_domain, selector}] = p;
}

Published KeyStore::IsPublished(const std::string& signing_domain,
                                const std::string& selector) const {
  std::lock_guard lock(mu_);
  auto it = published_.find({signing_domain, selector});
  return it == published_.end() ? Published::kUnknown : it->second;
}

Published MatchPublished(const PrivateKey& key, const std::vector<std::string>& records,
                         std::string* why) {
  std::string reason = "no TXT record";
  const std::string ours = key.PublicKeyBase64();
  for (const auto& r : records) {
    auto pub = PublicKey::FromRecord(r);
    if (!pub) {
      reason = "the record does not parse: " + pub.error();
      continue;
    }
    if (pub->algorithm() == key.algorithm() && pub->base64() == ours) {
      return Published::kYes;
    }
    reason = "the published key is not this key";
  }
  if (why != nullptr) {
    *why = reason;
  }
  return Published::kNo;
}

std::string FromDomain(std::string_view prepended, std::string_view message) {
  const HeaderField* from = nullptr;
  auto a = SplitFields(prepended);
  auto b = SplitFields(message);
  for (const auto* list : {&a, &b}) {
    for (const auto& f : *list) {
      if (from == nullptr && IEquals(f.name, "From")) {
        from = &f;
      }
    }
  }
  if (from == nullptr) {
    return {};
  }
  // The first mailbox: inside <...> if there is one, else the bare address.
  // Quoted display names and comments may hold '@' and '<'; skip them.
  std::string_view v = from->raw.substr(from->raw.find(':') + 1);
  std::string addr;
  bool quoted = false;
  int comment = 0;
  bool angle = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (comment > 0) {
      if (c == '\\') {
        ++i;
      } else if (c == '(') {
        ++comment;
      } else if (c == ')') {
        --comment;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      ++comment;
    } else if (c == '<') {
      angle = true;
      addr.clear();
    } else if (c == '>' && angle) {
      break;
    } else if (c == ',' && !angle) {
      break;  // the end of the first mailbox
    } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      addr += c;
    }
  }
  auto at = addr.rfind('@');
  if (at == std::string::npos) {
    return {};
  }
  std::string domain = addr.substr(at + 1);
  for (char& c : domain) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c | 0x20);
    }
  }
  while (!domain.empty() && domain.back() == '.') {
    domain.pop_back();
  }
  return domain;
}

std::vector<Choice> ChooseFor(const KeyStore& store, std::string_view prepended,
                              std::string_view message, TimePoint now) {
  return store.Choose(FromDomain(prepended, message), now);
}

bool AnyRsa(const std::vector<Choice>& choices) {
  return std::any_of(choices.begin(), choices.end(), [](const Choice& c) {
    return c.key->key.algorithm() == Algorithm::kRsaSha256;
  });
}

std::string SignMessage(const KeyStore& store, std::string_view prepended,
                        std::string_view message, TimePoint now,
                        std::vector<std::string>* errors) {
  return SignWith(store, ChooseFor(store, prepended, message, now), prepended, message, now,
                  errors);
}

std::string SignWith(const KeyStore& store, const std::vector<Choice>& choices,
                     std::string_view prepended, std::string_view message, TimePoint now,
                     std::vector<std::string>* errors) {
  if (choices.empty()) {
    return {};
  }
  const Options& o = store.options();
  MessageView view = View(prepended, message);
  std::string body_hash = BodyHash(o.canon.body, view.body);
  std::string out;
  for (const auto& c : choices) {
    SignOptions so;
    so.domain = c.domain->signing_domain;
    so.selector = c.key->selector;
    so.canon = o.canon;
    so.headers = o.headers;
    so.oversign = o.oversign;
    so.expire = o.expire;
    so.now = now;
    auto field = Sign(c.key->key, so, view, body_hash);
    if (field) {
      out += field.value();
    } else if (errors != nullptr) {
      errors->push_back(so.selector + "._domainkey." + so.domain + ": " + field.error());
    }
  }
  return out;
}

}  // namespace sluice::dkim
