#pragma once
// One SMTP server session: a coroutine that owns its connection for its whole
// life on one io_context. Internal to smtp/server.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "core/envelope.h"
#include "runtime/deadline.h"
#include "smtp/proto/command.h"
#include "smtp/proto/data_decoder.h"
#include "smtp/server/memory_budget.h"
#include "smtp/server/message_sink.h"
#include "smtp/server/options.h"

namespace sluice::smtp {

struct ServerContext;
class Server;

// Who is connected, as the listener saw it at accept time.
struct Peer {
  std::string ip;  // IPv4-mapped IPv6 addresses in their IPv4 form
  std::uint16_t port = 0;
  bool relay_client = false;  // ip is in the relay networks
};

// Counts a connection against its listener's limits while alive.
class ConnectionSlot {
 public:
  virtual ~ConnectionSlot() = default;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket socket, const ListenerOptions& listener, ServerContext& ctx,
          Server& server, std::shared_ptr<tls::ServerContextHolder> tls,
          std::unique_ptr<ConnectionSlot> slot, Peer peer);
  ~Session();

  static boost::asio::awaitable<void> Run(std::shared_ptr<Session> self);
  // Called on the session's executor when the server shuts down.
  void Drain();
  std::uint64_t id() const { return id_; }
  auto executor() { return socket_.get_executor(); }

 private:
  enum class ReadStatus { kOk, kClosed, kTimeout, kDrain, kTooLong };

  boost::asio::awaitable<void> Main();
  boost::asio::awaitable<void> Watchdog();
  boost::asio::awaitable<ReadStatus> ReadMore(std::chrono::milliseconds timeout);
  boost::asio::awaitable<ReadStatus> ReadLine(std::string& line, std::size_t max);
  boost::asio::awaitable<bool> Flush();
  void Queue(const Reply& r);
  // Queues an error reply and counts it; false if the session must end now.
  bool QueueError(const Reply& r);

  boost::asio::awaitable<bool> Handle(const std::string& line);
  void DoEhlo(const Command& c);
  bool DoMail(Command& c);
  bool DoRcpt(Command& c);
  boost::asio::awaitable<bool> DoData();
  boost::asio::awaitable<bool> DoBdat(const Command& c);
  boost::asio::awaitable<bool> DoStartTls();
  // Starts TLS on the connection (server side); false if the handshake failed.
  boost::asio::awaitable<bool> Handshake();
  boost::asio::awaitable<bool> DoAuth(const Command& c);
  // Sends a 334 challenge and reads the client's response line. kFailed: an
  // error reply is queued and the session goes on; kEnd: the session ends.
  enum class ChallengeStatus { kOk, kFailed, kEnd };
  boost::asio::awaitable<ChallengeStatus> Challenge(std::string challenge, std::string& response);
  boost::asio::awaitable<bool> FinishMessage();

  bool TlsAvailable() const;
  bool AuthOffered() const;
  bool MayRelay() const;  // relay client or authenticated user
  void ResetTransaction();
  // Whether a new message fits in the message memory now (DATA, first BDAT).
  bool MessageMemoryAvailable() const;
  // Grows data_lease_ to what data_ holds; on failure drops data_ and
  // sets over_budget_ (false).
  bool HoldData();
  void Close();

  static std::atomic<std::uint64_t> next_id_;
  std::uint64_t id_;
  const ListenerOptions& listener_;
  ServerContext& ctx_;
  Server& server_;
  std::shared_ptr<tls::ServerContextHolder> tls_holder_;
  tls::ContextPtr tls_ctx_;
  boost::asio::ip::tcp::socket socket_;
  // Made when TLS starts (smtps at once, or STARTTLS): a plaintext session
  // carries no TLS state or buffers.
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  runtime::Deadline deadline_;
  std::unique_ptr<ConnectionSlot> slot_;

  SessionInfo info_;
  bool tls_active_ = false;
  bool closed_ = false;
  bool timed_out_ = false;
  bool draining_ = false;
  bool awaiting_command_ = false;

  std::string in_;
  std::size_t in_pos_ = 0;
  // Reads go into a large buffer while data flows and a small one while the
  // session waits for a command, so an idle session holds a few KB.
  std::unique_ptr<char[]> read_buf_;
  std::array<char, 1024> small_buf_;
  std::string out_;

  bool in_transaction_ = false;
  bool bdat_active_ = false;
  bool bdat_failed_ = false;
  Envelope envelope_;
  std::uint64_t declared_size_ = 0;  // MAIL's SIZE= (RFC 1870), 0 if none
  std::string data_;
  // data_'s share of the server's message memory; once it cannot grow, the
  // rest of the message is read and dropped, and the answer is 452 4.3.1.
  MemoryLease data_lease_;
  bool over_budget_ = false;
  ChunkReader bdat_{0};
  std::uint32_t messages_ = 0;
  std::uint32_t errors_ = 0;
  // While a MAIL, RCPT or message command runs: its first refusal is counted
  // (ServerContext::on_refused).
  const char* refusal_phase_ = nullptr;
  std::uint32_t overshoot_ = 0;  // RCPTs past max_recipients in this transaction
};

}  // namespace sluice::smtp
