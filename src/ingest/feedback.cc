#include "ingest/feedback.h"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

#include "bounce/report.h"
#include "core/ascii.h"
#include "core/spool_id.h"

namespace sluice::ingest {

namespace {

bool Base32Char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
}

std::string StringField(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// "smtp; 550 5.1.1 <a@b>: no such user" -> the reply's parts; else the
// status stands for the code.
bounce::ReplyParts ReplyOf(const bounce::ReportedStatus& r) {
  std::string_view diag = r.diagnostic;
  if (const auto semi = diag.find(';'); semi != std::string_view::npos && semi < 12) {
    diag.remove_prefix(semi + 1);
  }
  while (!diag.empty() && diag.front() == ' ') {
    diag.remove_prefix(1);
  }
  if (auto parts = bounce::SplitReply(diag)) {
    if (parts->enhanced.empty()) {
      parts->enhanced = r.status;
    }
    return *parts;
  }
  bounce::ReplyParts p;
  p.code = !r.status.empty() && r.status[0] == '4' ? 450 : 550;
  p.enhanced = r.status;
  p.text = std::string(diag);
  return p;
}

}  // namespace

std::vector<bounce::VerpTag> FindVerpTags(std::string_view text, std::string_view secret) {
  std::vector<bounce::VerpTag> out;
  for (std::size_t at = 0; (at = text.find("-", at)) != std::string_view::npos; ++at) {
    if (at == 0 || (text[at - 1] != 'b' && text[at - 1] != 'B')) {
      continue;
    }
    // The local part starts at the "b" (after a delimiter, not mid-word).
    if (at >= 2 && (std::isalnum(static_cast<unsigned char>(text[at - 2])) != 0 ||
                    text[at - 2] == '-' || text[at - 2] == '.')) {
      continue;
    }
    std::size_t end = at + 1;
    while (end < text.size() && end - at <= 45 && Base32Char(text[end])) {
      ++end;
    }
    if (end - at - 1 < 40 || end - at - 1 > 44 || end >= text.size() || text[end] != '@') {
      continue;
    }
    if (auto tag = bounce::DecodeVerp(text.substr(at - 1, end - at + 1), secret)) {
      if (std::find(out.begin(), out.end(), *tag) == out.end()) {
        out.push_back(*tag);
      }
    }
  }
  return out;
}

std::optional<SentTo> FindSent(events::History* history, const bounce::VerpTag& tag) {
  if (history == nullptr) {
    return std::nullopt;
  }
  for (const auto& line : history->Read(tag.id.Hex())) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object() || StringField(v.get_object(), "type") != "Reception") {
      continue;
    }
    const auto& o = v.get_object();
    const auto* rcpts = o.if_contains("recipients");
    if (rcpts == nullptr || !rcpts->is_array() || tag.recipient >= rcpts->get_array().size() ||
        !rcpts->get_array()[tag.recipient].is_string()) {
      return std::nullopt;
    }
    SentTo orig;
    orig.recipient = std::string(rcpts->get_array()[tag.recipient].get_string());
    orig.message_id = StringField(o, "message_id");
    orig.sender = StringField(o, "sender");
    orig.tenant = StringField(o, "tenant");
    orig.campaign = StringField(o, "campaign");
    return orig;
  }
  return std::nullopt;
}

FeedbackIntake::FeedbackIntake(FeedbackOptions opts, events::Bus& bus, events::History* history,
                               std::shared_ptr<const bounce::Classifier> classifier)
    : opts_(std::move(opts)),
      bus_(bus),
      history_(history),
      unparsed_(opts_.unparsed_maildir),
      classifier_(std::move(classifier)) {}

void FeedbackIntake::SetClassifier(std::shared_ptr<const bounce::Classifier> c) {
  std::lock_guard lock(mu_);
  classifier_ = std::move(c);
}

bool FeedbackIntake::TakeUnsubscribe(const std::string& client_ip,
                                     const std::vector<Address>& rcpts) {
  bool any = false;
  for (const auto& r : rcpts) {
    auto tag = bounce::DecodeUnsubscribe(r.local, opts_.secret);
    if (!tag) {
      continue;
    }
    any = true;
    events::Feedback e;
    e.type = events::FeedbackType::kUnsubscribe;
    e.via = "mailto";
    e.id = tag->id.Hex();
    e.client_ip = client_ip;
    e.timestamp = std::chrono::system_clock::now();
    if (auto sent = FindSent(history_, *tag)) {
      e.message_id = sent->message_id;
      e.recipient = sent->recipient;
      e.sender = sent->sender;
      e.tenant = sent->tenant;
      e.campaign = sent->campaign;
    }
    bus_.Publish(e);
    std::lock_guard lock(mu_);
    ++stats_.unsubscribes;
  }
  return any;
}

FeedbackStats FeedbackIntake::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Result<Ok, std::string> FeedbackIntake::Take(const std::string& client_ip,
                                             const std::vector<Address>& rcpts,
                                             std::string_view data) {
  const auto now = std::chrono::system_clock::now();
  if (TakeUnsubscribe(client_ip, rcpts)) {
    return Ok{};
  }
  if (Result<Ok, std::string> r = Ok{}; TakeDmarc(client_ip, rcpts, data, r)) {
    return r;
  }
  // Which message of ours: the address it came to, else one the report names.
  std::vector<bounce::VerpTag> tags;
  for (const auto& r : rcpts) {
    if (auto t = bounce::DecodeVerp(r.local, opts_.secret)) {
      tags.push_back(*t);
    }
  }
  if (tags.empty()) {
    tags = FindVerpTags(data, opts_.secret);
  }
  std::optional<bounce::VerpTag> tag;
  std::optional<SentTo> orig;
  if (tags.size() == 1) {  // several: the report's own recipients decide
    tag = tags.front();
    orig = FindSent(history_, *tag);
  }
  const bounce::ParsedReport report = bounce::ParseReport(data);

  events::Feedback base;
  base.client_ip = client_ip;
  base.timestamp = now;
  base.reporting_mta = report.reporting_mta;
  base.original_message_id = report.original_message_id;
  if (tag) {
    base.id = tag->id.Hex();
  }
  if (orig) {
    base.message_id = orig->message_id;
    base.recipient = orig->recipient;
    base.sender = orig->sender;
    base.tenant = orig->tenant;
    base.campaign = orig->campaign;
  }

  std::size_t published = 0;
  if (report.kind == bounce::ReportKind::kFeedback) {
    events::Feedback e = base;
    e.type = events::FeedbackType::kComplaint;
    e.via = "arf";
    e.feedback_type = report.feedback_type.empty() ? "abuse" : AsciiLower(report.feedback_type);
    e.user_agent = report.user_agent;
    if (e.recipient.empty()) {
      e.recipient = !report.original_rcpt_to.empty() ? report.original_rcpt_to : report.original_to;
    }
    // "not-spam" takes a complaint back: an event, nothing to suppress.
    if (!e.recipient.empty() || !e.id.empty()) {
      bus_.Publish(e);
      ++published;
      std::lock_guard lock(mu_);
      ++stats_.complaints;
    }
  } else if (report.kind == bounce::ReportKind::kDsn) {
    std::shared_ptr<const bounce::Classifier> classifier;
    {
      std::lock_guard lock(mu_);
      classifier = classifier_;
    }
    for (const auto& r : report.recipients) {
      const bool failed =
          r.action == "failed" || (r.action.empty() && !r.status.empty() && r.status[0] == '5');
      if (!failed) {
        continue;
      }
      events::Feedback e = base;
      e.type = events::FeedbackType::kAsyncBounce;
      e.via = report.from_text ? "free-text" : "dsn";
      // The VERP address says whom; the report's own recipient only without one
      // (a forwarded address may name another mailbox).
      if (e.recipient.empty() || (tags.size() > 1)) {
        e.recipient = r.original_recipient.empty() ? r.final_recipient : r.original_recipient;
      }
      e.status = r.status;
      e.diagnostic = r.diagnostic;
      e.remote_mta = r.remote_mta;
      const bounce::ReplyParts reply = ReplyOf(r);
      if (e.status.empty()) {
        e.status = reply.enhanced;
      }
      if (classifier) {
        const auto v = classifier->Classify(reply.code, reply.enhanced, reply.text);
        e.bounce_class = v.klass;
        e.hard = v.hard;
        e.rule = v.rule;
      }
      bus_.Publish(e);
      ++published;
      std::lock_guard lock(mu_);
      ++stats_.bounces;
    }
    if (published == 0) {
      std::lock_guard lock(mu_);
      ++stats_.ignored;  // a delay or success notice, or a failure naming no one
    }
    return Ok{};
  } else if (report.kind == bounce::ReportKind::kAutoReply) {
    std::lock_guard lock(mu_);
    ++stats_.auto_replies;
    return Ok{};
  }
  if (published > 0) {
    return Ok{};
  }
  return Keep(client_ip, rcpts, data);
}

bool FeedbackIntake::TakeDmarc(const std::string& client_ip, const std::vector<Address>& rcpts,
                               std::string_view data, Result<Ok, std::string>& result) {
  const auto& ours = opts_.dmarc_addresses;
  const bool to_rua =
      dmarc_ != nullptr && std::any_of(rcpts.begin(), rcpts.end(), [&](const Address& a) {
        return std::find(ours.begin(), ours.end(), AsciiLower(a.local) + "@" + a.ascii_domain) !=
               ours.end();
      });
  if (!to_rua) {
    return false;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const dmarc::Intake::Taken t = dmarc_->Take(data, now);
  for (const auto& p : t.problems) {
    spdlog::info("dmarc: a report from {} refused: {}", client_ip, p);
  }
  if (t.try_later) {
    result = Fail("dmarc: a report could not be stored: " + t.problems.back());
  } else if (t.reports > 0) {
    std::lock_guard lock(mu_);
    stats_.dmarc_reports += t.reports;
    result = Ok{};
  } else {
    result = Keep(client_ip, rcpts, data);  // held no report: for a person to look at
  }
  return true;
}

Result<Ok, std::string> FeedbackIntake::Keep(const std::string& client_ip,
                                             const std::vector<Address>& rcpts,
                                             std::string_view data) {
  // Not understood: kept for a person to look at, and counted.
  {
    std::lock_guard lock(mu_);
    ++stats_.unparsed;
  }
  const std::string unique = SpoolId::Generate().Hex();
  std::string head = "X-Sluice-Feedback-Client: " + client_ip + "\r\n";
  for (const auto& r : rcpts) {
    head += "X-Sluice-Feedback-To: " + r.ToString() + "\r\n";
  }
  auto kept = unparsed_.Deliver(unique, head, data);
  if (!kept) {
    return Fail("feedback not understood and not kept: " + kept.error());
  }
  spdlog::info("feedback message not understood, kept as {}", kept.value());
  return Ok{};
}

}  // namespace sluice::ingest
