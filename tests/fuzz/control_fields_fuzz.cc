// Fuzz target: the fields that steer delivery, taken from client input.
// message::TakeField removes X-Tenant from the header section and nothing
// else; queue::QueueName::Parse accepts only what ToString gives back exactly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "message/headers.h"
#include "queue/queue_name.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);

  std::string message = in;
  const std::size_t header = sluice::message::HeaderSection(in).size();
  auto value = sluice::message::TakeField(message, "X-Tenant");
  if (!value && message != in) {
    std::abort();  // nothing taken, nothing changed
  }
  if (sluice::message::HasField(message, "X-Tenant")) {
    std::abort();  // every instance goes
  }
  const std::size_t kept = sluice::message::HeaderSection(message).size();
  if (message.size() < kept || in.compare(header, std::string::npos, message, kept) != 0) {
    std::abort();  // the body is never touched
  }

  if (auto q = sluice::queue::QueueName::Parse(in)) {
    if (q->ToString() != in || q->domain.empty()) {
      std::abort();
    }
    if ((!q->tenant.empty() && !sluice::queue::ValidTag(q->tenant)) ||
        (!q->campaign.empty() && !sluice::queue::ValidTag(q->campaign))) {
      std::abort();
    }
  }
  return 0;
}
