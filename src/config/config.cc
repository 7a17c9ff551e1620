#include "config/config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace sluice::config {

std::string Error::ToString() const {
  return fmt::format("{}:{}: {}: {}", file, line, key, message);
}

std::string Errors::ToString() const {
  std::string out;
  for (const auto& e : list_) {
    out += e.ToString();
    out += '\n';
  }
  return out;
}

namespace {

std::optional<std::uint64_t> ParseNumberPrefix(std::string_view& text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p == text.data()) {
    return std::nullopt;
  }
  text.remove_prefix(static_cast<std::size_t>(p - text.data()));
  return v;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto n = ParseNumberPrefix(text);
  if (!n) {
    return std::nullopt;
  }
  std::uint64_t mul = 0;
  if (text == "ms") {
    mul = 1;
  } else if (text == "s" || text.empty()) {
    mul = 1000;
  } else if (text == "m") {
    mul = 60'000;
  } else if (text == "h") {
    mul = 3'600'000;
  } else if (text == "d") {
    mul = 86'400'000;
  } else {
    return std::nullopt;
  }
  return std::chrono::milliseconds(*n * mul);
}

std::optional<std::uint64_t> ParseSize(std::string_view text) {
  auto n = ParseNumberPrefix(text);
  if (!n) {
    return std::nullopt;
  }
  struct Unit {
    std::string_view name;
    std::uint64_t mul;
  };
  static constexpr Unit kUnits[] = {{"", 1},
                                    {"B", 1},
                                    {"KB", 1000},
                                    {"MB", 1000'000},
                                    {"GB", 1000'000'000},
                                    {"TB", 1000'000'000'000},
                                    {"KiB", 1ull << 10},
                                    {"MiB", 1ull << 20},
                                    {"GiB", 1ull << 30},
                                    {"TiB", 1ull << 40}};
  for (const auto& u : kUnits) {
    if (text == u.name) {
      return *n * u.mul;
    }
  }
  return std::nullopt;
}

Section::Section(const Document* doc, const toml::table* table, std::string path)
    : doc_(doc), table_(table), path_(std::move(path)) {}

std::string Section::KeyPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::uint32_t Section::LineOf(std::string_view key) const {
  if (table_ != nullptr) {
    if (const auto* n = table_->get(key)) {
      return n->source().begin.line;
    }
    return table_->source().begin.line;
  }
  return 0;
}

void Section::Report(std::string_view key, std::string message) const {
  doc_->errors().Add(Error{doc_->source(), LineOf(key), KeyPath(key), std::move(message)});
}

bool Section::Has(std::string_view key) const {
  return table_ != nullptr && table_->contains(key);
}

std::string Section::String(std::string_view key, std::string def) const {
  if (!Has(key)) {
    return def;
  }
  if (auto v = table_->get(key)->value<std::string>()) {
    return *v;
  }
  Report(key, "expected a string");
  return def;
}

std::int64_t Section::Int(std::string_view key, std::int64_t def, std::int64_t min,
                          std::int64_t max) const {
  if (!Has(key)) {
    return def;
  }
  const auto* n = table_->get(key);
  if (!n->is_integer()) {
    Report(key, "expected an integer");
    return def;
  }
  auto v = n->as_integer()->get();
  if (v < min || v > max) {
    Report(key, fmt::format("{} is out of range [{}, {}]", v, min, max));
    return def;
  }
  return v;
}

double Section::Double(std::string_view key, double def, double min, double max) const {
  if (!Has(key)) {
    return def;
  }
  const auto* n = table_->get(key);
  double v = 0;
  if (n->is_floating_point()) {
    v = n->as_floating_point()->get();
  } else if (n->is_integer()) {
    v = static_cast<double>(n->as_integer()->get());
  } else {
    Report(key, "expected a number");
    return def;
  }
  if (v < min || v > max) {
    Report(key, fmt::format("{} is out of range [{}, {}]", v, min, max));
    return def;
  }
  return v;
}

bool Section::Bool(std::string_view key, bool def) const {
  if (!Has(key)) {
    return def;
  }
  if (auto v = table_->get(key)->value<bool>()) {
    return *v;
  }
  Report(key, "expected true or false");
  return def;
}

std::chrono::milliseconds Section::Duration(std::string_view key,
                                            std::chrono::milliseconds def) const {
  if (!Has(key)) {
    return def;
  }
  const auto* n = table_->get(key);
  if (n->is_integer() && n->as_integer()->get() >= 0) {
    return std::chrono::seconds(n->as_integer()->get());
  }
  if (auto s = n->value<std::string>()) {
    if (auto d = ParseDuration(*s)) {
      return *d;
    }
  }
  Report(key, "expected a duration such as 30 (seconds), \"250ms\", \"5m\", \"2h\" or \"5d\"");
  return def;
}

std::uint64_t Section::Size(std::string_view key, std::uint64_t def) const {
  if (!Has(key)) {
    return def;
  }
  const auto* n = table_->get(key);
  if (n->is_integer() && n->as_integer()->get() >= 0) {
    return static_cast<std::uint64_t>(n->as_integer()->get());
  }
  if (auto s = n->value<std::string>()) {
    if (auto v = ParseSize(*s)) {
      return *v;
    }
  }
  Report(key, "expected a size such as 1048576, \"512KiB\", \"25MiB\" or \"1GiB\"");
  return def;
}

std::vector<std::string> Section::StringList(std::string_view key) const {
  std::vector<std::string> out;
  if (!Has(key)) {
    return out;
  }
  const auto* arr = table_->get(key)->as_array();
  if (arr == nullptr) {
    Report(key, "expected an array of strings");
    return out;
  }
  for (const auto& item : *arr) {
    if (auto s = item.value<std::string>()) {
      out.push_back(*s);
    } else {
      Report(key, "expected an array of strings");
      return {};
    }
  }
  return out;
}

std::vector<std::int64_t> Section::IntList(std::string_view key, std::int64_t min,
                                           std::int64_t max) const {
  std::vector<std::int64_t> out;
  if (!Has(key)) {
    return out;
  }
  const auto* arr = table_->get(key)->as_array();
  if (arr == nullptr) {
    Report(key, "expected an array of integers");
    return out;
  }
  for (const auto& item : *arr) {
    auto v = item.value<std::int64_t>();
    if (!v || *v < min || *v > max) {
      Report(key, fmt::format("expected an array of integers from {} to {}", min, max));
      return {};
    }
    out.push_back(*v);
  }
  return out;
}

Section Section::Table(std::string_view key) const {
  if (!Has(key)) {
    return Section(doc_, nullptr, KeyPath(key));
  }
  const auto* t = table_->get(key)->as_table();
  if (t == nullptr) {
    Report(key, "expected a table");
  }
  return Section(doc_, t, KeyPath(key));
}

std::vector<Section> Section::Tables(std::string_view key) const {
  std::vector<Section> out;
  if (!Has(key)) {
    return out;
  }
  const auto* arr = table_->get(key)->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    Report(key, fmt::format("expected an array of tables ([[{}]])", key));
    return out;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    out.emplace_back(doc_, arr->get(i)->as_table(), fmt::format("{}[{}]", KeyPath(key), i));
  }
  return out;
}

std::vector<std::string> Section::Keys() const {
  std::vector<std::pair<std::uint32_t, std::string>> keyed;
  if (table_ != nullptr) {
    for (const auto& [k, v] : *table_) {
      keyed.emplace_back(k.source().begin.line, std::string(k.str()));
    }
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [line, k] : keyed) {
    out.push_back(std::move(k));
  }
  return out;
}

void Section::RejectUnknown(std::initializer_list<std::string_view> known) const {
  if (table_ == nullptr) {
    return;
  }
  for (const auto& [k, v] : *table_) {
    bool ok = false;
    for (auto name : known) {
      if (k.str() == name) {
        ok = true;
        break;
      }
    }
    if (!ok) {
      doc_->errors().Add(
          Error{doc_->source(), v.source().begin.line, KeyPath(k.str()), "unknown key"});
    }
  }
}

Document::Document() : table_(std::make_unique<toml::table>()) {}
Document::~Document() = default;

std::unique_ptr<Document> Document::Parse(std::string_view text, std::string source) {
  std::unique_ptr<Document> doc(new Document());
  doc->source_ = source;
  try {
    *doc->table_ = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    doc->errors_.Add(
        Error{source, e.source().begin.line, "(syntax)", std::string(e.description())});
  }
  return doc;
}

std::unique_ptr<Document> Document::LoadFile(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    std::unique_ptr<Document> doc(new Document());
    doc->source_ = path;
    doc->errors_.Add(Error{path, 0, "(file)", "cannot read: " + ec.message()});
    return doc;
  }
  std::string text(size, '\0');
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr || std::fread(text.data(), 1, size, f) != size) {
    if (f != nullptr) {
      std::fclose(f);
    }
    std::unique_ptr<Document> doc(new Document());
    doc->source_ = path;
    doc->errors_.Add(Error{path, 0, "(file)", "cannot read"});
    return doc;
  }
  std::fclose(f);
  return Parse(text, path);
}

Section Document::Root() const {
  return Section(this, table_.get(), "");
}

}  // namespace sluice::config
