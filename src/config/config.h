#pragma once
// Security: reads operator-supplied TOML; every error names file, line and key.
// Standards: TOML v1.0.
//
// This module knows no other module's settings. It offers typed reads with
// defaults over a TOML document and collects errors as
// "file:line: key: what is wrong"; app/ binds them onto each module's Options.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace sluice::config {

struct Error {
  std::string file;
  std::uint32_t line = 0;
  std::string key;
  std::string message;
  std::string ToString() const;  // "file:line: key: message"
};

class Errors {
 public:
  void Add(Error e) { list_.push_back(std::move(e)); }
  bool empty() const { return list_.empty(); }
  const std::vector<Error>& list() const { return list_; }
  std::string ToString() const;  // one per line

 private:
  std::vector<Error> list_;
};

class Document;

// A view on one TOML table, named by its dotted path ("listener[1]").
class Section {
 public:
  Section(const Document* doc, const toml::table* table, std::string path);

  std::string String(std::string_view key, std::string def) const;
  std::int64_t Int(std::string_view key, std::int64_t def, std::int64_t min,
                   std::int64_t max) const;
  double Double(std::string_view key, double def, double min, double max) const;
  bool Bool(std::string_view key, bool def) const;
  // Integer seconds or text with a unit: "250ms", "30s", "5m", "2h", "5d".
  std::chrono::milliseconds Duration(std::string_view key, std::chrono::milliseconds def) const;
  // Integer octets or text with a unit: "512KiB", "25MiB", "1GiB", "10MB".
  std::uint64_t Size(std::string_view key, std::uint64_t def) const;
  std::vector<std::string> StringList(std::string_view key) const;
  std::vector<std::int64_t> IntList(std::string_view key, std::int64_t min, std::int64_t max) const;
  bool Has(std::string_view key) const;

  // A sub-table; an absent one yields an empty section.
  Section Table(std::string_view key) const;
  // An array of tables ([[key]]).
  std::vector<Section> Tables(std::string_view key) const;

  // The keys of this table, in the order they appear in the file.
  std::vector<std::string> Keys() const;

  // Reports every key not in `known` as an error (catches typos).
  void RejectUnknown(std::initializer_list<std::string_view> known) const;

  // Records an error about `key` of this section.
  void Report(std::string_view key, std::string message) const;
  const std::string& path() const { return path_; }

 private:
  std::string KeyPath(std::string_view key) const;
  std::uint32_t LineOf(std::string_view key) const;

  const Document* doc_;
  const toml::table* table_;
  std::string path_;
};

class Document {
 public:
  // Parses a file. A syntax error is recorded in errors() and leaves an empty document.
  static std::unique_ptr<Document> LoadFile(const std::string& path);
  // Parses text; `source` names it in errors.
  static std::unique_ptr<Document> Parse(std::string_view text, std::string source);
  ~Document();

  Section Root() const;
  const std::string& source() const { return source_; }
  Errors& errors() const { return errors_; }

 private:
  Document();
  std::string source_;
  std::unique_ptr<toml::table> table_;
  mutable Errors errors_;
};

// Parsers shared with the CLI and tests.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);
std::optional<std::uint64_t> ParseSize(std::string_view text);

}  // namespace sluice::config
