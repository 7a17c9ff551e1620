#include "message/template.h"

#include <optional>

#include <kainjow/mustache.hpp>

namespace sluice::message {

struct Template::Impl {
  std::optional<kainjow::mustache::mustache> tmpl;  // none: `literal` is the whole text
  std::string literal;
};

Template::Template(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

Result<Template, std::string> Template::Parse(std::string_view text, Escape escape) {
  auto impl = std::make_unique<Impl>();
  if (text.find("{{") == std::string_view::npos) {
    impl->literal = std::string(text);  // nothing to fill in: no parse, no render
    return Template(std::move(impl));
  }
  impl->tmpl.emplace(std::string(text));
  if (!impl->tmpl->is_valid()) {
    return Fail(impl->tmpl->error_message());
  }
  if (escape == Escape::kNone) {
    impl->tmpl->set_custom_escape([](const std::string& s) { return s; });
  }
  return Template(std::move(impl));
}

namespace {
struct TooLong {};
}  // namespace

Result<std::string, std::string> Template::Render(const std::map<std::string, std::string>& values,
                                                  std::size_t max_bytes) {
  if (!impl_->tmpl) {
    if (impl_->literal.size() > max_bytes) {
      return Fail("the text is longer than " + std::to_string(max_bytes) + " bytes");
    }
    return impl_->literal;
  }
  kainjow::mustache::data d{kainjow::mustache::data::type::object};
  for (const auto& [k, v] : values) {
    d.set(k, v);
  }
  std::string out;
  try {
    impl_->tmpl->render(d, [&out, max_bytes](const std::string& piece) {
      if (out.size() + piece.size() > max_bytes) {
        throw TooLong{};
      }
      out += piece;
    });
  } catch (const TooLong&) {
    return Fail("the rendered text is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return out;
}

}  // namespace sluice::message
