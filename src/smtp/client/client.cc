#include "smtp/client/client.h"

#include <algorithm>
#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "message/downgrade.h"
#include "runtime/deadline.h"
#include "smtp/proto/command.h"
#include "smtp/proto/reply_parser.h"

namespace sluice::smtp {

namespace asio = boost::asio;
using asio::awaitable;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

const char* ToString(ClientStage s) {
  switch (s) {
    case ClientStage::kConnect:
      return "connect";
    case ClientStage::kGreeting:
      return "greeting";
    case ClientStage::kEhlo:
      return "EHLO";
    case ClientStage::kStartTls:
      return "STARTTLS";
    case ClientStage::kMail:
      return "MAIL";
    case ClientStage::kRcpt:
      return "RCPT";
    case ClientStage::kData:
      return "DATA";
    case ClientStage::kQuit:
      return "QUIT";
  }
  return "?";
}

std::shared_ptr<asio::ssl::context> MakeOpportunisticClientContext() {
  if (auto ctx = tls::MakeClientContext({})) {
    return std::move(ctx).value();
  }
  // No trust store: encryption only (nothing can be authenticated).
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(asio::ssl::verify_none);
  return ctx;
}

struct ClientConnection::Impl {
  Impl(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> ctx, ClientOptions o)
      : tls_ctx(ctx ? std::move(ctx) : MakeOpportunisticClientContext()),
        stream(ex, *tls_ctx),
        deadline(ex),
        opts(std::move(o)) {}

  std::shared_ptr<asio::ssl::context> tls_ctx;
  asio::ssl::stream<asio::ip::tcp::socket> stream;
  runtime::Deadline deadline;
  ClientOptions opts;
  bool tls = false;
  bool closed = false;
  bool timed_out = false;
  std::string in;
  // Replies are read here: one buffer for the connection's life rather than
  // one in the frame of every read.
  std::array<char, 4096> rbuf;
  ReplyParser parser;

  void Close() {
    if (closed) {
      return;
    }
    closed = true;
    boost::system::error_code ec;
    stream.next_layer().close(ec);
    deadline.Cancel();
  }

  // Closes the socket when a phase overruns its timeout.
  static awaitable<void> Watchdog(std::shared_ptr<ClientConnection> owner, Impl* self) {
    bool expired = co_await self->deadline.Wait();
    if (expired && !self->closed) {
      self->timed_out = true;
      self->Close();
    }
    (void)owner;
  }

  awaitable<bool> Write(std::string_view bytes, std::chrono::milliseconds timeout) {
    deadline.Set(timeout);
    boost::system::error_code ec;
    if (tls) {
      std::tie(ec, std::ignore) = co_await asio::async_write(stream, asio::buffer(bytes), kTuple);
    } else {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(stream.next_layer(), asio::buffer(bytes), kTuple);
    }
    co_return !ec;
  }

  // Reads one complete reply; nullopt if the connection failed or timed out.
  awaitable<std::optional<Reply>> Read(std::chrono::milliseconds timeout) {
    while (true) {
      if (!in.empty()) {
        Reply r;
        std::size_t used = 0;
        auto st = parser.Feed(in, used, r);
        in.erase(0, used);
        if (st == ReplyParseStatus::kComplete) {
          co_return r;
        }
        if (st != ReplyParseStatus::kNeedMore) {
          Close();
          co_return std::nullopt;
        }
      }
      deadline.Set(timeout);
      boost::system::error_code ec;
      std::size_t n = 0;
      if (tls) {
        std::tie(ec, n) = co_await stream.async_read_some(asio::buffer(rbuf), kTuple);
      } else {
        std::tie(ec, n) = co_await stream.next_layer().async_read_some(asio::buffer(rbuf), kTuple);
      }
      if (ec) {
        Close();
        co_return std::nullopt;
      }
      in.append(rbuf.data(), n);
    }
  }

  awaitable<std::optional<Reply>> Command(std::string line, std::chrono::milliseconds timeout) {
    line += "\r\n";
    bool written = co_await Write(line, timeout);
    if (!written) {
      Close();
      co_return std::nullopt;
    }
    std::optional<Reply> reply = co_await Read(timeout);
    co_return reply;
  }
};

namespace {

ServerCapabilities ParseEhlo(const Reply& r) {
  ServerCapabilities c;
  c.esmtp = true;
  std::string_view text = r.text;
  bool first = true;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string line(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (first) {
      first = false;
      continue;  // the greeting line
    }
    for (auto& ch : line) {
      ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    std::string_view kw = line;
    std::string_view arg;
    if (auto sp = kw.find(' '); sp != std::string_view::npos) {
      arg = kw.substr(sp + 1);
      kw = kw.substr(0, sp);
    }
    if (kw == "PIPELINING") {
      c.pipelining = true;
    } else if (kw == "STARTTLS") {
      c.starttls = true;
    } else if (kw == "8BITMIME") {
      c.eightbitmime = true;
    } else if (kw == "SMTPUTF8") {
      c.smtputf8 = true;
    } else if (kw == "DSN") {
      c.dsn = true;
    } else if (kw == "REQUIRETLS") {
      c.requiretls = true;
    } else if (kw == "CHUNKING") {
      c.chunking = true;
    } else if (kw == "SIZE") {
      std::uint64_t v = 0;
      for (char d : arg) {
        if (d < '0' || d > '9' || v > (UINT64_MAX / 10)) {
          v = 0;
          break;
        }
        v = v * 10 + static_cast<std::uint64_t>(d - '0');
      }
      c.max_size = v;
    }
  }
  return c;
}

Unexpected<ConnectFailure> Failure(ClientStage stage, std::string detail,
                                   std::optional<Reply> reply = std::nullopt,
                                   std::string tls_result = {}) {
  return Fail(ConnectFailure{stage, std::move(detail), std::move(reply), std::move(tls_result)});
}

bool NeedsSmtpUtf8(const Envelope& env, const std::vector<std::size_t>& rcpts) {
  if (env.smtputf8 || env.sender.utf8) {
    return true;
  }
  return std::any_of(rcpts.begin(), rcpts.end(),
                     [&](std::size_t i) { return env.recipients[i].address.utf8; });
}

// The address as sent to the next hop: U-labels where SMTPUTF8 is in use,
// A-labels otherwise (the domain was converted at reception).
std::string PathOf(const Address& a, bool utf8) {
  if (a.IsNull()) {
    return "<>";
  }
  if (a.domain.empty()) {
    return "<" + a.local + ">";
  }
  return "<" + a.local + "@" + (utf8 ? a.domain : a.ascii_domain) + ">";
}

}  // namespace

ClientConnection::~ClientConnection() {
  if (impl_) {
    impl_->Close();
  }
}

awaitable<Result<std::shared_ptr<ClientConnection>, ConnectFailure>> ClientConnection::Open(
    asio::any_io_executor ex, std::string ip, std::uint16_t port, std::string mx_host,
    ClientOptions opts, std::shared_ptr<asio::ssl::context> tls_ctx) {
  std::shared_ptr<ClientConnection> c(new ClientConnection());
  c->ip_ = ip;
  c->mx_host_ = mx_host;
  c->impl_ = std::make_unique<Impl>(ex, std::move(tls_ctx), std::move(opts));
  Impl& im = *c->impl_;
  asio::co_spawn(ex, Impl::Watchdog(c, &im), asio::detached);

  boost::system::error_code ec;
  auto addr = asio::ip::make_address(ip, ec);
  if (ec) {
    co_return Failure(ClientStage::kConnect, "bad address " + ip);
  }
  auto& sock = im.stream.next_layer();
  asio::ip::tcp::endpoint peer(addr, port);
  sock.open(peer.protocol(), ec);
  if (!ec && !im.opts.source_address.empty()) {
    auto src = asio::ip::make_address(im.opts.source_address, ec);
    if (!ec) {
      sock.bind(asio::ip::tcp::endpoint(src, 0), ec);
    }
  }
  if (ec) {
    co_return Failure(ClientStage::kConnect, "cannot bind source: " + ec.message());
  }
  im.deadline.Set(im.opts.connect_timeout);
  std::tie(ec) = co_await sock.async_connect(peer, kTuple);
  if (ec) {
    im.Close();
    co_return Failure(ClientStage::kConnect,
                      im.timed_out ? "connect timeout" : "connect: " + ec.message());
  }
  sock.set_option(asio::ip::tcp::no_delay(true), ec);

  auto greeting = co_await im.Read(im.opts.greeting_timeout);
  if (!greeting) {
    co_return Failure(ClientStage::kGreeting, "no greeting");
  }
  if (greeting->code != 220) {
    co_return Failure(ClientStage::kGreeting, "greeting refused", greeting);
  }

  for (int round = 0; round < 2; ++round) {
    auto ehlo = co_await im.Command("EHLO " + im.opts.ehlo_name, im.opts.command_timeout);
    if (!ehlo) {
      co_return Failure(ClientStage::kEhlo, "connection lost at EHLO");
    }
    if (ehlo->code == 250) {
      c->caps_ = ParseEhlo(*ehlo);
    } else if (round == 0 && ehlo->code >= 500) {
      // RFC 5321 §3.2: fall back to HELO.
      auto helo = co_await im.Command("HELO " + im.opts.ehlo_name, im.opts.command_timeout);
      if (!helo || helo->code != 250) {
        co_return Failure(ClientStage::kEhlo, "HELO refused", helo);
      }
      c->caps_ = ServerCapabilities{};
    } else {
      co_return Failure(ClientStage::kEhlo, "EHLO refused", ehlo);
    }
    if (im.tls || im.opts.tls == TlsPolicy::kDisabled || !c->caps_.starttls) {
      break;
    }
    auto st = co_await im.Command("STARTTLS", im.opts.command_timeout);
    if (!st) {
      co_return Failure(ClientStage::kStartTls, "connection lost at STARTTLS");
    }
    if (st->code != 220) {
      if (im.opts.tls == TlsPolicy::kRequired) {
        co_return Failure(ClientStage::kStartTls, "STARTTLS refused", st, "starttls-not-supported");
      }
      break;  // opportunistic: carry on in plaintext
    }
    if (auto prepared = tls::PrepareClient(im.stream.native_handle(), c->mx_host_, im.opts.auth);
        !prepared) {
      im.Close();
      co_return Failure(ClientStage::kStartTls, prepared.error(), std::nullopt,
                        "validation-failure");
    }
    im.deadline.Set(im.opts.command_timeout);
    auto [hec] = co_await im.stream.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) {
      im.Close();
      co_return Failure(ClientStage::kStartTls, "TLS handshake failed: " + hec.message(),
                        std::nullopt, "validation-failure");
    }
    im.tls = true;
    im.in.clear();
    c->tls_info_ = tls::Describe(im.stream.native_handle());
    if (im.opts.auth.kind != tls::PeerAuth::Kind::kNone) {
      auto failure = tls::CheckPeer(im.stream.native_handle(), im.opts.auth);
      c->authenticated_ = !failure;
      if (failure && im.opts.auth_enforced) {
        // Nothing more is said on an unauthenticated channel: no QUIT.
        im.Close();
        co_return Failure(ClientStage::kStartTls, "certificate not accepted: " + failure->detail,
                          std::nullopt, failure->result_type);
      }
      c->auth_failure_ = std::move(failure);
    }
  }
  if (im.opts.tls == TlsPolicy::kRequired && !im.tls) {
    co_return Failure(ClientStage::kStartTls, "TLS required but STARTTLS not offered", std::nullopt,
                      "starttls-not-supported");
  }
  co_return c;
}

MessageBody MessageBody::Of(std::string_view data) {
  MessageBody b;
  b.size = data.size();
  b.read = [data](std::uint32_t index, std::string& out) {
    if (index != 0) {
      return Piece::kEnd;
    }
    out.assign(data);
    return Piece::kData;
  };
  return b;
}

awaitable<TransactionResult> ClientConnection::Send(const Envelope& env,
                                                    const std::vector<std::size_t>& rcpts,
                                                    std::string_view data) {
  const MessageBody body = MessageBody::Of(data);
  TransactionResult r = co_await Send(env, rcpts, body);
  co_return r;
}

namespace {
// Reads every piece of `body` into `out`; false if a read fails or the
// pieces do not add up to its size.
bool ReadWhole(const MessageBody& body, std::string& out) {
  std::string piece;
  for (std::uint32_t i = 0;; ++i) {
    piece.clear();
    auto got = body.read(i, piece);
    if (got == MessageBody::Piece::kError) {
      return false;
    }
    if (got == MessageBody::Piece::kEnd) {
      return out.size() == body.size;
    }
    out += piece;
  }
}
}  // namespace

awaitable<TransactionResult> ClientConnection::Send(const Envelope& env,
                                                    const std::vector<std::size_t>& rcpts,
                                                    const MessageBody& message) {
  Impl& im = *impl_;
  TransactionResult result;
  auto all = [&](const Reply& r) {
    result.recipients.assign(rcpts.size(), r);
    return result;
  };
  const bool utf8 = NeedsSmtpUtf8(env, rcpts);
  if (utf8 && !caps_.smtputf8) {
    co_return all(
        Reply{553, "5.6.7", "message needs SMTPUTF8, which " + mx_host_ + " does not offer"});
  }
  const Reply unreadable{451, "4.3.0", "local error: the stored message could not be read"};
  // RFC 6152 §3: 8-bit content for a server without 8BITMIME is converted to
  // 7 bits, or returned when it cannot be (the only case that holds the whole
  // message; otherwise it is sent a piece at a time).
  std::string seven_bit;
  MessageBody converted_body;
  const MessageBody* body = &message;
  if (env.body == BodyType::k8BitMime && !caps_.eightbitmime) {
    std::string whole;
    if (!ReadWhole(message, whole)) {
      co_return all(unreadable);
    }
    if (message::Has8Bit(whole)) {
      auto converted = message::DowngradeTo7Bit(whole);
      if (!converted) {
        co_return all(Reply{554, "5.6.3",
                            mx_host_ +
                                " does not offer 8BITMIME and the message cannot be "
                                "converted: " +
                                converted.error()});
      }
      seven_bit = std::move(converted).value();
      converted_body = MessageBody::Of(seven_bit);
      body = &converted_body;
    }
  }
  const std::uint64_t size = body->size;
  if (caps_.max_size > 0 && size > caps_.max_size) {
    co_return all(Reply{552, "5.3.4",
                        fmt::format("message of {} octets exceeds the {} limit of {}", size,
                                    mx_host_, caps_.max_size)});
  }
  const Reply lost{451, "4.4.2", "connection to " + mx_host_ + " lost"};

  std::string mail = "MAIL FROM:" + PathOf(env.sender, utf8);
  if (caps_.max_size > 0 || caps_.esmtp) {
    mail += fmt::format(" SIZE={}", size);
  }
  if (env.body == BodyType::k8BitMime && caps_.eightbitmime) {
    mail += " BODY=8BITMIME";
  }
  if (utf8) {
    mail += " SMTPUTF8";
  }
  if (env.requiretls && caps_.requiretls) {
    mail += " REQUIRETLS";  // RFC 8689 §4.2: the requirement travels on
  }
  if (caps_.dsn) {
    if (env.ret != DsnRet::kUnspecified) {
      mail += env.ret == DsnRet::kFull ? " RET=FULL" : " RET=HDRS";
    }
    if (!env.envid.empty()) {
      mail += " ENVID=" + EncodeXtext(env.envid);
    }
  }
  mail += "\r\n";
  std::vector<std::string> rcpt_lines;
  for (std::size_t i : rcpts) {
    const Recipient& r = env.recipients[i];
    std::string line = "RCPT TO:" + PathOf(r.address, utf8);
    if (caps_.dsn && r.notify != 0) {
      std::string n;
      if (r.notify & kNotifyNever) {
        n = "NEVER";
      } else {
        for (auto [flag, name] :
             {std::pair{kNotifySuccess, "SUCCESS"}, std::pair{kNotifyFailure, "FAILURE"},
              std::pair{kNotifyDelay, "DELAY"}}) {
          if (r.notify & flag) {
            n += n.empty() ? name : std::string(",") + name;
          }
        }
      }
      line += " NOTIFY=" + n;
    }
    if (caps_.dsn && !r.orcpt.empty()) {
      auto semi = r.orcpt.find(';');
      line += " ORCPT=" + r.orcpt.substr(0, semi + 1) + EncodeXtext(r.orcpt.substr(semi + 1));
    }
    rcpt_lines.push_back(line + "\r\n");
  }

  std::optional<Reply> mail_reply;
  std::vector<std::optional<Reply>> rcpt_replies(rcpts.size());
  std::optional<Reply> data_reply;
  if (caps_.pipelining) {
    // RFC 2920 §3.1: MAIL, every RCPT and DATA in one write.
    std::string batch = mail;
    for (const auto& l : rcpt_lines) {
      batch += l;
    }
    batch += "DATA\r\n";
    if (!co_await im.Write(batch, im.opts.command_timeout)) {
      closed_ = true;
      co_return all(lost);
    }
    mail_reply = co_await im.Read(im.opts.command_timeout);
    for (auto& rr : rcpt_replies) {
      if (mail_reply) {
        rr = co_await im.Read(im.opts.command_timeout);
      }
    }
    if (mail_reply && std::all_of(rcpt_replies.begin(), rcpt_replies.end(),
                                  [](const auto& r) { return r.has_value(); })) {
      data_reply = co_await im.Read(im.opts.data_init_timeout);
    }
  } else {
    mail_reply = co_await im.Command(mail.substr(0, mail.size() - 2), im.opts.command_timeout);
    if (mail_reply && mail_reply->code == 250) {
      for (std::size_t i = 0; i < rcpts.size(); ++i) {
        auto& l = rcpt_lines[i];
        rcpt_replies[i] = co_await im.Command(l.substr(0, l.size() - 2), im.opts.command_timeout);
        if (!rcpt_replies[i]) {
          break;
        }
      }
      bool any = std::any_of(rcpt_replies.begin(), rcpt_replies.end(),
                             [](const auto& r) { return r && r->code / 100 == 2; });
      if (any) {
        data_reply = co_await im.Command("DATA", im.opts.data_init_timeout);
      }
    }
  }
  if (!mail_reply) {
    closed_ = true;
    co_return all(lost);
  }
  if (mail_reply->code / 100 != 2) {
    result = all(*mail_reply);
    if (caps_.pipelining && data_reply && data_reply->code == 354) {
      co_await im.Write(".\r\n", im.opts.data_done_timeout);
      co_await im.Read(im.opts.data_done_timeout);
    }
    auto rset = co_await im.Command("RSET", im.opts.command_timeout);
    result.connection_usable = rset.has_value() && rset->code == 250;
    closed_ = !result.connection_usable;
    co_return result;
  }
  std::vector<std::size_t> accepted;
  result.recipients.resize(rcpts.size());
  for (std::size_t i = 0; i < rcpts.size(); ++i) {
    if (!rcpt_replies[i]) {
      result.recipients[i] = lost;
      result.connection_usable = false;
    } else if (rcpt_replies[i]->code / 100 == 2) {
      accepted.push_back(i);
    } else {
      result.recipients[i] = *rcpt_replies[i];
    }
  }
  if (!result.connection_usable) {
    for (auto i : accepted) {
      result.recipients[i] = lost;
    }
    closed_ = true;
    im.Close();
    co_return result;
  }
  if (!data_reply || data_reply->code != 354) {
    Reply r = data_reply ? *data_reply : lost;
    for (auto i : accepted) {
      result.recipients[i] = r;
    }
    if (!data_reply) {
      closed_ = true;
      result.connection_usable = false;
      co_return result;
    }
    auto rset = co_await im.Command("RSET", im.opts.command_timeout);
    result.connection_usable = rset.has_value() && rset->code == 250;
    closed_ = !result.connection_usable;
    co_return result;
  }
  if (accepted.empty()) {
    // RFC 2920 §3.1: DATA was accepted though no recipient was; end it empty.
    co_await im.Write(".\r\n", im.opts.data_done_timeout);
    auto end = co_await im.Read(im.opts.data_done_timeout);
    result.connection_usable = end.has_value();
    closed_ = !result.connection_usable;
    co_return result;
  }
  // The content a piece at a time (RFC 5321 §4.5.2 stuffing carried across
  // pieces), each read before the last is written, so the final dot goes out
  // with the last piece: only if every piece was read and they add up.
  DotStuffer stuffer;
  std::string piece;
  std::string next;
  std::string wire;
  std::uint64_t sent = 0;
  bool written = true;
  bool complete = false;
  auto got = body->read(0, piece);
  for (std::uint32_t i = 1; written && got == MessageBody::Piece::kData; ++i) {
    sent += piece.size();
    wire.clear();
    stuffer.Feed(piece, wire);
    next.clear();
    got = body->read(i, next);
    if (got == MessageBody::Piece::kEnd && sent == size) {
      stuffer.Finish(wire);
      complete = true;
    } else if (got != MessageBody::Piece::kData) {
      break;  // unreadable or short: this piece is not sent either
    }
    written = co_await im.Write(wire, im.opts.data_block_timeout);
    piece.swap(next);
  }
  if (written && !complete) {
    spdlog::error("message data for {} unreadable or short ({} of {} octets): not ended", mx_host_,
                  sent, size);
    closed_ = true;
    result.connection_usable = false;
    im.Close();
    for (auto i : accepted) {
      result.recipients[i] = unreadable;
    }
    co_return result;
  }
  std::optional<Reply> final_reply;
  if (written) {
    final_reply = co_await im.Read(im.opts.data_done_timeout);
  }
  if (!final_reply) {
    closed_ = true;
    result.connection_usable = false;
  }
  for (auto i : accepted) {
    result.recipients[i] = final_reply ? *final_reply : lost;
  }
  co_return result;
}

awaitable<void> ClientConnection::Quit() {
  Impl& im = *impl_;
  if (!im.closed) {
    co_await im.Command("QUIT", std::chrono::seconds(10));
  }
  closed_ = true;
  im.Close();
}

}  // namespace sluice::smtp
