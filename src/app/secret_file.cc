#include "app/secret_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <sys/random.h>

#include "core/durable_file.h"

namespace sluice::app {

Result<std::string, std::string> LoadOrCreateSecret(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::string text;
    if (!ReadWholeFile(path, &text)) {
      return Fail(path + ": cannot read the secret");
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    if (text.size() < 32 || text.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return Fail(path + ": a secret is at least 32 lower-case hex digits");
    }
    return text;
  }
  unsigned char raw[32];
  if (getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    return Fail(path + ": no randomness: " + std::strerror(errno));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char c : raw) {
    text.push_back(kHex[c >> 4]);
    text.push_back(kHex[c & 15]);
  }
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
  }
  std::string error;
  if (!ReplaceFileDurably(path, text + "\n", &error, 0600)) {
    return Fail(path + ": " + error);
  }
  return text;
}

}  // namespace sluice::app
