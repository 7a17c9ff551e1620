#include "events/events.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "core/disk_space.h"
#include "core/time_format.h"
#include "core/utf8.h"
#include "events/json_fields.h"
#include "events/log_files.h"

namespace sluice::events {
namespace {

using detail::OrNull;

void PutMetadata(boost::json::object& o, const Metadata& metadata) {
  if (metadata.empty()) {
    return;
  }
  boost::json::object m;
  for (const auto& [k, v] : metadata) {
    m[k] = v;
  }
  o["metadata"] = std::move(m);
}

}  // namespace

std::string ToJson(const Reception& e) {
  boost::json::array rcpts;
  for (const auto& r : e.recipients) {
    rcpts.emplace_back(r);
  }
  boost::json::object o;
  o["type"] = "Reception";
  o["id"] = e.id;
  o["message_id"] = OrNull(e.message_id);
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["sender"] = e.sender;
  o["recipients"] = std::move(rcpts);
  o["size"] = e.size;
  o["client_ip"] = e.client_ip;
  o["client_port"] = e.client_port;
  o["helo"] = e.helo;
  o["listener"] = e.listener;
  o["protocol"] = e.protocol;
  if (!e.auth_user.empty()) {
    o["auth_user"] = e.auth_user;
  } else {
    o["auth_user"] = nullptr;
  }
  o["tenant"] = OrNull(e.tenant);
  o["campaign"] = OrNull(e.campaign);
  if (!e.tls_version.empty()) {
    o["tls"] = boost::json::object{{"version", e.tls_version}, {"cipher", e.tls_cipher}};
  } else {
    o["tls"] = nullptr;
  }
  PutMetadata(o, e.metadata);
  if (e.send_at.time_since_epoch().count() != 0) {
    o["send_at"] = Rfc3339Micros(e.send_at);
  }
  return ToValidUtf8(boost::json::serialize(o));
}

const char* ToString(OutcomeType t) {
  switch (t) {
    case OutcomeType::kDelivery:
      return "Delivery";
    case OutcomeType::kTransientFailure:
      return "TransientFailure";
    case OutcomeType::kBounce:
      return "Bounce";
    case OutcomeType::kExpiration:
      return "Expiration";
    case OutcomeType::kAdminBounce:
      return "AdminBounce";
  }
  return "Outcome";
}

std::string ToJson(const Outcome& e) {
  boost::json::object o;
  o["type"] = ToString(e.type);
  o["id"] = e.id;
  o["message_id"] = OrNull(e.message_id);
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["sender"] = e.sender;
  o["recipient"] = e.recipient;
  o["queue"] = e.queue;
  o["tenant"] = OrNull(e.tenant);
  o["campaign"] = OrNull(e.campaign);
  o["site"] = OrNull(e.site);
  o["provider"] = OrNull(e.provider);
  o["mx_host"] = OrNull(e.mx_host);
  o["mx_ip"] = OrNull(e.mx_ip);
  o["egress_source"] = OrNull(e.egress_source);
  o["attempt"] = e.attempt;
  o["response"] =
      boost::json::object{{"code", e.code}, {"enhanced", OrNull(e.enhanced)}, {"text", e.text}};
  if (!e.bounce_class.empty()) {
    o["bounce"] =
        boost::json::object{{"class", e.bounce_class}, {"hard", e.hard}, {"rule", OrNull(e.rule)}};
  }
  if (!e.tls_version.empty()) {
    o["tls"] = boost::json::object{{"version", e.tls_version},
                                   {"cipher", e.tls_cipher},
                                   {"authenticated", e.tls_authenticated}};
  } else {
    o["tls"] = nullptr;
  }
  o["tls_policy"] = OrNull(e.tls_policy);
  o["received"] = Rfc3339Micros(e.received);
  o["duration_ms"] = e.duration.count();
  PutMetadata(o, e.metadata);
  return ToValidUtf8(boost::json::serialize(o));
}

std::string ToJson(const Automation& e) {
  boost::json::object o;
  o["type"] = "Automation";
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["rule"] = e.rule;
  o["action"] = e.action;
  o["site"] = e.site;
  if (!e.tenant.empty() || !e.campaign.empty()) {
    o["tenant"] = OrNull(e.tenant);
    o["campaign"] = OrNull(e.campaign);
  }
  o["egress_source"] =
      e.egress_source.empty() ? boost::json::value(nullptr) : boost::json::value(e.egress_source);
  // (Until an event that cannot be foreseen, such as a delisting: null.)
  o["until"] = e.until == std::chrono::system_clock::time_point{}
                   ? boost::json::value(nullptr)
                   : boost::json::value(Rfc3339Micros(e.until));
  if (e.code == 0 && !e.text.empty()) {
    o["reason"] = e.text;  // not a reply's: what moved it (a blocklist's reason)
  }
  if (e.code != 0) {
    o["response"] =
        boost::json::object{{"code", e.code},
                            {"enhanced", e.enhanced.empty() ? boost::json::value(nullptr)
                                                            : boost::json::value(e.enhanced)},
                            {"text", e.text}};
  } else {
    o["response"] = nullptr;
  }
  return ToValidUtf8(boost::json::serialize(o));
}

std::string ToJson(const QuotaExceeded& e) {
  boost::json::object o;
  o["type"] = "QuotaExceeded";
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["tenant"] = e.tenant;
  o["quota"] = e.quota;
  o["limit"] = e.limit;
  o["listener"] = e.listener;
  o["client_ip"] = e.client_ip;
  o["auth_user"] = OrNull(e.auth_user);
  o["retry_after_s"] = e.retry_after.count();
  return ToValidUtf8(boost::json::serialize(o));
}

Result<std::unique_ptr<JsonlFileSink>, std::string> JsonlFileSink::Open(std::string path,
                                                                        LogOptions opts) {
  std::unique_ptr<JsonlFileSink> s(new JsonlFileSink(std::move(path), opts));
  s->opened_at_ = std::chrono::steady_clock::now();
  s->fd_ = s->OpenAndRepair();
  if (s->fd_ < 0) {
    return Fail("cannot open event log " + s->path_ + ": " + std::strerror(errno));
  }
  return s;
}

JsonlFileSink::~JsonlFileSink() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

int JsonlFileSink::OpenAndRepair() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  // A torn last line (a crash mid-write, or a full disk before this version)
  // is cut back to the last newline: readers see whole records only.
  if (size > 0) {
    int rfd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    std::uint64_t keep = size;
    char buf[4096];
    while (rfd >= 0 && keep > 0) {
      std::uint64_t chunk = std::min<std::uint64_t>(keep, sizeof buf);
      ssize_t n = ::pread(rfd, buf, chunk, static_cast<off_t>(keep - chunk));
      if (n != static_cast<ssize_t>(chunk)) {
        keep = size;  // cannot read it: leave the file as it is
        break;
      }
      auto* nl = static_cast<const char*>(::memrchr(buf, '\n', chunk));
      if (nl != nullptr) {
        keep = keep - chunk + static_cast<std::uint64_t>(nl - buf) + 1;
        break;
      }
      keep -= chunk;
    }
    if (rfd >= 0) {
      ::close(rfd);
    }
    if (keep < size && ::ftruncate(fd, static_cast<off_t>(keep)) == 0) {
      spdlog::warn("event log {}: cut off a torn last line ({} octets)", path_, size - keep);
      size = keep;
    }
  }
  size_ = size;
  torn_ = false;
  return fd;
}

void JsonlFileSink::CountFailure(int err) {
  ++stats_.failed;
  ++unreported_;
  auto now = std::chrono::steady_clock::now();
  if (now - warned_at_ >= std::chrono::seconds(10)) {
    spdlog::warn("event log {}: {} records not written since the last warning: {}", path_,
                 unreported_, std::strerror(err));
    warned_at_ = now;
    unreported_ = 0;
  }
}

JsonlFileSink::JsonlFileSink(std::string path, LogOptions opts)
    : path_(std::move(path)), opts_(opts) {
  if (opts_.max_bytes > 0 || opts_.max_age.count() > 0) {
    rotation_ = std::make_unique<RotationWorker>(path_, opts_.keep, opts_.compress);
  }
}

bool JsonlFileSink::BelowFloor() {
  if (opts_.min_free_disk == 0) {
    return false;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - floor_checked_at_ >= std::chrono::seconds(1)) {
    floor_checked_at_ = now;
    const auto dir = std::filesystem::path(path_).parent_path();
    const auto free = FreeDiskBytes(dir.empty() ? "." : dir.string());
    below_floor_ = free && *free < opts_.min_free_disk;
  }
  return below_floor_;
}

void JsonlFileSink::Rotate() {
  const std::string closed = RotatedName(path_, std::chrono::system_clock::now());
  opened_at_ = std::chrono::steady_clock::now();  // no retry storm if it fails
  if (std::rename(path_.c_str(), closed.c_str()) != 0) {
    spdlog::warn("event log {}: cannot rotate to {}: {}", path_, closed, std::strerror(errno));
    return;
  }
  const int fd = OpenAndRepair();
  if (fd < 0) {
    // Records go on into the renamed file; the next rotation tries again.
    spdlog::warn("event log {}: cannot open a new file: {}", path_, std::strerror(errno));
    return;
  }
  ::close(fd_);
  fd_ = fd;
  rotation_->Closed(closed);
}

void JsonlFileSink::Write(const std::string& line) {
  std::lock_guard lock(mu_);
  if (fd_ < 0) {
    CountFailure(EBADF);
    return;
  }
  if (BelowFloor()) {
    CountFailure(ENOSPC);
    return;
  }
  if (rotation_ && size_ > 0 &&
      ((opts_.max_bytes > 0 && size_ + line.size() + 1 > opts_.max_bytes) ||
       (opts_.max_age.count() > 0 &&
        std::chrono::steady_clock::now() - opened_at_ >= opts_.max_age))) {
    Rotate();
  }
  if (torn_) {
    // What a failed write left past the last whole record goes first.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      CountFailure(errno);
      return;
    }
    torn_ = false;
  }
  std::string record = line;
  record += '\n';
  std::string_view rest(record);
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      // Cut the part written back off, so no reader sees half a record.
      if (rest.size() != record.size() && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        torn_ = true;
      }
      CountFailure(err);
      return;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  size_ += record.size();
  ++stats_.written;
}

void JsonlFileSink::Reopen() {
  std::lock_guard lock(mu_);
  int old_fd = fd_;
  std::uint64_t old_size = size_;
  bool old_torn = torn_;
  int fd = OpenAndRepair();
  if (fd < 0) {
    size_ = old_size;  // keep writing where we were
    torn_ = old_torn;
    return;
  }
  if (old_fd >= 0) {
    ::close(old_fd);
  }
  fd_ = fd;
  if (size_ == 0) {
    opened_at_ = std::chrono::steady_clock::now();  // a new file (logrotate renamed the old)
  }
}

SinkStats JsonlFileSink::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

SinkStats Bus::stats() const {
  SinkStats sum;
  for (const auto& s : sinks_) {
    auto one = s->stats();
    sum.written += one.written;
    sum.failed += one.failed;
  }
  return sum;
}

void Bus::WriteLine(const std::string& line) {
  for (auto& s : sinks_) {
    s->Write(line);
  }
}

void Bus::WriteLine(const std::string& line, std::string_view message_id) {
  WriteLine(line);
  if (history_ != nullptr) {
    history_->Append(message_id, line);
  }
}

void Bus::Tap(std::string_view type, std::string_view tenant, const std::string& line) {
  for (RecordTap* t : taps_) {
    t->OnRecord(type, tenant, line);
  }
}

void Bus::Publish(const Reception& e) {
  const std::string line = ToJson(e);
  WriteLine(line, e.id);
  Tap("Reception", e.tenant, line);
  for (Observer* o : observers_) {
    o->OnReception(e);
  }
}

void Bus::Publish(const Outcome& e) {
  const std::string line = ToJson(e);
  WriteLine(line, e.id);
  Tap(ToString(e.type), e.tenant, line);
  for (Observer* o : observers_) {
    o->OnOutcome(e);
  }
}

void Bus::Publish(const Suppressed& e) {
  const std::string line = ToJson(e);
  if (e.id.empty()) {
    WriteLine(line);
  } else {
    WriteLine(line, e.id);
  }
  Tap("Suppressed", e.tenant, line);
  for (Observer* o : observers_) {
    o->OnSuppressed(e);
  }
}

void Bus::Publish(const Feedback& e) {
  const std::string line = ToJson(e);
  if (e.id.empty()) {
    WriteLine(line);
  } else {
    WriteLine(line, e.id);
  }
  Tap(ToString(e.type), e.tenant, line);
  for (Observer* o : observers_) {
    o->OnFeedback(e);
  }
}

void Bus::Publish(const Engagement& e) {
  const std::string line = ToJson(e);
  WriteLine(line, e.id);
  Tap(ToString(e.type), e.tenant, line);
  for (Observer* o : observers_) {
    o->OnEngagement(e);
  }
}

void Bus::Publish(const Automation& e) {
  const std::string line = ToJson(e);
  WriteLine(line);
  Tap("Automation", e.tenant, line);
  for (Observer* o : observers_) {
    o->OnAutomation(e);
  }
}

void Bus::Publish(const QuotaExceeded& e) {
  const std::string line = ToJson(e);
  WriteLine(line);
  Tap("QuotaExceeded", e.tenant, line);
}

void Bus::Publish(const WebhookDropped& e) {
  WriteLine(ToJson(e));  // not to the webhooks: it is about them
}

std::string ToJson(const WebhookDropped& e) {
  boost::json::object o;
  o["type"] = "WebhookDropped";
  o["timestamp"] = Rfc3339Micros(e.timestamp);
  o["webhook"] = e.webhook;
  o["events"] = e.events;
  o["oldest"] = Rfc3339Micros(e.oldest);
  o["last_error"] = e.last_error;
  return boost::json::serialize(o);
}

void Bus::Publish(const HealthChanged& e) {
  const std::string line = ToJson(e);
  WriteLine(line);
  Tap("HealthChanged", "", line);
  for (Observer* o : observers_) {
    o->OnHealthChanged(e);
  }
}

void Bus::Publish(const BlocklistChanged& e) {
  const std::string line = ToJson(e);
  WriteLine(line);
  Tap("BlocklistChanged", "", line);
  for (Observer* o : observers_) {
    o->OnBlocklistChanged(e);
  }
}

void Bus::Reopen() {
  for (auto& s : sinks_) {
    s->Reopen();
  }
}

}  // namespace sluice::events
