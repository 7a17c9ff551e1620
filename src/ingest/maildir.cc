#include "ingest/maildir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/durable_file.h"

namespace sluice::ingest {

namespace {

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// CRLF line ends become LF: a Maildir file is a local text file.
bool WriteUnixLines(int fd, std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      continue;
    }
    out += s[i];
  }
  return WriteAll(fd, out);
}

bool SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Result<std::string, std::string> Maildir::Deliver(std::string_view unique, std::string_view head,
                                                  std::string_view body) const {
  std::error_code ec;
  for (const char* sub : {"tmp", "new", "cur"}) {
    std::filesystem::create_directories(std::filesystem::path(path_) / sub, ec);
    if (ec) {
      return Fail(fmt::format("cannot create {}/{}: {}", path_, sub, ec.message()));
    }
  }
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  // The Maildir naming convention: time.unique.host.
  std::string name = fmt::format("{}.{}.{}", ::time(nullptr), unique, host);
  std::string tmp = path_ + "/tmp/" + name;
  std::string dst = path_ + "/new/" + name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(Errno("cannot create " + tmp));
  }
  bool ok = WriteUnixLines(fd, head) && WriteUnixLines(fd, body) && ::fsync(fd) == 0;
  std::string why = ok ? std::string() : Errno("cannot write " + tmp);
  ::close(fd);
  if (ok && ::rename(tmp.c_str(), dst.c_str()) != 0) {
    ok = false;
    why = Errno("cannot move " + tmp + " into new/");
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return Fail(why);
  }
  if (!SyncDir(path_ + "/new")) {
    return Fail(Errno("cannot sync " + path_ + "/new"));
  }
  return name;
}

}  // namespace sluice::ingest
