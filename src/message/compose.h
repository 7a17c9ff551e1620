#pragma once
// Security: builds messages from API clients' fields; every header value is
//           encoded here, so no field can inject another (no CR or LF gets
//           through), and bodies are encoded so no line can end the message.
// Standards: RFC 5322 (fields, folding at 78), RFC 2045 (MIME, base64,
//            quoted-printable), RFC 2046 §5.1 (multipart/mixed, alternative),
//            RFC 2047 (encoded words), RFC 2231 §4 (non-ASCII filenames),
//            RFC 2183 (Content-Disposition).
//
// One message from structured parts: text and/or HTML (multipart/alternative
// when both, text first), attachments after them (multipart/mixed). Text is
// UTF-8; a part is 7bit when it is ASCII with short lines, else
// quoted-printable. Date and Message-ID are left to ingest (RFC 6409 §8).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::message {

struct Mailbox {
  std::string address;  // local@domain (UTF-8 allowed: SMTPUTF8)
  std::string name;     // display name, UTF-8; may be empty
};

struct Attachment {
  std::string filename;      // UTF-8
  std::string content_type;  // type/subtype, checked by the caller
  std::string data;          // the decoded octets
};

struct Composition {
  Mailbox from;
  std::optional<Mailbox> reply_to;
  Mailbox to;
  std::string subject;  // UTF-8
  std::string text;     // UTF-8, any line ends; empty: no text part
  std::string html;     // UTF-8, any line ends; empty: no HTML part
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields, checked by the caller
  std::vector<Attachment> attachments;
};

// The message: header section, blank line, body; CRLF line ends. `unique`
// goes into the multipart boundaries (a random string from the caller).
std::string Compose(const Composition& c, std::string_view unique);

// An unstructured field's value (RFC 5322 §3.2.5 / RFC 2047): ASCII folded at
// whitespace near 78 columns, non-ASCII as UTF-8 "B" encoded words of at most
// 75 characters each. `name_length` is the field name's length plus ": ".
std::string EncodeUnstructured(std::string_view utf8, std::size_t name_length);

// "Name" <address>, the name quoted or encoded as it needs.
std::string FormatMailbox(const Mailbox& m);

// `text` with CRLF line ends (a bare LF or CR becomes CRLF, RFC 5322 §2.3),
// ending in one.
std::string ToCrlfLines(std::string_view text);

// A field name may be used by a client: printable ASCII, no colon (RFC 5322 §3.6.8).
bool ValidFieldName(std::string_view name);

}  // namespace sluice::message
