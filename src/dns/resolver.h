#pragma once
// Security: parses DNS answers (from a resolver we configure, about domains our
//           senders choose); DNSSEC status is reported, not assumed.
// Standards: RFC 5321 §5.1 (locating the target host: MX, implicit MX), RFC 1035
//            §3.3.14 (TXT), §3.5 (in-addr.arpa), RFC 3596 §2.5 (ip6.arpa),
//            RFC 7505 (null MX), RFC 1035 §3.3.9 (MX RDATA), RFC 2308 (negative caching).

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/result.h"

namespace sluice::dns {

enum class DnsError {
  kNxDomain,    // permanent: the domain does not exist
  kNoMailHost,  // permanent: no MX and no address records
  kNullMx,      // permanent: RFC 7505 "0 ." (5.1.10)
  kServFail,    // transient
  kTimeout,     // transient
  kBogus,       // transient: DNSSEC validation failed
  kBadName,     // permanent: not a domain name
};
const char* ToString(DnsError e);
bool IsPermanent(DnsError e);

struct MxHost {
  std::uint16_t preference = 0;
  std::string host;  // lower case, no trailing dot
};

struct MxSet {
  std::vector<MxHost> hosts;  // delivery order: preference, equal ones shuffled
  bool implicit = false;      // no MX: the domain itself (RFC 5321 §5.1)
  bool secure = false;        // DNSSEC-validated answer
  std::uint32_t ttl = 0;
  // The site: the MX host names, sorted and joined with ','. Domains that share
  // their mail exchangers share a site, and so a ready queue.
  std::string Site() const;
};

// One TLSA record (RFC 6698 §2.1).
struct TlsaRecord {
  std::uint8_t usage = 0;
  std::uint8_t selector = 0;
  std::uint8_t mtype = 0;
  std::string data;  // certificate association data, raw octets
};

// The TLSA records of a server (RFC 7672 §2.2).
struct TlsaSet {
  std::vector<TlsaRecord> records;  // empty: none published, or not looked up (insecure)
  bool secure = false;              // a DNSSEC-validated answer (records or their denial)
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual boost::asio::awaitable<Result<MxSet, DnsError>> ResolveMx(std::string domain) = 0;
  // A and AAAA addresses of a host, IPv6 first, as text.
  virtual boost::asio::awaitable<Result<std::vector<std::string>, DnsError>> ResolveAddresses(
      std::string host) = 0;
  // TXT records at a name, each one's strings joined (RFC 7208 §3.3, RFC 6376
  // §3.6.2.2); empty if the name exists without TXT records.
  virtual boost::asio::awaitable<Result<std::vector<std::string>, DnsError>> ResolveTxt(
      std::string name) = 0;
  // PTR names of an IPv4 or IPv6 address, lower case, without the trailing dot.
  virtual boost::asio::awaitable<Result<std::vector<std::string>, DnsError>> ResolvePtr(
      std::string ip) = 0;
  // TLSA records at _port._tcp.host. RFC 7672 §2.2.2: asked only when the
  // host's address records are DNSSEC-secure (an insecure host gets an empty,
  // insecure set without a query); an insecure TLSA answer counts as none; a
  // bogus one is kBogus. The default (no DNSSEC): none, insecure.
  virtual boost::asio::awaitable<Result<TlsaSet, DnsError>> ResolveTlsa(std::string host,
                                                                        std::uint16_t port);
};

// Pure helpers, exposed for tests.
// Orders by preference and shuffles hosts of equal preference (RFC 5321 §5.1).
void OrderMx(std::vector<MxHost>& hosts, std::mt19937& rng);
// Decodes MX RDATA (preference, uncompressed exchange name); false if malformed.
bool ParseMxRdata(std::string_view rdata, MxHost& out);
// Decodes TXT RDATA: its character-strings, joined; false if malformed.
bool ParseTxtRdata(std::string_view rdata, std::string& out);
// Decodes TLSA RDATA (RFC 6698 §2.1); false if shorter than its fixed part.
bool ParseTlsaRdata(std::string_view rdata, TlsaRecord& out);
// Decodes a domain name in RDATA (uncompressed, as libunbound hands it over).
bool ParseNameRdata(std::string_view rdata, std::string& out);
// The reverse-lookup name of an address ("4.3.2.1.in-addr.arpa", nibbles in ip6.arpa).
std::optional<std::string> ReverseName(const std::string& ip);
// RFC 7505 §3: exactly one MX, preference 0, exchange ".".
bool IsNullMx(const std::vector<MxHost>& hosts);

}  // namespace sluice::dns
