#include "app/suppression_cmd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include <boost/json.hpp>
#include <sys/socket.h>

#include "app/admin_client.h"

namespace sluice::app {

namespace {

// Reads the socket to its end.
std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// The message of a {"error": "..."} reply, or "".
std::string ErrorOf(std::string_view reply) {
  boost::system::error_code ec;
  auto v = boost::json::parse(reply, ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) {
    return "";
  }
  const auto& e = v.as_object().at("error");
  return e.is_string() ? std::string(e.as_string()) : boost::json::serialize(e);
}

int Import(const Settings& st, std::string line, const std::string& file) {
  const int in = file.empty() || file == "-" ? STDIN_FILENO : open(file.c_str(), O_RDONLY);
  if (in < 0) {
    std::fprintf(stderr, "sluice: %s: %s\n", file.c_str(), std::strerror(errno));
    return 1;
  }
  const int fd = ConnectAdmin(st.admin_socket);
  if (fd < 0) {
    return 1;
  }
  bool ok = WriteAll(fd, line + "\n");
  char buf[65536];
  ssize_t n = 0;
  while (ok && (n = read(in, buf, sizeof buf)) > 0) {
    ok = WriteAll(fd, std::string_view(buf, static_cast<std::size_t>(n)));
  }
  if (in != STDIN_FILENO) {
    close(in);
  }
  shutdown(fd, SHUT_WR);  // the end of the file
  const std::string reply = ReadAll(fd);
  close(fd);
  if (const std::string err = ErrorOf(reply); !err.empty()) {
    std::fprintf(stderr, "sluice: %s\n", err.c_str());
    return 1;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(reply, ec);
  if (ec || !v.is_object() || !ok) {
    std::fputs("sluice: the import was cut short (sluiced closed the connection)\n", stderr);
    return 1;
  }
  const auto& o = v.as_object();
  const auto imported = o.at("imported").to_number<std::uint64_t>();
  const auto failed = o.at("failed").to_number<std::uint64_t>();
  std::printf("imported %llu entries, %llu lines refused\n",
              static_cast<unsigned long long>(imported), static_cast<unsigned long long>(failed));
  for (const auto& e : o.at("errors").as_array()) {
    std::fprintf(stderr, "line %s: %s\n", boost::json::serialize(e.as_object().at("line")).c_str(),
                 std::string(e.as_object().at("message").as_string()).c_str());
  }
  return failed == 0 ? 0 : 1;
}

int Export(const Settings& st, const std::string& line) {
  const int fd = ConnectAdmin(st.admin_socket);
  if (fd < 0) {
    return 1;
  }
  if (!WriteAll(fd, line + "\n")) {
    close(fd);
    return 1;
  }
  // Written out as it comes; the last line says how many entries there were.
  std::string tail;
  bool first = true;
  char buf[65536];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    std::string_view chunk(buf, static_cast<std::size_t>(n));
    if (first && chunk.front() == '{') {
      const std::string reply = std::string(chunk) + ReadAll(fd);
      close(fd);
      std::fprintf(stderr, "sluice: %s\n", ErrorOf(reply).c_str());
      return 1;
    }
    first = false;
    std::fwrite(chunk.data(), 1, chunk.size(), stdout);
    tail.append(chunk);
    if (tail.size() > 256) {
      tail.erase(0, tail.size() - 256);
    }
  }
  close(fd);
  const auto last = tail.rfind("\n# ", tail.size() >= 2 ? tail.size() - 2 : 0);
  if (last == std::string::npos || tail.find(" entries\n", last) == std::string::npos) {
    std::fputs("sluice: the export was cut short\n", stderr);
    return 1;
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int SuppressionStream(const Settings& st, const std::vector<std::string>& args) {
  std::string line = "suppression " + args[0];
  std::string file;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const bool flag = args[i].rfind("--", 0) == 0;
    if (!flag && args[0] == "import" && file.empty() && (i == 1 || args[i - 1] == "--all")) {
      file = args[i];
      continue;
    }
    if (args[i].find_first_of(" \t\r\n") != std::string::npos) {
      std::fputs("sluice: options have no spaces\n", stderr);
      return 2;
    }
    line += " " + args[i];
  }
  return args[0] == "import" ? Import(st, line, file) : Export(st, line);
}

}  // namespace sluice::app
