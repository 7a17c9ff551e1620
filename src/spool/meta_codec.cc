#include <cstring>

#include "spool/spool.h"

// Meta record layout: a version octet, then fields in a fixed order; integers
// as LEB128 varints, strings as varint length + octets. Version 2 appends the
// tenant and the campaign, version 3 the metadata and send_at, version 4 the
// Message-ID, version 5 the RFC 8689 TLS flags (an octet: 1 REQUIRETLS, 2
// TLS-Required: No); older records (without them) still decode.

namespace sluice::spool {
namespace {

constexpr std::uint8_t kVersion = 5;

void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

void PutAddress(std::string& out, const Address& a) {
  PutString(out, a.local);
  PutString(out, a.domain);
  PutString(out, a.ascii_domain);
  out.push_back(a.utf8 ? 1 : 0);
}

std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t UnZigZag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  std::uint64_t Varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) {
        ok_ = false;
        return 0;
      }
      auto b = static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    ok_ = false;
    return 0;
  }
  std::uint8_t Byte() {
    if (in_.empty()) {
      ok_ = false;
      return 0;
    }
    auto b = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return b;
  }
  std::string String() {
    auto n = Varint();
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  Address Addr() {
    Address a;
    a.local = String();
    a.domain = String();
    a.ascii_domain = String();
    a.utf8 = Byte() != 0;
    return a;
  }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

const char* ToString(SpoolError e) {
  switch (e) {
    case SpoolError::kIo:
      return "spool I/O error";
    case SpoolError::kFull:
      return "spool file system full";
    case SpoolError::kCorrupt:
      return "corrupt spool record";
    case SpoolError::kClosed:
      return "spool closed";
    case SpoolError::kNotFound:
      return "not in spool";
    case SpoolError::kWouldBlock:
      return "not in memory";
  }
  return "spool error";
}

std::string EncodeMeta(const Meta& m) {
  std::string out;
  out.reserve(128);
  out.push_back(static_cast<char>(kVersion));
  auto key = m.id.Key();
  out.append(key.data(), key.size());
  const Envelope& e = m.envelope;
  PutAddress(out, e.sender);
  PutVarint(out, e.recipients.size());
  for (const auto& r : e.recipients) {
    PutAddress(out, r.address);
    out.push_back(static_cast<char>(r.notify));
    PutString(out, r.orcpt);
  }
  out.push_back(static_cast<char>(e.body));
  out.push_back(e.smtputf8 ? 1 : 0);
  out.push_back(static_cast<char>(e.ret));
  PutString(out, e.envid);
  PutVarint(out, ZigZag(m.received_us));
  PutString(out, m.listener);
  PutString(out, m.client_ip);
  PutString(out, m.auth_user);
  PutVarint(out, m.size);
  PutVarint(out, m.attempts);
  PutVarint(out, ZigZag(m.due_us));
  PutString(out, std::string_view(reinterpret_cast<const char*>(m.done.data()), m.done.size()));
  PutString(out, m.tenant);
  PutString(out, m.campaign);
  PutVarint(out, m.metadata.size());
  for (const auto& [k, v] : m.metadata) {
    PutString(out, k);
    PutString(out, v);
  }
  PutVarint(out, ZigZag(m.send_at_us));
  PutString(out, m.message_id);
  out.push_back(static_cast<char>((e.requiretls ? 1 : 0) | (e.tls_optional ? 2 : 0)));
  return out;
}

Result<Meta, SpoolError> DecodeMeta(std::string_view bytes) {
  const auto version = bytes.empty() ? 0 : static_cast<std::uint8_t>(bytes[0]);
  if (bytes.size() < 17 || version < 1 || version > kVersion) {
    return Fail(SpoolError::kCorrupt);
  }
  Meta m;
  auto id = SpoolId::FromKey(bytes.substr(1, 16));
  if (!id) {
    return Fail(SpoolError::kCorrupt);
  }
  m.id = *id;
  Reader r(bytes.substr(17));
  Envelope& e = m.envelope;
  e.sender = r.Addr();
  auto n = r.Varint();
  if (!r.ok() || n > 100000) {
    return Fail(SpoolError::kCorrupt);
  }
  e.recipients.reserve(n);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    Recipient rc;
    rc.address = r.Addr();
    rc.notify = r.Byte();
    rc.orcpt = r.String();
    e.recipients.push_back(std::move(rc));
  }
  e.body = static_cast<BodyType>(r.Byte());
  e.smtputf8 = r.Byte() != 0;
  e.ret = static_cast<DsnRet>(r.Byte());
  e.envid = r.String();
  m.received_us = UnZigZag(r.Varint());
  m.listener = r.String();
  m.client_ip = r.String();
  m.auth_user = r.String();
  m.size = r.Varint();
  m.attempts = static_cast<std::uint32_t>(r.Varint());
  m.due_us = UnZigZag(r.Varint());
  std::string done = r.String();
  m.done.assign(done.begin(), done.end());
  if (version >= 2) {
    m.tenant = r.String();
    m.campaign = r.String();
  }
  if (version >= 3) {
    auto count = r.Varint();
    if (count > 10000) {
      return Fail(SpoolError::kCorrupt);
    }
    for (std::uint64_t i = 0; i < count && r.ok(); ++i) {
      std::string k = r.String();
      std::string v = r.String();
      m.metadata.emplace_back(std::move(k), std::move(v));
    }
    m.send_at_us = UnZigZag(r.Varint());
  }
  if (version >= 4) {
    m.message_id = r.String();
  }
  if (version >= 5) {
    const std::uint8_t tls = r.Byte();
    e.requiretls = (tls & 1) != 0;
    e.tls_optional = (tls & 2) != 0;
  }
  if (!r.ok()) {
    return Fail(SpoolError::kCorrupt);
  }
  return m;
}

}  // namespace sluice::spool
