// [[webhook]]: where event records are POSTed (docs/config.md, docs/webhooks.md).
#include <set>

#include "app/settings.h"
#include "core/network.h"
#include "webhook/http_post.h"
#include "webhook/signature.h"

namespace sluice::app {

namespace {

const std::set<std::string>& RecordTypes() {
  static const std::set<std::string> kTypes = {
      "Reception",  "Delivery",    "TransientFailure", "Bounce",
      "Expiration", "AdminBounce", "Automation",       "QuotaExceeded",
      "Suppressed", "AsyncBounce", "Complaint",        "Unsubscribe",
      "Open",       "Click",       "HealthChanged",    "BlocklistChanged"};
  return kTypes;
}

}  // namespace

void BindWebhooks(const config::Section& root, Settings& st) {
  std::set<std::string> names;
  for (const auto& s : root.Tables("webhook")) {
    // clang-format off
    s.RejectUnknown({"name", "url", "tenant", "events", "secret", "max_events", "max_wait",
                     "max_age", "timeout", "first_retry", "max_retry", "ca_file"});
    // clang-format on
    webhook::WebhookOptions o;
    o.name = s.String("name", "");
    if (o.name.empty() || o.name.size() > 64 ||
        o.name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            std::string::npos) {
      s.Report("name", "every [[webhook]] needs a name of 1-64 of A-Z a-z 0-9 . _ -");
    } else if (!names.insert(o.name).second) {
      s.Report("name", "duplicate webhook name " + o.name);
    }
    o.url = s.String("url", "");
    if (auto url = webhook::Url::Parse(o.url); !url) {
      s.Report("url", url.error());
    } else if (!url->https && !url->loopback()) {
      s.Report("url", "plain http is only for loopback receivers; use https");
    }
    o.tenant = s.String("tenant", "");
    for (const auto& t : s.StringList("events")) {
      if (RecordTypes().count(t) == 0) {
        s.Report("events", "unknown record type " + t +
                               " (Reception, Delivery, TransientFailure, Bounce, Expiration, "
                               "AdminBounce, Automation, QuotaExceeded, Suppressed, AsyncBounce, "
                               "Complaint, Unsubscribe)");
      }
      o.events.insert(t);
    }
    const std::string secret = s.String("secret", "");
    if (auto key = webhook::ParseSecret(secret)) {
      o.key = std::move(*key);
    } else {
      s.Report("secret", secret.empty()
                             ? "every webhook needs a secret to sign with (sluice webhook secret "
                               "makes one)"
                             : "a whsec_ secret must be base64 after the prefix");
    }
    o.max_events = static_cast<std::size_t>(
        s.Int("max_events", static_cast<std::int64_t>(o.max_events), 1, 10000));
    o.max_wait = s.Duration("max_wait", o.max_wait);
    o.max_age = s.Duration("max_age", o.max_age);
    o.timeout = s.Duration("timeout", o.timeout);
    o.first_retry = s.Duration("first_retry", o.first_retry);
    o.max_retry = s.Duration("max_retry", o.max_retry);
    if (o.timeout.count() < 100) {
      s.Report("timeout", "must be at least 100ms");
    }
    if (o.first_retry.count() < 10) {
      s.Report("first_retry", "must be at least 10ms");
    }
    if (o.max_retry < o.first_retry) {
      s.Report("max_retry", "must be at least first_retry");
    }
    o.ca_file = s.String("ca_file", "");
    st.webhooks.webhooks.push_back(std::move(o));
  }
}

}  // namespace sluice::app
