#include "events/log_files.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/thread_name.h"

namespace sluice::events {

namespace fs = std::filesystem;

namespace {

// The time stamp and -N suffix of a rotated file's name ("" if not one).
std::pair<std::string, int> StampOf(const std::string& prefix, const std::string& file) {
  std::string name = fs::path(file).filename().string();
  if (name.size() <= prefix.size() + 15 || name.compare(0, prefix.size(), prefix) != 0 ||
      !std::isdigit(static_cast<unsigned char>(name[prefix.size()]))) {
    return {"", 0};
  }
  name = name.substr(prefix.size());
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".zst") == 0) {
    name.resize(name.size() - 4);
  }
  int n = 1;
  if (name.size() > 17 && name[16] == '_') {
    n = std::atoi(name.c_str() + 17);
  }
  return {name.substr(0, 16), n};
}

std::string PrefixOf(const std::string& path) {
  return fs::path(path).filename().string() + ".";
}

}  // namespace

std::string RotatedName(const std::string& path, std::chrono::system_clock::time_point at) {
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  // Past every file of the same second, even one since pruned away from
  // the middle: names must keep sorting in the order written.
  int last = 0;
  for (const auto& f : ListRotated(path)) {
    auto [s, n] = StampOf(PrefixOf(path), f);
    if (s == stamp) {
      last = std::max(last, n);
    }
  }
  const std::string base = path + "." + stamp;
  return last == 0 ? base : fmt::format("{}_{:03}", base, last + 1);
}

std::vector<std::string> ListRotated(const std::string& path) {
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".";
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // PATH.YYYYMMDDTHHMMSSZ[_NNN][.zst]: a digit after the prefix.
    if (name.size() > prefix.size() + 15 && name.compare(0, prefix.size(), prefix) == 0 &&
        std::isdigit(static_cast<unsigned char>(name[prefix.size()])) &&
        name.find(".tmp") == std::string::npos) {
      out.push_back((dir / name).string());
    }
  }
  // Time order: the stamp, then the -N suffix as a number.
  std::sort(out.begin(), out.end(), [&prefix](const std::string& a, const std::string& b) {
    return StampOf(prefix, a) < StampOf(prefix, b);
  });
  return out;
}

std::optional<std::chrono::system_clock::time_point> RotatedAt(const std::string& path,
                                                               const std::string& file) {
  const auto [stamp, n] = StampOf(PrefixOf(path), file);
  std::tm tm{};
  if (stamp.size() != 16 || strptime(stamp.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Result<Ok, std::string> CompressFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Fail("cannot read " + file);
  }
  const std::string tmp = file + ".zst.tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Fail("cannot create " + tmp + ": " + std::strerror(errno));
  }
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  std::string inbuf(ZSTD_CStreamInSize(), '\0');
  std::string outbuf(ZSTD_CStreamOutSize(), '\0');
  std::string error;
  auto write_all = [&](const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w <= 0) {
        error = "cannot write " + tmp + ": " + std::strerror(w < 0 ? errno : ENOSPC);
        return false;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  };
  bool last = false;
  while (!last && error.empty()) {
    in.read(inbuf.data(), static_cast<std::streamsize>(inbuf.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    last = got < inbuf.size();
    ZSTD_inBuffer input{inbuf.data(), got, 0};
    const ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
    bool finished = false;
    while (!finished && error.empty()) {
      ZSTD_outBuffer output{outbuf.data(), outbuf.size(), 0};
      const std::size_t remaining = ZSTD_compressStream2(cctx.get(), &output, &input, mode);
      if (ZSTD_isError(remaining)) {
        error = std::string("zstd: ") + ZSTD_getErrorName(remaining);
        break;
      }
      write_all(outbuf.data(), output.pos);
      finished = last ? remaining == 0 : input.pos == input.size;
    }
  }
  if (error.empty() && ::fsync(fd) != 0) {
    error = "cannot sync " + tmp + ": " + std::strerror(errno);
  }
  ::close(fd);
  if (error.empty() && std::rename(tmp.c_str(), (file + ".zst").c_str()) != 0) {
    error = "cannot rename " + tmp + ": " + std::strerror(errno);
  }
  if (!error.empty()) {
    ::unlink(tmp.c_str());
    return Fail(error);
  }
  ::unlink(file.c_str());
  return Ok{};
}

Result<Ok, std::string> ReadLines(const std::string& file,
                                  const std::function<void(std::string_view)>& fn) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Fail("cannot read " + file);
  }
  const bool zst = file.size() > 4 && file.compare(file.size() - 4, 4, ".zst") == 0;
  std::string pending;
  auto feed = [&](const char* p, std::size_t n) {
    pending.append(p, n);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      fn(std::string_view(pending).substr(start, nl - start));
    }
    pending.erase(0, start);
  };
  std::string inbuf(zst ? ZSTD_DStreamInSize() : 1 << 16, '\0');
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(zst ? ZSTD_createDCtx() : nullptr,
                                                            ZSTD_freeDCtx);
  std::string outbuf(zst ? ZSTD_DStreamOutSize() : 0, '\0');
  while (in) {
    in.read(inbuf.data(), static_cast<std::streamsize>(inbuf.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) {
      break;
    }
    if (!zst) {
      feed(inbuf.data(), got);
      continue;
    }
    ZSTD_inBuffer input{inbuf.data(), got, 0};
    while (input.pos < input.size) {
      ZSTD_outBuffer output{outbuf.data(), outbuf.size(), 0};
      const std::size_t r = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(r)) {
        return Fail(file + ": " + ZSTD_getErrorName(r));
      }
      feed(outbuf.data(), output.pos);
    }
  }
  return Ok{};  // a last line without its newline is not a whole record
}

RotationWorker::RotationWorker(std::string path, std::size_t keep, bool compress)
    : path_(std::move(path)), keep_(keep), compress_(compress), thread_([this] { Loop(); }) {}

RotationWorker::~RotationWorker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void RotationWorker::Closed(std::string file) {
  {
    std::lock_guard lock(mu_);
    todo_.push_back(std::move(file));
  }
  cv_.notify_all();
}

void RotationWorker::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return todo_.empty() && !busy_; });
}

void RotationWorker::Loop() {
  NameThisThread("log rotation");
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !todo_.empty(); });
    if (todo_.empty()) {
      return;  // stopping; what is left is compressed at the next rotation
    }
    std::string file = std::move(todo_.front());
    todo_.pop_front();
    busy_ = true;
    lock.unlock();
    if (compress_) {
      if (auto r = CompressFile(file); !r) {
        spdlog::warn("event log: {} left uncompressed: {}", file, r.error());
      }
    }
    if (keep_ > 0) {
      auto rotated = ListRotated(path_);
      for (std::size_t i = 0; i + keep_ < rotated.size(); ++i) {
        std::error_code ec;
        fs::remove(rotated[i], ec);
      }
    }
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace sluice::events
