#include "dmarc/unpack.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace sluice::dmarc {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool LooksLikeXml(std::string_view s) {
  if (StartsWith(s, "\xEF\xBB\xBF")) {  // a UTF-8 byte order mark
    s.remove_prefix(3);
  }
  auto first = s.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && s[first] == '<';
}

}  // namespace

Result<std::string, std::string> Unpack(std::string_view bytes, std::size_t max_bytes) {
  if (LooksLikeXml(bytes)) {
    if (bytes.size() > max_bytes) {
      return Fail("the report is larger than " + std::to_string(max_bytes) + " bytes");
    }
    return std::string(bytes);
  }
  const bool gzip = StartsWith(bytes, "\x1f\x8b");
  const bool zip = StartsWith(bytes, "PK\x03\x04");
  if (!gzip && !zip) {
    return Fail(std::string("neither XML, gzip nor zip"));
  }
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  if (!a) {
    return Fail(std::string("out of memory"));
  }
  if (gzip) {
    archive_read_support_filter_gzip(a.get());
    archive_read_support_format_raw(a.get());
  } else {
    archive_read_support_format_zip(a.get());
  }
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return Fail(std::string("cannot open the archive: ") + archive_error_string(a.get()));
  }
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) {
      return Fail(std::string(zip ? "no XML file in the zip archive" : "an empty gzip stream"));
    }
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return Fail(std::string("a damaged archive: ") + archive_error_string(a.get()));
    }
    if (gzip) {
      break;
    }
    const char* name = archive_entry_pathname(entry);
    std::string_view n = name != nullptr ? name : "";
    if (archive_entry_filetype(entry) == AE_IFREG && n.size() >= 4 &&
        (n.substr(n.size() - 4) == ".xml" || n.substr(n.size() - 4) == ".XML")) {
      break;
    }
    archive_read_data_skip(a.get());
  }
  std::string out;
  char buf[65536];
  while (true) {
    const la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      return Fail(std::string("a damaged archive: ") + archive_error_string(a.get()));
    }
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return Fail("the report unpacks to more than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  if (!LooksLikeXml(out)) {
    return Fail(std::string("the archive does not hold XML"));
  }
  return out;
}

}  // namespace sluice::dmarc
