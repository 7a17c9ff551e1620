#pragma once
// Security: renders templates from API clients with their own values only:
//           Mustache has no code, no file access and no partials here.
// Standards: Mustache (https://mustache.github.io/mustache.5.html), through
//            kainjow::mustache (Debian's libkainjow-mustache-dev).
//
// A template is parsed once and rendered once per recipient. {{name}} in an
// HTML template is HTML-escaped ({{{name}}} is not); in text it never is.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::message {

class Template {
 public:
  enum class Escape { kNone, kHtml };
  // The parsed template, or what is wrong with it.
  static Result<Template, std::string> Parse(std::string_view text, Escape escape);
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  // The text with `values` put in, or an error once it would pass `max_bytes`
  // (a short template can repeat a long value many times).
  Result<std::string, std::string> Render(const std::map<std::string, std::string>& values,
                                          std::size_t max_bytes);

 private:
  struct Impl;
  explicit Template(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::message
