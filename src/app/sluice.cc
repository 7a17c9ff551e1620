// sluice: the operator's command-line tool.
//
//   sluice [--config FILE] user add NAME     password from standard input
//   sluice [--config FILE] spool count
//   sluice [--config FILE] spool ls [--limit N]
//   sluice [--config FILE] spool check [--json]  every record read; problems and repairs
//   sluice [--config FILE] spool cat ID      the stored message, as it will be sent
//   sluice [--config FILE] queue summary | flush [QUEUE] | suspend QUEUE [DURATION] |
//                                 resume QUEUE | bounce QUEUE|ID   (via the admin socket)
//                          QUEUE: a filter, [campaign:][tenant@]domain; domain may be *
//   sluice [--config FILE] dkim keygen|sign|verify ...      (see app/dkim_cmd.h)
//   sluice [--config FILE] doctor DOMAIN [--ip A]... [--ehlo N]   (see app/doctor_cmd.h)
//   sluice [--config FILE] tls check DOMAIN                        (see app/tls_cmd.h)
//   sluice [--config FILE] tls report status|send                  (RFC 8460 reports)
//   sluice [--config FILE] health [blocklists]   ([health]'s, [blocklists]' latest results)
//   sluice [--config FILE] shaping check FILE | explain DOMAIN [--source IP] | reload
//   sluice [--config FILE] bounce classify "REPLY" | check FILE
//   sluice [--config FILE] warmup status | events status | spool status
//                                                            (via the admin socket)
//   sluice [--config FILE] webhook list | test NAME | replay NAME --since TIME | secret
//   sluice [--config FILE] key list | create [TENANT] | revoke ID
//                          HTTP API keys; no TENANT: an operator key (via the admin socket)
//
// Admin-socket commands print a table; with --json, sluiced's JSON reply.
//
// Security: writes password hashes (never the password); opens the spool read-only.

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "app/admin_client.h"
#include "app/admin_output.h"
#include "app/bounce_cmd.h"
#include "app/dkim_cmd.h"
#include "app/doctor_cmd.h"
#include "app/settings.h"
#include "app/shaping_cmd.h"
#include "app/suppression_cmd.h"
#include "app/tls_cmd.h"
#include "auth/credentials.h"
#include "core/time_format.h"
#include "spool/check.h"
#include "spool/rocks_spool.h"
#include "webhook/signature.h"

using namespace sluice;

namespace {

int Usage() {
  std::fputs(
      "usage: sluice [--config FILE] user add NAME   (reads the password from stdin)\n"
      "       sluice [--config FILE] spool count\n"
      "       sluice [--config FILE] spool ls [--limit N]\n"
      "       sluice [--config FILE] spool check [--json]\n"
      "       sluice [--config FILE] spool cat ID\n"
      "       sluice [--config FILE] queue summary|flush [QUEUE]|suspend QUEUE [DURATION]|\n"
      "                                    resume QUEUE|bounce QUEUE|ID\n"
      "              (QUEUE: [CAMPAIGN:][TENANT@]DOMAIN, DOMAIN may be *)\n"
      "       sluice [--config FILE] dkim keygen|sign|verify ...\n"
      "       sluice [--config FILE] doctor DOMAIN [--ip ADDRESS]... [--ehlo NAME]\n"
      "       sluice [--config FILE] health [blocklists] [--json]\n"
      "       sluice [--config FILE] tls check DOMAIN | tls report status|send\n"
      "       sluice [--config FILE] shaping check FILE|explain DOMAIN [--source IP]|reload\n"
      "       sluice [--config FILE] warmup status | events status | spool status |\n"
      "                feedback status\n"
      "       sluice [--config FILE] bounce classify \"REPLY\" | bounce check FILE | bounce "
      "status\n"
      "       sluice [--config FILE] key list|create [TENANT]|revoke ID   (HTTP API keys)\n"
      "       sluice [--config FILE] webhook list | test NAME | replay NAME --since TIME |\n"
      "                secret   (TIME: RFC 3339; secret prints a new whsec_ secret)\n"
      "       sluice [--config FILE] suppression add|remove|check ADDRESS|@DOMAIN [--tenant T]\n"
      "                [--campaign C] [--reason R] [--expires TIME|DURATION] [--detail TEXT]\n"
      "       sluice [--config FILE] suppression import [FILE] [--tenant T] [--campaign C]\n"
      "                [--reason R] | export [--tenant T] [--campaign C] [--all]   (CSV)\n"
      "       (queue, warmup status and shaping reload print tables; --json prints JSON)\n",
      stderr);
  return 2;
}

std::string ReadPassword() {
  bool tty = isatty(STDIN_FILENO) != 0;
  termios old{};
  if (tty) {
    std::fputs("Password: ", stderr);
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string pw;
  std::getline(std::cin, pw);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fputs("\n", stderr);
  }
  if (!pw.empty() && pw.back() == '\r') {
    pw.pop_back();
  }
  return pw;
}

int UserAdd(const app::Settings& st, const std::string& name) {
  if (st.users_file.empty()) {
    std::fputs("sluice: auth.users_file is not set in the configuration\n", stderr);
    return 1;
  }
  if (!auth::ValidUserName(name)) {
    std::fputs("sluice: invalid user name (1-64 of A-Z a-z 0-9 . _ @ + -)\n", stderr);
    return 1;
  }
  std::string pw = ReadPassword();
  if (pw.empty()) {
    std::fputs("sluice: empty password\n", stderr);
    return 1;
  }
  auto hash = auth::HashPassword(pw);
  if (!hash) {
    std::fprintf(stderr, "sluice: %s\n", hash.error().c_str());
    return 1;
  }
  auto r = auth::StoreUser(st.users_file, name, hash.value());
  if (!r) {
    std::fprintf(stderr, "sluice: %s\n", r.error().c_str());
    return 1;
  }
  std::printf("user %s stored in %s (send SIGHUP to a running sluiced)\n", name.c_str(),
              st.users_file.c_str());
  return 0;
}

int SpoolCmd(const app::Settings& st, const std::string& verb, long limit) {
  auto spool = spool::RocksSpool::Open({.path = st.spool_path, .read_only = true});
  if (!spool) {
    std::fprintf(stderr, "sluice: %s\n", spool.error().c_str());
    return 1;
  }
  long shown = 0;
  auto n = spool.value()->ForEachMeta([&](spool::Meta&& m) {
    if (verb != "ls" || (limit >= 0 && shown >= limit)) {
      return;
    }
    ++shown;
    auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(m.received_us));
    std::string rcpts;
    for (const auto& r : m.envelope.recipients) {
      rcpts += (rcpts.empty() ? "" : ",") + r.address.ToString();
    }
    std::printf("%s\t%s\t%llu\t<%s>\t%s\n", m.id.Hex().c_str(), Rfc3339Micros(t).c_str(),
                static_cast<unsigned long long>(m.size), m.envelope.sender.ToString().c_str(),
                rcpts.c_str());
  });
  if (!n) {
    std::fprintf(stderr, "sluice: %s\n", spool::ToString(n.error()));
    return 1;
  }
  if (verb == "count") {
    std::printf("%llu\n", static_cast<unsigned long long>(n.value()));
  }
  return 0;
}

// Reads every record; prints what is wrong and what a repair would do.
int SpoolCheck(const app::Settings& st, bool json) {
  auto spool = spool::RocksSpool::Open({.path = st.spool_path, .read_only = true});
  if (!spool) {
    std::fprintf(stderr, "sluice: %s\n", spool.error().c_str());
    return 1;
  }
  auto report = spool::CheckSpool(*spool.value());
  if (!report) {
    std::fprintf(stderr, "sluice: %s: %s\n", st.spool_path.c_str(),
                 spool::ToString(report.error()));
    return 1;
  }
  const auto& r = report.value();
  if (json) {
    boost::json::array findings;
    for (const auto& f : r.findings) {
      findings.push_back({{"id", f.id}, {"problem", f.problem}, {"repair", f.repair}});
    }
    boost::json::object o{{"messages", r.messages},         {"pending", r.pending},
                          {"finished", r.finished},         {"data_records", r.data_records},
                          {"data_bytes", r.data_bytes},     {"clean", r.clean()},
                          {"findings", std::move(findings)}};
    std::printf("%s\n", boost::json::serialize(o).c_str());
  } else {
    std::printf(
        "spool %s: %llu messages (%llu to deliver, %llu finished: removed at the next "
        "start), %llu data records, %llu octets\n",
        st.spool_path.c_str(), static_cast<unsigned long long>(r.messages),
        static_cast<unsigned long long>(r.pending), static_cast<unsigned long long>(r.finished),
        static_cast<unsigned long long>(r.data_records),
        static_cast<unsigned long long>(r.data_bytes));
    for (const auto& f : r.findings) {
      std::printf("%s\t%s\trepair: %s\n", f.id.c_str(), f.problem.c_str(), f.repair.c_str());
    }
    std::printf(r.clean() ? "no problems found\n" : "%zu problems found\n", r.findings.size());
  }
  return r.clean() ? 0 : 1;
}

int SpoolCat(const app::Settings& st, const std::string& hex) {
  auto id = SpoolId::FromHex(hex);
  if (!id) {
    std::fputs("sluice: a spool id is 32 hex digits\n", stderr);
    return 2;
  }
  auto spool = spool::RocksSpool::Open({.path = st.spool_path, .read_only = true});
  if (!spool) {
    std::fprintf(stderr, "sluice: %s\n", spool.error().c_str());
    return 1;
  }
  auto data = spool.value()->ReadData(*id);
  if (!data) {
    std::fprintf(stderr, "sluice: %s: %s\n", hex.c_str(), spool::ToString(data.error()));
    return 1;
  }
  std::fwrite(data.value().data(), 1, data.value().size(), stdout);
  return 0;
}

// Sends one command to sluiced's admin socket and prints its reply: as a
// table, or as the JSON it came as with `json`.
int QueueCmd(const app::Settings& st, const std::vector<std::string>& args, bool json) {
  std::string line;
  for (const auto& a : args) {
    line += (line.empty() ? "" : " ") + a;
  }
  if (line.find('\n') != std::string::npos || line.size() > 1000) {
    return Usage();
  }
  const int fd = app::ConnectAdmin(st.admin_socket);
  if (fd < 0) {
    return 1;
  }
  line += '\n';
  if (!sluice::WriteAll(fd, line)) {
    close(fd);
    return 1;
  }
  std::string reply;
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    reply.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  if (reply.empty()) {
    std::fputs("sluice: sluiced closed the admin connection without a reply\n", stderr);
    return 1;
  }
  auto shown = app::RenderAdminReply(args, reply);
  if (json) {
    std::fputs(reply.c_str(), stdout);
  } else if (shown.error.empty()) {
    std::fputs(shown.out.c_str(), stdout);
  }
  if (!shown.error.empty()) {
    if (!json) {
      std::fprintf(stderr, "sluice: %s\n", shown.error.c_str());
    }
    return 1;
  }
  return 0;
}

// A count from the command line, or nullopt (and a message) if it is not one.
std::optional<long> ParseCount(const std::string& flag, const std::string& value) {
  long n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < 0) {
    std::fprintf(stderr, "sluice: %s wants a whole number of 0 or more, not \"%s\"\n", flag.c_str(),
                 value.c_str());
    return std::nullopt;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_path;
  if (args.size() >= 2 && args[0] == "--config") {
    config_path = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  auto doc = config_path.empty()
                 ? config::Document::Parse(app::kDefaultConfig, "(embedded defaults)")
                 : config::Document::LoadFile(config_path);
  app::Settings settings;
  if (doc->errors().empty()) {
    settings = app::Bind(*doc);
  }
  if (!doc->errors().empty()) {
    std::fputs(doc->errors().ToString().c_str(), stderr);
    return 2;
  }
  // --json (anywhere): an admin command's reply as sluiced sent it, for scripts.
  const auto json_flag = std::find(args.begin(), args.end(), "--json");
  const bool json = json_flag != args.end();
  if (json) {
    args.erase(json_flag);
  }
  if (args.size() == 2 && args[0] == "warmup" && args[1] == "status") {
    return QueueCmd(settings, args, json);  // over the admin socket
  }
  if (args.size() == 2 && args[0] == "shaping" && args[1] == "reload") {
    return QueueCmd(settings, args, json);  // over the admin socket
  }
  if (args.size() == 2 && (args[0] == "events" || args[0] == "spool" || args[0] == "feedback") &&
      args[1] == "status") {
    return QueueCmd(settings, args, json);  // over the admin socket
  }
  if (!args.empty() && args[0] == "shaping") {
    return app::ShapingCommand(settings, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args.size() == 2 && args[0] == "webhook" && args[1] == "secret") {
    std::printf("%s\n", webhook::MakeSecret().c_str());
    return 0;
  }
  if (args.size() == 5 && args[0] == "webhook" && args[1] == "replay" && args[3] == "--since") {
    return QueueCmd(settings, {"webhook", "replay", args[2], args[4]}, json);
  }
  if ((args.size() == 2 && args[0] == "webhook" && args[1] == "list") ||
      (args.size() == 3 && args[0] == "webhook" && args[1] == "test")) {
    return QueueCmd(settings, args, json);  // over the admin socket
  }
  if ((args.size() == 1 && args[0] == "health") ||
      (args.size() == 2 && args[0] == "health" && args[1] == "blocklists")) {
    return QueueCmd(settings, args, json);  // over the admin socket
  }
  if (args.size() == 2 && args[0] == "bounce" && args[1] == "status") {
    return QueueCmd(settings, args, json);  // over the admin socket
  }
  if (!args.empty() && args[0] == "bounce") {
    return app::BounceCommand(settings, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args.size() == 3 && args[0] == "tls" && args[1] == "report") {
    return QueueCmd(settings, args, json);  // over the admin socket
  }
  if (!args.empty() && args[0] == "tls") {
    return app::TlsCommand(settings, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (!args.empty() && args[0] == "doctor") {
    return app::DoctorCommand(settings, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (!args.empty() && args[0] == "dkim") {
    return app::DkimCommand(settings, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args.size() == 3 && args[0] == "user" && args[1] == "add") {
    return UserAdd(settings, args[2]);
  }
  if (args.size() >= 2 && args[0] == "suppression" &&
      (args[1] == "import" || args[1] == "export")) {
    return app::SuppressionStream(settings, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args.size() >= 2 && (args[0] == "queue" || args[0] == "key" || args[0] == "suppression")) {
    return QueueCmd(settings, args, json);  // over the admin socket
  }
  if (args.size() == 2 && args[0] == "spool" && args[1] == "check") {
    return SpoolCheck(settings, json);
  }
  if (args.size() == 3 && args[0] == "spool" && args[1] == "cat") {
    return SpoolCat(settings, args[2]);
  }
  if (args.size() >= 2 && args[0] == "spool" && (args[1] == "count" || args[1] == "ls")) {
    long limit = -1;
    if (args.size() == 4 && args[2] == "--limit") {
      auto n = ParseCount("--limit", args[3]);
      if (!n) {
        return 2;
      }
      limit = *n;
    } else if (args.size() != 2) {
      return Usage();
    }
    return SpoolCmd(settings, args[1], limit);
  }
  return Usage();
}
