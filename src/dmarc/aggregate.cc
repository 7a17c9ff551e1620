#include "dmarc/aggregate.h"

#include <expat.h>

#include <charconv>

#include "core/ascii.h"
#include "core/network.h"

namespace sluice::dmarc {
namespace {

// The parse state expat's callbacks share.
struct State {
  XML_Parser parser = nullptr;
  ParseLimits limits;
  AggregateReport report;
  std::vector<std::string> path;  // element names, prefixes dropped
  std::string text;               // the current element's text
  std::string error;
  Row row;
  AuthResult auth;
  std::string reason_type;

  void Fail(std::string why) {
    if (error.empty()) {
      error = std::move(why);
    }
    XML_StopParser(parser, XML_FALSE);
  }
  // The path from the root, "feedback/record/row/source_ip".
  bool At(std::initializer_list<std::string_view> names) const {
    if (path.size() != names.size()) {
      return false;
    }
    std::size_t i = 0;
    for (auto n : names) {
      if (path[i++] != n) {
        return false;
      }
    }
    return true;
  }
};

std::string LocalName(const XML_Char* name) {
  std::string_view n(name);
  auto colon = n.rfind(':');
  return std::string(colon == std::string_view::npos ? n : n.substr(colon + 1));
}

std::string Trimmed(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return "";
  }
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool ParseInt(const std::string& s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

void XMLCALL OnStart(void* data, const XML_Char* name, const XML_Char** /*attrs*/) {
  auto* st = static_cast<State*>(data);
  if (st->path.size() >= st->limits.max_depth) {
    st->Fail("nested deeper than " + std::to_string(st->limits.max_depth) + " elements");
    return;
  }
  st->path.push_back(LocalName(name));
  st->text.clear();
  if (st->path.size() == 1 && st->path[0] != "feedback") {
    st->Fail("the root element is <" + st->path[0] + ">, not <feedback>");
  } else if (st->At({"feedback", "record"})) {
    if (st->report.rows.size() >= st->limits.max_records) {
      st->Fail("more than " + std::to_string(st->limits.max_records) + " records");
    }
    st->row = Row{};
  } else if (st->At({"feedback", "record", "auth_results", "dkim"}) ||
             st->At({"feedback", "record", "auth_results", "spf"})) {
    st->auth = AuthResult{};
  }
}

void XMLCALL OnText(void* data, const XML_Char* s, int len) {
  auto* st = static_cast<State*>(data);
  if (st->text.size() + static_cast<std::size_t>(len) > st->limits.max_field) {
    st->Fail("an element's text is longer than " + std::to_string(st->limits.max_field));
    return;
  }
  st->text.append(s, static_cast<std::size_t>(len));
}

void XMLCALL OnEnd(void* data, const XML_Char* /*name*/) {
  auto* st = static_cast<State*>(data);
  if (st->path.empty()) {
    return;
  }
  const std::string v = Trimmed(st->text);
  auto& r = st->report;
  auto& row = st->row;
  using L = std::initializer_list<std::string_view>;
  auto at = [st](L names) { return st->At(names); };
  std::int64_t n = 0;
  if (at({"feedback", "report_metadata", "org_name"})) {
    r.org_name = v;
  } else if (at({"feedback", "report_metadata", "email"})) {
    r.email = v;
  } else if (at({"feedback", "report_metadata", "report_id"})) {
    r.report_id = v;
  } else if (at({"feedback", "report_metadata", "date_range", "begin"})) {
    if (!ParseInt(v, r.begin) || r.begin < 0) {
      st->Fail("date_range begin is not seconds since the epoch: " + v);
    }
  } else if (at({"feedback", "report_metadata", "date_range", "end"})) {
    if (!ParseInt(v, r.end) || r.end < 0) {
      st->Fail("date_range end is not seconds since the epoch: " + v);
    }
  } else if (at({"feedback", "policy_published", "domain"})) {
    r.domain = AsciiLower(v);
  } else if (at({"feedback", "policy_published", "adkim"})) {
    r.adkim = AsciiLower(v);
  } else if (at({"feedback", "policy_published", "aspf"})) {
    r.aspf = AsciiLower(v);
  } else if (at({"feedback", "policy_published", "p"})) {
    r.p = AsciiLower(v);
  } else if (at({"feedback", "policy_published", "sp"})) {
    r.sp = AsciiLower(v);
  } else if (at({"feedback", "policy_published", "pct"})) {
    if (ParseInt(v, n) && n >= 0 && n <= 100) {
      r.pct = static_cast<int>(n);
    }
  } else if (at({"feedback", "record", "row", "source_ip"})) {
    auto ip = IpAddress::Parse(v);
    if (!ip) {
      st->Fail("source_ip is not an address: " + v);
      return;
    }
    row.source_ip = ip->ToString();
  } else if (at({"feedback", "record", "row", "count"})) {
    if (!ParseInt(v, n) || n < 0 || n > (std::int64_t{1} << 40)) {
      st->Fail("count is not a plausible number: " + v);
      return;
    }
    row.count = static_cast<std::uint64_t>(n);
  } else if (at({"feedback", "record", "row", "policy_evaluated", "disposition"})) {
    row.disposition = AsciiLower(v);
  } else if (at({"feedback", "record", "row", "policy_evaluated", "dkim"})) {
    row.dkim = AsciiLower(v);
  } else if (at({"feedback", "record", "row", "policy_evaluated", "spf"})) {
    row.spf = AsciiLower(v);
  } else if (at({"feedback", "record", "row", "policy_evaluated", "reason", "type"})) {
    row.reasons.push_back(AsciiLower(v));
  } else if (at({"feedback", "record", "identifiers", "header_from"})) {
    row.header_from = AsciiLower(v);
  } else if (at({"feedback", "record", "identifiers", "envelope_from"})) {
    row.envelope_from = AsciiLower(v);
  } else if (at({"feedback", "record", "auth_results", "dkim", "domain"}) ||
             at({"feedback", "record", "auth_results", "spf", "domain"})) {
    st->auth.domain = AsciiLower(v);
  } else if (at({"feedback", "record", "auth_results", "dkim", "selector"})) {
    st->auth.selector = v;
  } else if (at({"feedback", "record", "auth_results", "spf", "scope"})) {
    st->auth.scope = AsciiLower(v);
  } else if (at({"feedback", "record", "auth_results", "dkim", "result"}) ||
             at({"feedback", "record", "auth_results", "spf", "result"})) {
    st->auth.result = AsciiLower(v);
  } else if (at({"feedback", "record", "auth_results", "dkim"})) {
    row.dkim_results.push_back(std::move(st->auth));
  } else if (at({"feedback", "record", "auth_results", "spf"})) {
    row.spf_results.push_back(std::move(st->auth));
  } else if (at({"feedback", "record"})) {
    if (row.source_ip.empty()) {
      st->Fail("a record without a source_ip");
      return;
    }
    r.rows.push_back(std::move(row));
  }
  st->path.pop_back();
  st->text.clear();
}

void XMLCALL OnDoctype(void* data, const XML_Char* /*name*/, const XML_Char* /*sysid*/,
                       const XML_Char* /*pubid*/, int /*has_internal_subset*/) {
  // RFC 7489's reports have no DTD; one here can only be an entity attack.
  static_cast<State*>(data)->Fail("a DOCTYPE declaration (entities are refused)");
}

void XMLCALL OnEntityDecl(void* data, const XML_Char* /*name*/, int /*is_param*/,
                          const XML_Char* /*value*/, int /*len*/, const XML_Char* /*base*/,
                          const XML_Char* /*sysid*/, const XML_Char* /*pubid*/,
                          const XML_Char* /*notation*/) {
  static_cast<State*>(data)->Fail("an entity declaration");
}

}  // namespace

Result<AggregateReport, std::string> ParseAggregate(std::string_view xml, ParseLimits limits) {
  if (xml.size() > limits.max_bytes) {
    return Fail("the report is larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  State st;
  st.limits = limits;
  st.parser = XML_ParserCreate(nullptr);
  if (st.parser == nullptr) {
    return Fail(std::string("out of memory"));
  }
  XML_SetUserData(st.parser, &st);
  XML_SetElementHandler(st.parser, OnStart, OnEnd);
  XML_SetCharacterDataHandler(st.parser, OnText);
  XML_SetStartDoctypeDeclHandler(st.parser, OnDoctype);
  XML_SetEntityDeclHandler(st.parser, OnEntityDecl);
  XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);
  const auto status = XML_Parse(st.parser, xml.data(), static_cast<int>(xml.size()), XML_TRUE);
  if (status != XML_STATUS_OK && st.error.empty()) {
    st.error = std::string("not well-formed XML: ") + XML_ErrorString(XML_GetErrorCode(st.parser)) +
               " at line " + std::to_string(XML_GetCurrentLineNumber(st.parser));
  }
  XML_ParserFree(st.parser);
  if (!st.error.empty()) {
    return Fail(std::move(st.error));
  }
  auto& r = st.report;
  if (r.org_name.empty() || r.report_id.empty()) {
    return Fail(std::string("report_metadata lacks org_name or report_id"));
  }
  if (r.domain.empty()) {
    return Fail(std::string("policy_published lacks the domain"));
  }
  if (r.end < r.begin) {
    return Fail(std::string("date_range ends before it begins"));
  }
  return std::move(st.report);
}

}  // namespace sluice::dmarc
