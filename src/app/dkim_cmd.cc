#include "app/dkim_cmd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "app/run_sync.h"
#include "config/config.h"
#include "dkim/key.h"
#include "dkim/sign.h"
#include "dkim/verify.h"
#include "dns/unbound_resolver.h"

namespace sluice::app {
namespace {

int Usage() {
  std::fputs(
      "usage: sluice dkim keygen --domain D --selector S --algorithm "
      "rsa2048|rsa3072|rsa4096|ed25519"
      " [--out FILE]\n"
      "       sluice dkim sign --key FILE --domain D --selector S [--canonicalization C]"
      " [--expire DURATION]  < message\n"
      "       sluice dkim verify [--key-record NAME=RECORD]...  < message\n",
      stderr);
  return 2;
}

// --name value pairs; repeated names keep every value.
std::optional<std::multimap<std::string, std::string>> Flags(const std::vector<std::string>& a,
                                                             std::size_t from) {
  std::multimap<std::string, std::string> out;
  for (std::size_t i = from; i < a.size(); i += 2) {
    if (a[i].rfind("--", 0) != 0 || i + 1 >= a.size()) {
      return std::nullopt;
    }
    out.emplace(a[i].substr(2), a[i + 1]);
  }
  return out;
}

std::string Flag(const std::multimap<std::string, std::string>& f, const std::string& name) {
  auto it = f.find(name);
  return it == f.end() ? std::string() : it->second;
}

std::string ReadStdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// A TXT record in zone-file syntax: strings of at most 255 characters (RFC 1035 §3.3.14).
std::string ZoneTxt(const std::string& text) {
  std::string out;
  for (std::size_t pos = 0; pos < text.size(); pos += 255) {
    out += (out.empty() ? "\"" : " \"") + text.substr(pos, 255) + "\"";
  }
  return out;
}

int Keygen(const std::multimap<std::string, std::string>& f) {
  std::string domain = Flag(f, "domain");
  std::string selector = Flag(f, "selector");
  std::string alg = Flag(f, "algorithm");
  if (domain.empty() || selector.empty() || alg.empty()) {
    return Usage();
  }
  std::optional<dkim::PrivateKey> key;
  if (alg == "ed25519") {
    auto k = dkim::PrivateKey::Generate(dkim::Algorithm::kEd25519Sha256);
    if (k) {
      key = std::move(k).value();
    }
  } else if (alg == "rsa2048" || alg == "rsa3072" || alg == "rsa4096") {
    auto k = dkim::PrivateKey::Generate(dkim::Algorithm::kRsaSha256, std::stoi(alg.substr(3)));
    if (k) {
      key = std::move(k).value();
    }
  } else {
    std::fputs("sluice: --algorithm must be rsa2048, rsa3072, rsa4096 or ed25519\n", stderr);
    return 2;
  }
  if (!key) {
    std::fputs("sluice: key generation failed\n", stderr);
    return 1;
  }
  std::string out = Flag(f, "out");
  if (out.empty()) {
    out = domain + "." + selector + ".pem";
  }
  int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "sluice: cannot create %s (it must not exist yet): %s\n", out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::string pem = key->ToPem();
  bool ok = write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size());
  ok = close(fd) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "sluice: cannot write %s\n", out.c_str());
    return 1;
  }
  std::error_code ec;
  auto abs = std::filesystem::absolute(out, ec);
  std::printf(
      "Wrote the %s private key to %s (mode 0600).\n\n"
      "Publish this DNS record:\n\n%s._domainkey.%s. IN TXT %s\n\n"
      "Then add the key to the configuration:\n\n"
      "[[dkim.domain]]\ndomain = \"%s\"\n\n[[dkim.domain.key]]\nselector = \"%s\"\n"
      "key_file = \"%s\"\n",
      alg.c_str(), out.c_str(), selector.c_str(), domain.c_str(), ZoneTxt(key->DnsRecord()).c_str(),
      domain.c_str(), selector.c_str(), (ec ? out : abs.string()).c_str());
  return 0;
}

int Sign(const std::multimap<std::string, std::string>& f) {
  dkim::SignOptions o;
  o.domain = Flag(f, "domain");
  o.selector = Flag(f, "selector");
  std::string key_file = Flag(f, "key");
  if (o.domain.empty() || o.selector.empty() || key_file.empty()) {
    return Usage();
  }
  if (auto c = Flag(f, "canonicalization"); !c.empty()) {
    auto parsed = dkim::ParseCanon(c);
    if (!parsed) {
      std::fputs("sluice: --canonicalization is e.g. relaxed/relaxed\n", stderr);
      return 2;
    }
    o.canon = *parsed;
  }
  if (auto e = Flag(f, "expire"); !e.empty()) {
    auto d = config::ParseDuration(e);
    if (!d) {
      std::fputs("sluice: --expire is a duration such as 7d\n", stderr);
      return 2;
    }
    o.expire = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  auto key = dkim::PrivateKey::LoadPemFile(key_file);
  if (!key) {
    std::fprintf(stderr, "sluice: %s\n", key.error().c_str());
    return 1;
  }
  std::string msg = ReadStdin();
  auto field = dkim::Sign(key.value(), o, msg);
  if (!field) {
    std::fprintf(stderr, "sluice: %s\n", field.error().c_str());
    return 1;
  }
  std::fwrite(field->data(), 1, field->size(), stdout);
  std::fwrite(msg.data(), 1, msg.size(), stdout);
  return 0;
}

int Verify(const Settings& st, const std::multimap<std::string, std::string>& f) {
  std::map<std::string, std::string> given;
  for (const auto& [name, value] : f) {
    if (name != "key-record") {
      return Usage();
    }
    auto eq = value.find('=');
    if (eq == std::string::npos) {
      return Usage();
    }
    given[value.substr(0, eq)] = value.substr(eq + 1);
  }
  std::string msg = ReadStdin();
  boost::asio::io_context ioc;
  std::unique_ptr<dns::UnboundResolver> resolver;
  dkim::KeyLookup lookup = [&](const std::string& name) -> Result<std::string, dkim::LookupError> {
    if (!given.empty()) {
      auto it = given.find(name);
      if (it == given.end()) {
        return Fail(dkim::LookupError::kNotFound);
      }
      return it->second;
    }
    if (!resolver) {
      auto r = dns::UnboundResolver::Create(ioc, st.dns);
      if (!r) {
        return Fail(dkim::LookupError::kTemporary);
      }
      resolver = std::move(r).value();
    }
    auto answer = RunSync(ioc, resolver->ResolveTxt(name));
    if (!answer) {
      return Fail(dkim::LookupError::kTemporary);
    }
    auto& txt = *answer;
    if (!txt) {
      return Fail(txt.error() == dns::DnsError::kNxDomain ? dkim::LookupError::kNotFound
                                                          : dkim::LookupError::kTemporary);
    }
    for (const auto& t : txt.value()) {
      if (t.find("p=") != std::string::npos) {
        return t;
      }
    }
    return Fail(dkim::LookupError::kNotFound);
  };
  auto verdicts = dkim::Verify(msg, lookup);
  if (verdicts.empty()) {
    std::puts("none: the message has no DKIM-Signature");
    return 1;
  }
  bool all = true;
  for (const auto& v : verdicts) {
    std::printf("%s d=%s s=%s%s%s\n", dkim::ToString(v.status), v.domain.c_str(),
                v.selector.c_str(), v.reason.empty() ? "" : ": ", v.reason.c_str());
    all = all && v.status == dkim::Status::kPass;
  }
  return all ? 0 : 1;
}

}  // namespace

int DkimCommand(const Settings& st, const std::vector<std::string>& args) {
  if (args.empty()) {
    return Usage();
  }
  auto flags = Flags(args, 1);
  if (!flags) {
    return Usage();
  }
  if (args[0] == "keygen") {
    return Keygen(*flags);
  }
  if (args[0] == "sign") {
    return Sign(*flags);
  }
  if (args[0] == "verify") {
    return Verify(st, *flags);
  }
  return Usage();
}

}  // namespace sluice::app
