#include "smtp/server/session.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "smtp/server/recipient_policy.h"
#include "smtp/server/server.h"

namespace sluice::smtp {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

bool IStartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && std::equal(p.begin(), p.end(), s.begin(), [](char a, char b) {
           return std::toupper(static_cast<unsigned char>(a)) ==
                  std::toupper(static_cast<unsigned char>(b));
         });
}

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr auto kGraceAfterTimeout = std::chrono::seconds(10);

}  // namespace

std::atomic<std::uint64_t> Session::next_id_{1};

Session::Session(asio::ip::tcp::socket socket, const ListenerOptions& listener, ServerContext& ctx,
                 Server& server, std::shared_ptr<tls::ServerContextHolder> tls,
                 std::unique_ptr<ConnectionSlot> slot, Peer peer)
    : id_(next_id_.fetch_add(1)),
      listener_(listener),
      ctx_(ctx),
      server_(server),
      tls_holder_(std::move(tls)),
      tls_ctx_(tls_holder_ ? tls_holder_->Current() : nullptr),
      socket_(std::move(socket)),
      deadline_(socket_.get_executor()),
      slot_(std::move(slot)),
      data_lease_(ctx.message_memory) {
  info_.listener = listener.name;
  info_.kind = listener.kind;
  info_.local_hostname = ctx.options.hostname;
  info_.client_ip = std::move(peer.ip);
  info_.client_port = peer.port;
  info_.relay_client = peer.relay_client;
}

Session::~Session() {
  server_.Unregister(id_);
}

awaitable<void> Session::Run(std::shared_ptr<Session> self) {
  asio::co_spawn(
      self->socket_.get_executor(),
      [](std::shared_ptr<Session> s) -> awaitable<void> { co_await s->Watchdog(); }(self),
      asio::detached);
  try {
    co_await self->Main();
  } catch (const std::exception& e) {
    spdlog::error("session {}: {}", self->id_, e.what());
  }
  self->Close();
}

void Session::Drain() {
  draining_ = true;
  if (awaiting_command_) {
    boost::system::error_code ec;
    socket_.cancel(ec);
  }
}

void Session::Close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  boost::system::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  deadline_.Cancel();
}

awaitable<void> Session::Watchdog() {
  // The "deadline" pattern: one deadline per session; every phase moves it.
  while (!closed_) {
    bool expired = co_await deadline_.Wait();
    if (!expired || closed_) {
      break;
    }
    boost::system::error_code ignored;
    if (!timed_out_) {
      timed_out_ = true;
      socket_.cancel(ignored);
      deadline_.Set(kGraceAfterTimeout);  // time to say 421
    } else {
      socket_.close(ignored);
      break;
    }
  }
}

void Session::Queue(const Reply& r) {
  AppendFormatted(r, out_);
  if (r.code >= 400 && refusal_phase_ != nullptr) {
    if (ctx_.on_refused) {
      ctx_.on_refused(listener_.name, refusal_phase_, r);
    }
    refusal_phase_ = nullptr;  // one a command: a 421 after it is the session's
  }
}

bool Session::QueueError(const Reply& r) {
  Queue(r);
  if (++errors_ >= listener_.limits.max_errors) {
    Queue({421, "4.7.0", ctx_.options.hostname + " Too many errors, closing connection"});
    return false;
  }
  return true;
}

awaitable<bool> Session::Flush() {
  if (out_.empty()) {
    co_return !closed_;
  }
  if (!timed_out_) {
    deadline_.Set(listener_.limits.command_timeout);
  }
  boost::system::error_code ec;
  if (tls_active_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(out_), kTuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(out_), kTuple);
  }
  out_.clear();
  co_return !ec;
}

awaitable<Session::ReadStatus> Session::ReadMore(std::chrono::milliseconds timeout) {
  // RFC 2920 §3.2: replies may be held back only until the server would block.
  if (!co_await Flush()) {
    co_return ReadStatus::kClosed;
  }
  if (awaiting_command_ && (draining_ || ctx_.draining)) {
    co_return ReadStatus::kDrain;
  }
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > kReadChunk) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  // Read into a buffer kept for the session (growing in_ by a chunk would
  // zero-fill the chunk on every read) and append what arrived. Waiting for a
  // command, with nothing buffered, the session gives its large buffers back
  // and reads into a small one: an idle session costs a few KB.
  asio::mutable_buffer into;
  if (awaiting_command_ && in_.empty()) {
    read_buf_.reset();
    if (in_.capacity() > small_buf_.size()) {
      in_.shrink_to_fit();
    }
    into = asio::buffer(small_buf_);
  } else {
    if (!read_buf_) {
      read_buf_ = std::make_unique_for_overwrite<char[]>(kReadChunk);
    }
    into = asio::buffer(read_buf_.get(), kReadChunk);
  }
  deadline_.Set(timeout);
  boost::system::error_code ec;
  std::size_t n = 0;
  if (tls_active_) {
    std::tie(ec, n) = co_await tls_->async_read_some(into, kTuple);
  } else {
    std::tie(ec, n) = co_await socket_.async_read_some(into, kTuple);
  }
  in_.append(static_cast<const char*>(into.data()), n);
  if (ec) {
    if (timed_out_) {
      co_return ReadStatus::kTimeout;
    }
    if (awaiting_command_ && (draining_ || ctx_.draining)) {
      co_return ReadStatus::kDrain;
    }
    co_return ReadStatus::kClosed;
  }
  co_return ReadStatus::kOk;
}

awaitable<Session::ReadStatus> Session::ReadLine(std::string& line, std::size_t max) {
  bool too_long = false;
  while (true) {
    auto nl = in_.find('\n', in_pos_);
    if (nl != std::string::npos) {
      if (too_long) {
        in_pos_ = nl + 1;
        co_return ReadStatus::kTooLong;
      }
      line.assign(in_, in_pos_, nl - in_pos_);
      in_pos_ = nl + 1;
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      co_return line.size() > max ? ReadStatus::kTooLong : ReadStatus::kOk;
    }
    if (in_.size() - in_pos_ > max + 2) {
      too_long = true;  // discard up to the next newline
      in_pos_ = in_.size();
    }
    auto st = co_await ReadMore(listener_.limits.command_timeout);
    if (st != ReadStatus::kOk) {
      co_return st;
    }
  }
}

awaitable<void> Session::Main() {
  if (listener_.kind == ListenerKind::kSmtps) {
    if (!tls_ctx_) {
      co_return;
    }
    bool secured = co_await Handshake();  // (a named result: GCC 12 and co_await in a condition)
    if (!secured) {
      co_return;
    }
  }
  Queue({220, "", ctx_.options.hostname + " ESMTP Sluice"});
  std::string line;
  while (!closed_) {
    if (draining_ || ctx_.draining) {
      Queue({421, "4.3.2", ctx_.options.hostname + " Service shutting down, closing connection"});
      break;
    }
    awaiting_command_ = true;
    auto st = co_await ReadLine(line, listener_.limits.max_auth_line_length);
    awaiting_command_ = false;
    if (st == ReadStatus::kTimeout) {
      Queue({421, "4.4.2", ctx_.options.hostname + " Timeout exceeded, closing connection"});
      break;
    }
    if (st == ReadStatus::kDrain) {
      continue;  // the loop head says 421 4.3.2
    }
    if (st == ReadStatus::kClosed) {
      co_return;
    }
    if (st == ReadStatus::kTooLong ||
        (line.size() > listener_.limits.max_command_line_length && !IStartsWith(line, "AUTH "))) {
      if (!QueueError({500, "5.5.2", "Line too long"})) {
        break;
      }
      continue;
    }
    if (!co_await Handle(line)) {
      break;
    }
  }
  co_await Flush();
}

awaitable<bool> Session::Handle(const std::string& line) {
  auto parsed = ParseCommand(line);
  if (!parsed) {
    co_return QueueError(ReplyFor(parsed.error()));
  }
  Command& c = parsed.value();
  switch (c.verb) {
    case Verb::kEhlo:
    case Verb::kHelo:
      DoEhlo(c);
      co_return true;
    case Verb::kMail: {
      refusal_phase_ = "mail";
      bool keep = DoMail(c);
      refusal_phase_ = nullptr;
      co_return keep;
    }
    case Verb::kRcpt: {
      refusal_phase_ = "rcpt";
      bool keep = DoRcpt(c);
      refusal_phase_ = nullptr;
      co_return keep;
    }
    case Verb::kData: {
      refusal_phase_ = "data";
      bool keep = co_await DoData();
      refusal_phase_ = nullptr;
      co_return keep;
    }
    case Verb::kBdat: {
      refusal_phase_ = "data";
      bool keep = co_await DoBdat(c);
      refusal_phase_ = nullptr;
      co_return keep;
    }
    case Verb::kRset:
      ResetTransaction();
      Queue({250, "2.0.0", "Ok"});
      co_return true;
    case Verb::kNoop:
      Queue({250, "2.0.0", "Ok"});
      co_return true;
    case Verb::kQuit:
      Queue({221, "2.0.0", ctx_.options.hostname + " Bye"});
      co_return false;
    case Verb::kHelp:
      Queue({214, "2.0.0",
             "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS AUTH"});
      co_return true;
    case Verb::kVrfy:
      Queue({252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"});
      co_return true;
    case Verb::kExpn:
      co_return QueueError({502, "5.5.1", "EXPN not available"});
    case Verb::kStartTls: {
      bool keep = co_await DoStartTls();
      co_return keep;
    }
    case Verb::kAuth: {
      bool keep = co_await DoAuth(c);
      co_return keep;
    }
  }
  co_return true;
}

bool Session::TlsAvailable() const {
  return tls_ctx_ != nullptr && !tls_active_;
}

bool Session::AuthOffered() const {
  return ctx_.credentials != nullptr && (tls_active_ || listener_.allow_plaintext_auth);
}

void Session::ResetTransaction() {
  in_transaction_ = false;
  overshoot_ = 0;
  bdat_active_ = false;
  bdat_failed_ = false;
  envelope_ = Envelope{};
  declared_size_ = 0;
  data_.clear();
  data_.shrink_to_fit();
  data_lease_.Release();
  over_budget_ = false;
}

bool Session::MessageMemoryAvailable() const {
  const auto& budget = ctx_.message_memory;
  if (budget.limit() == 0) {
    return true;
  }
  // A declared size that cannot fit now is turned away before it is sent.
  return !budget.Exhausted() && declared_size_ <= budget.limit() - budget.used();
}

bool Session::HoldData() {
  if (over_budget_) {
    return false;
  }
  // Counted by content, not capacity: a large buffer is a mapping of its own
  // (runtime/malloc_tuning.h), whose untouched tail is not resident.
  if (data_lease_.GrowTo(data_.size())) {
    return true;
  }
  over_budget_ = true;
  data_.clear();
  data_.shrink_to_fit();
  data_lease_.Release();
  return false;
}

void Session::DoEhlo(const Command& c) {
  ResetTransaction();
  info_.helo = c.arg;
  info_.esmtp = c.verb == Verb::kEhlo;
  const auto& host = ctx_.options.hostname;
  if (!info_.esmtp) {
    Queue({250, "", host});
    return;
  }
  std::string text = fmt::format("{} Hello {} [{}]", host, info_.helo, info_.client_ip);
  text += "\nPIPELINING";
  text += fmt::format("\nSIZE {}", listener_.limits.max_message_size);
  text += "\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nCHUNKING\nDSN";
  if (TlsAvailable()) {
    text += "\nSTARTTLS";
  }
  if (!info_.tls.version.empty()) {
    text += "\nREQUIRETLS";  // RFC 8689 §4.1: offered over TLS only
  }
  if (AuthOffered()) {
    text += "\nAUTH PLAIN LOGIN";
  }
  Queue({250, "", text});
}

bool Session::DoMail(Command& c) {
  if (info_.helo.empty()) {
    return QueueError({503, "5.5.1", "Send EHLO or HELO first"});
  }
  if (in_transaction_) {
    return QueueError({503, "5.5.1", "Nested MAIL command"});
  }
  if (listener_.kind != ListenerKind::kRelay && info_.auth_user.empty()) {
    return QueueError({530, "5.7.0", "Authentication required"});
  }
  if (messages_ >= listener_.limits.max_messages_per_connection) {
    Queue({421, "4.7.0", ctx_.options.hostname + " Too many messages in one connection"});
    return false;
  }
  if (c.path.utf8 && !c.mail.smtputf8) {
    return QueueError({553, "5.6.7", "Non-ASCII sender address requires SMTPUTF8"});
  }
  if (c.mail.size && *c.mail.size > listener_.limits.max_message_size) {
    return QueueError({552, "5.3.4", "Message size exceeds fixed maximum message size"});
  }
  if (c.mail.requiretls && info_.tls.version.empty()) {
    // RFC 8689 §4.1
    return QueueError({530, "5.7.10", "REQUIRETLS needs a TLS session"});
  }
  if (auto busy = ctx_.sink->CheckResources()) {
    return QueueError(*busy);
  }
  envelope_ = Envelope{};
  envelope_.requiretls = c.mail.requiretls;
  envelope_.sender = std::move(c.path);
  envelope_.body = c.mail.body;
  envelope_.smtputf8 = c.mail.smtputf8;
  envelope_.ret = c.mail.ret;
  envelope_.envid = std::move(c.mail.envid);
  declared_size_ = c.mail.size.value_or(0);
  in_transaction_ = true;
  Queue({250, "2.1.0", "Ok"});
  return true;
}

bool Session::MayRelay() const {
  return !info_.auth_user.empty() || info_.relay_client;
}

bool Session::DoRcpt(Command& c) {
  if (!in_transaction_) {
    return QueueError({503, "5.5.1", "Need MAIL command before RCPT"});
  }
  if (envelope_.recipients.size() >= listener_.limits.max_recipients) {
    // RFC 5321 §4.5.3.1.10: the client sends the rest in its next
    // transaction. A client that keeps going past the overshoot is misbehaving.
    if (++overshoot_ <= listener_.limits.recipient_overshoot_limit) {
      Queue({452, "4.5.3", "Too many recipients"});
      return true;
    }
    return QueueError({452, "4.5.3", "Too many recipients"});
  }
  if (c.path.utf8 && !envelope_.smtputf8) {
    return QueueError({553, "5.6.7", "Non-ASCII recipient address requires SMTPUTF8"});
  }
  auto d = DecideRecipient(ctx_.options, MayRelay(), std::move(c.path), c.rcpt.notify,
                           std::move(c.rcpt.orcpt));
  if (!d.accept) {
    return QueueError(d.refusal);
  }
  if (!d.postmaster && !d.feedback) {
    if (auto refusal = ctx_.sink->CheckRecipient(info_, envelope_.sender, d.accept->address)) {
      // The client did nothing wrong: no count toward max_errors (a list
      // with many suppressed addresses must not cost the connection).
      Queue(*refusal);
      return true;
    }
  }
  // Postmaster named twice (bare and at a local domain) is delivered to once.
  const std::string added = d.accept->address.ToString();
  bool seen = d.postmaster &&
              std::any_of(envelope_.recipients.begin(), envelope_.recipients.end(),
                          [&added](const Recipient& r) { return r.address.ToString() == added; });
  if (!seen) {
    envelope_.recipients.push_back(std::move(*d.accept));
  }
  Queue({250, "2.1.5", "Ok"});
  return true;
}

awaitable<bool> Session::DoData() {
  if (!in_transaction_) {
    co_return QueueError({503, "5.5.1", "Need MAIL command"});
  }
  if (bdat_active_) {
    co_return QueueError({503, "5.5.1", "DATA cannot follow BDAT"});
  }
  if (envelope_.recipients.empty()) {
    co_return QueueError({554, "5.5.1", "No valid recipients"});
  }
  if (!MessageMemoryAvailable()) {
    // Not the client's error: it may try again (this transaction stays open).
    Queue({452, "4.3.1", "Insufficient system resources, try again later"});
    co_return true;
  }
  Queue({354, "", "End data with <CR><LF>.<CR><LF>"});
  DataDecoder decoder({listener_.limits.max_message_size, listener_.limits.max_line_length});
  data_.clear();
  std::string dropped;  // content past the memory budget, read and let go
  while (true) {
    auto step = decoder.Feed(std::string_view(in_).substr(in_pos_), over_budget_ ? dropped : data_);
    in_pos_ += step.consumed;
    dropped.clear();
    HoldData();
    if (step.done) {
      break;
    }
    if (decoder.fatal()) {
      // RFC 5321 §2.3.8: only CRLF ends a line. Stop reading this stream at once.
      Queue({550, "5.5.2", "Bare <CR> or <LF> in message data is not allowed, closing connection"});
      co_return false;
    }
    auto st = co_await ReadMore(listener_.limits.data_timeout);
    if (st == ReadStatus::kTimeout) {
      Queue({421, "4.4.2", ctx_.options.hostname + " Timeout waiting for data"});
      co_return false;
    }
    if (st != ReadStatus::kOk) {
      co_return false;
    }
  }
  if (decoder.error() == DataError::kTooBig) {
    ResetTransaction();
    co_return QueueError({552, "5.3.4", "Message size exceeds fixed maximum message size"});
  }
  if (decoder.error() == DataError::kLineTooLong) {
    ResetTransaction();
    co_return QueueError({550, "5.5.2",
                          fmt::format("Message has a line longer than {} octets",
                                      listener_.limits.max_line_length)});
  }
  if (over_budget_) {
    ResetTransaction();
    Queue({452, "4.3.1", "Insufficient system resources, message not accepted"});
    co_return true;
  }
  {
    bool keep = co_await FinishMessage();
    co_return keep;
  }
}

awaitable<bool> Session::DoBdat(const Command& c) {
  bool usable = in_transaction_ && !envelope_.recipients.empty() && !bdat_failed_;
  if (usable && !bdat_active_) {
    bdat_active_ = true;
    data_.clear();
    bdat_ = ChunkReader(listener_.limits.max_message_size);
    over_budget_ = !MessageMemoryAvailable();
  }
  // RFC 3030 §2: the chunk is read whatever the answer will be.
  ChunkReader discard(0);
  ChunkReader& reader = usable ? bdat_ : discard;
  std::string sink;
  reader.BeginChunk(c.bdat_size);
  while (!reader.chunk_done()) {
    if (in_pos_ < in_.size()) {
      in_pos_ += reader.Feed(std::string_view(in_).substr(in_pos_),
                             usable && !over_budget_ ? data_ : sink);
      sink.clear();
      if (usable) {
        HoldData();
      }
      continue;
    }
    auto st = co_await ReadMore(listener_.limits.data_timeout);
    if (st == ReadStatus::kTimeout) {
      Queue({421, "4.4.2", ctx_.options.hostname + " Timeout waiting for data"});
      co_return false;
    }
    if (st != ReadStatus::kOk) {
      co_return false;
    }
  }
  if (!in_transaction_) {
    co_return QueueError({503, "5.5.1", "Need MAIL command"});
  }
  if (envelope_.recipients.empty()) {
    co_return QueueError({554, "5.5.1", "No valid recipients"});
  }
  if (bdat_failed_) {
    co_return QueueError({503, "5.5.1", "Earlier BDAT failed, send RSET"});
  }
  if (reader.too_big()) {
    // RFC 3030 §2: a failed chunk fails the transaction.
    bdat_failed_ = true;
    data_.clear();
    co_return QueueError({552, "5.3.4", "Message size exceeds fixed maximum message size"});
  }
  if (over_budget_) {
    // The transaction fails (RFC 3030 §2) without counting as the client's error.
    bdat_failed_ = true;
    data_.clear();
    data_lease_.Release();
    Queue({452, "4.3.1", "Insufficient system resources, message not accepted"});
    co_return true;
  }
  if (!c.bdat_last) {
    Queue({250, "2.0.0", fmt::format("{} octets received", c.bdat_size)});
    co_return true;
  }
  {
    bool keep = co_await FinishMessage();
    co_return keep;
  }
}

awaitable<bool> Session::FinishMessage() {
  if (std::memchr(data_.data(), '\0', data_.size()) != nullptr) {
    // RFC 5321 §4.1.1.4 lets 7-bit data hold any ASCII code but says to avoid
    // controls; RFC 5322 §4.1 makes NUL obsolete, and neither 7bit nor 8bit
    // MIME data (RFC 2045 §2.7-2.8, RFC 6152) may hold it. Only BINARYMIME
    // (RFC 3030), which Sluice does not offer, allows it. Refused rather than
    // relayed: software down the line reads NUL as the end of a string.
    ResetTransaction();
    co_return QueueError({554, "5.6.0", "Message content contains a NUL octet"});
  }
  // The spool sync may take a while; it is not the client's timeout.
  deadline_.SetAt(std::chrono::steady_clock::time_point::max());
  Envelope env = std::move(envelope_);
  std::string data = std::move(data_);
  MemoryLease held(std::move(data_lease_));  // until the spool has the message
  ResetTransaction();
  ++messages_;
  Reply r = co_await ctx_.sink->Accept(info_, std::move(env), std::move(data));
  Queue(r);
  co_return true;
}

awaitable<bool> Session::DoStartTls() {
  if (tls_active_) {
    co_return QueueError({503, "5.5.1", "TLS already active"});
  }
  if (!TlsAvailable()) {
    co_return QueueError({454, "4.7.0", "TLS not available"});
  }
  Queue({220, "2.0.0", "Ready to start TLS"});
  if (!co_await Flush()) {
    co_return false;
  }
  // RFC 3207 §4.2 (CVE-2011-0411): nothing sent before the handshake may be
  // taken as a command afterwards.
  in_.clear();
  in_pos_ = 0;
  bool secured = co_await Handshake();
  if (!secured) {
    co_return false;
  }
  // RFC 3207 §4.2: forget everything learnt before TLS.
  info_.helo.clear();
  info_.esmtp = false;
  info_.auth_user.clear();
  ResetTransaction();
  co_return true;
}

awaitable<bool> Session::Handshake() {
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls_ctx_);
  deadline_.Set(listener_.limits.tls_handshake_timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kTuple);
  if (ec) {
    co_return false;
  }
  tls_active_ = true;
  info_.tls = tls::Describe(tls_->native_handle());
  co_return true;
}

}  // namespace sluice::smtp
