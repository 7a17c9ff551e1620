#pragma once
// How `sluice` shows sluiced's admin replies (JSON over the admin socket):
// readable tables by default, like `postqueue -p` or `kcli`; the JSON itself
// with --json, for scripts.

#include <string>
#include <string_view>
#include <vector>

namespace sluice::app {

struct RenderedReply {
  std::string out;    // for standard output
  std::string error;  // the reply's "error", if it carried one
};

// `command` is what was sent ("queue summary", "warmup status", ...).
RenderedReply RenderAdminReply(const std::vector<std::string>& command, std::string_view json);

}  // namespace sluice::app
