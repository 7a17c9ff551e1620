#include "webhook/outbox.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "core/crc32c.h"
#include "core/durable_file.h"

namespace sluice::webhook {

// A record: its length L (4 octets, big-endian), the CRC-32C of the L octets
// that follow (4 octets), then the L octets: the time appended (8 octets,
// Unix microseconds) and the JSON. Its sequence number is implicit: the
// segment's first, plus its place in the segment.
namespace {

constexpr std::size_t kHeader = 8;
constexpr std::uint32_t kMaxPayload = 64u << 20;
constexpr std::size_t kReadChunk = 64u << 10;
constexpr std::string_view kQueueSuffix = ".queue";
constexpr std::string_view kSegmentSuffix = ".seg";

void PutU32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  }
}

void PutU64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<char>((v >> (56 - 8 * i)) & 0xff);
  }
}

std::uint64_t GetBE(std::string_view s, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n && i < s.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  }
  return v;
}

std::string SegmentName(std::uint64_t first) {
  return fmt::format("{:016x}{}", first, kSegmentSuffix);
}

}  // namespace

struct Outbox::File {
  explicit File(int f) : fd(f) {}
  ~File() { ::close(fd); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd;
};

struct Outbox::Queue {
  std::string dir;
  std::mutex mu;
  std::deque<Segment> segments;  // oldest first
  bool appendable = false;       // the last segment was begun by this process
  std::uint64_t next = 1;        // the number the next record gets
  Cursor cursor{1, 1, 0};        // the oldest record not acknowledged
  Cursor last_read{};            // past the last record the consumer read
  std::shared_ptr<File> acked;   // NAME.queue/acked, opened at the first Ack
  std::vector<std::shared_ptr<File>> unsynced;
  bool dir_unsynced = false;
};

namespace {

// Reads a segment through a buffer, a chunk at a time.
class SegmentReader {
 public:
  explicit SegmentReader(const Outbox::Segment& s) : s_(s) {}
  // The `n` octets at `offset`, all within the segment's whole records; empty
  // if they cannot be read.
  std::string_view Get(std::uint64_t offset, std::size_t n) {
    if (offset + n > s_.size) {
      return {};
    }
    if (offset < base_ || offset + n > base_ + buf_.size()) {
      base_ = offset;
      buf_.resize(std::min<std::uint64_t>(std::max(n, kReadChunk), s_.size - offset));
      std::size_t got = 0;
      while (got < buf_.size()) {
        const ssize_t r = ::pread(s_.file->fd, buf_.data() + got, buf_.size() - got,
                                  static_cast<off_t>(offset + got));
        if (r < 0 && errno == EINTR) {
          continue;
        }
        if (r <= 0) {
          buf_.clear();
          return {};
        }
        got += static_cast<std::size_t>(r);
      }
    }
    return std::string_view(buf_).substr(offset - base_, n);
  }

 private:
  const Outbox::Segment& s_;
  std::string buf_;
  std::uint64_t base_ = 0;
};

// The whole record at `offset`: its payload (time and JSON), or empty if the
// octets there are not a whole record.
std::string_view RecordAt(SegmentReader& r, std::uint64_t offset) {
  const std::string_view h = r.Get(offset, kHeader);
  if (h.size() != kHeader) {
    return {};
  }
  const auto len = static_cast<std::uint32_t>(GetBE(h, 4));
  const auto crc = static_cast<std::uint32_t>(GetBE(h.substr(4), 4));
  if (len < 8 || len > kMaxPayload) {
    return {};
  }
  const std::string_view whole = r.Get(offset, kHeader + len);
  if (whole.size() != kHeader + len || Crc32c(whole.substr(kHeader)) != crc) {
    return {};
  }
  return whole.substr(kHeader);
}

struct Walk {
  Outbox::Cursor end;         // past the last record taken
  std::uint64_t resumed = 0;  // after damage passed over, the number read on from
};

// Takes records from `at` on, across `segs` (the first is at's segment), up to
// `max` records, `max_bytes` of JSON (one record at least) and no record
// numbered `next` or later. A damaged record ends its segment.
Walk Take(const std::vector<Outbox::Segment>& segs, Outbox::Cursor at, std::uint64_t next,
          std::size_t max, std::size_t max_bytes, std::vector<OutboxRecord>* out) {
  Walk w{at, 0};
  std::size_t bytes = 0;
  std::size_t taken = 0;
  for (std::size_t i = 0; i < segs.size() && taken < max && w.end.seq < next; ++i) {
    const Outbox::Segment& s = segs[i];
    if (i > 0) {
      w.end = {s.first, s.first, 0};
    }
    SegmentReader reader(s);
    while (w.end.offset < s.size && taken < max && w.end.seq < next) {
      const std::string_view payload = RecordAt(reader, w.end.offset);
      if (payload.empty()) {
        w.end.offset = s.size;
        w.end.seq = i + 1 < segs.size() ? segs[i + 1].first : next;
        w.resumed = w.end.seq;
        break;
      }
      const std::size_t json = payload.size() - 8;
      if (taken > 0 && bytes + json > max_bytes) {
        return w;
      }
      if (out != nullptr) {
        out->push_back({w.end.seq, static_cast<std::int64_t>(GetBE(payload, 8)),
                        std::string(payload.substr(8))});
      }
      bytes += json;
      ++taken;
      w.end.offset += kHeader + payload.size();
      ++w.end.seq;
    }
  }
  return w;
}

std::shared_ptr<Outbox::File> OpenFile(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0640);
  return fd < 0 ? nullptr : std::make_shared<Outbox::File>(fd);
}

// The queue as it is now: where its oldest record not acknowledged starts,
// the next number, and up to `max_segments` segments from the cursor's on.
// The records before that number are whole and stay as they are, so they
// are read without the lock.
struct Snapshotted {
  Outbox::Cursor at;
  std::uint64_t next = 0;
  std::vector<Outbox::Segment> segs;
};

Snapshotted Snapshot(Outbox::Queue& q, std::size_t max_segments) {
  std::lock_guard lock(q.mu);
  Snapshotted v{q.cursor, q.next, {}};
  for (const auto& s : q.segments) {
    if (s.first >= v.at.segment && v.segs.size() < max_segments) {
      v.segs.push_back(s);
    }
  }
  return v;
}

}  // namespace

Outbox::Outbox(std::string path, std::size_t segment_bytes)
    : path_(std::move(path)), segment_bytes_(segment_bytes) {}

Result<std::unique_ptr<Outbox>, std::string> Outbox::Open(const std::string& path,
                                                          std::size_t segment_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return Fail("cannot create webhook outbox directory " + path + ": " + ec.message());
  }
  if (::access(path.c_str(), W_OK) != 0) {
    return Fail("cannot write to webhook outbox directory " + path + ": " + std::strerror(errno));
  }
  std::unique_ptr<Outbox> box(new Outbox(path, segment_bytes));
  box->Load();
  return box;
}

Outbox::~Outbox() {
  Sync();
}

void Outbox::Load() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.size() <= kQueueSuffix.size() ||
        !name.ends_with(kQueueSuffix)) {
      continue;
    }
    auto q = std::make_unique<Queue>();
    q->dir = entry.path().string();
    std::string acked_text;
    if (auto f = OpenFile(q->dir + "/acked", O_RDONLY)) {
      acked_text.resize(8);
      if (::pread(f->fd, acked_text.data(), 8, 0) != 8) {
        acked_text.clear();
      }
    }
    const std::uint64_t acked = GetBE(acked_text, 8);
    std::vector<std::uint64_t> firsts;
    for (const auto& seg : std::filesystem::directory_iterator(q->dir, ec)) {
      const std::string f = seg.path().filename().string();
      if (f.size() == 16 + kSegmentSuffix.size() && f.ends_with(kSegmentSuffix)) {
        firsts.push_back(std::strtoull(f.substr(0, 16).c_str(), nullptr, 16));
      }
    }
    std::sort(firsts.begin(), firsts.end());
    std::uint64_t next = acked + 1;
    for (std::size_t i = 0; i < firsts.size(); ++i) {
      const std::string file = q->dir + "/" + SegmentName(firsts[i]);
      Segment s{firsts[i], 0, OpenFile(file, O_RDWR)};
      struct stat st {};
      if (s.file == nullptr || ::fstat(s.file->fd, &st) != 0) {
        spdlog::error("webhook outbox: cannot open {}: {}", file, std::strerror(errno));
        continue;
      }
      s.size = static_cast<std::uint64_t>(st.st_size);
      const std::uint64_t end_seq = i + 1 < firsts.size() ? firsts[i + 1] : 0;
      if (end_seq == 0) {
        // The last segment: its whole records give the next number; what
        // follows them was torn by a crash of the machine, and goes.
        std::uint64_t valid = 0;
        std::uint64_t count = 0;
        {
          SegmentReader reader(s);
          while (valid < s.size) {
            const std::string_view p = RecordAt(reader, valid);
            if (p.empty()) {
              break;
            }
            valid += kHeader + p.size();
            ++count;
          }
        }
        if (valid < s.size) {
          spdlog::warn("webhook outbox: {} ends in {} octets of a torn record; cut off", file,
                       s.size - valid);
          if (::ftruncate(s.file->fd, static_cast<off_t>(valid)) != 0) {
            spdlog::error("webhook outbox: cannot cut {}: {}", file, std::strerror(errno));
          }
          s.size = valid;
        }
        next = std::max(next, s.first + count);
        if (s.first + count <= acked + 1 || count == 0) {
          ::unlink(file.c_str());
          continue;
        }
      } else if (end_seq <= acked + 1) {
        ::unlink(file.c_str());  // wholly acknowledged
        continue;
      }
      q->segments.push_back(std::move(s));
    }
    q->next = next;
    q->cursor = {next, next, 0};
    if (!q->segments.empty()) {
      const Segment& oldest = q->segments.front();
      q->cursor = {oldest.first, oldest.first, 0};
      if (acked + 1 > oldest.first) {
        // Past the records of the oldest segment already acknowledged.
        std::vector<Segment> segs(q->segments.begin(), q->segments.end());
        q->cursor = Take(segs, q->cursor, acked + 1, SIZE_MAX, SIZE_MAX, nullptr).end;
      }
    }
    queues_.emplace(name.substr(0, name.size() - kQueueSuffix.size()), std::move(q));
  }
}

Outbox::Queue* Outbox::Find(std::string_view webhook) const {
  std::lock_guard lock(mu_);
  auto it = queues_.find(webhook);
  return it == queues_.end() ? nullptr : it->second.get();
}

Outbox::Queue& Outbox::Get(const std::string& webhook) {
  std::lock_guard lock(mu_);
  auto& q = queues_[webhook];
  if (!q) {
    q = std::make_unique<Queue>();
    q->dir = path_ + "/" + webhook + std::string(kQueueSuffix);
  }
  return *q;
}

void Outbox::Warn(const std::string& webhook, const std::string& error) {
  std::lock_guard lock(mu_);
  ++write_failures_;
  const auto now = std::chrono::steady_clock::now();
  if (now - warned_at_ > std::chrono::seconds(10)) {
    warned_at_ = now;
    spdlog::error("webhook outbox: an event for {} could not be kept ({} so far): {}", webhook,
                  write_failures_, error);
  }
}

bool Outbox::Append(const std::string& webhook, std::string_view json, std::int64_t now_us) {
  if (json.size() > kMaxPayload - 8) {
    Warn(webhook, "event too large");
    return false;
  }
  // The record is built, and its checksum taken, before the lock.
  std::string rec(kHeader + 8 + json.size(), '\0');
  PutU32(rec.data(), static_cast<std::uint32_t>(8 + json.size()));
  PutU64(rec.data() + kHeader, static_cast<std::uint64_t>(now_us));
  std::memcpy(rec.data() + kHeader + 8, json.data(), json.size());
  PutU32(rec.data() + 4, Crc32c(std::string_view(rec).substr(kHeader)));

  Queue& q = Get(webhook);
  std::lock_guard lock(q.mu);
  if (!q.appendable || q.segments.back().size >= segment_bytes_) {
    std::error_code ec;
    std::filesystem::create_directories(q.dir, ec);
    const std::string file = q.dir + "/" + SegmentName(q.next);
    auto f = OpenFile(file, O_RDWR | O_CREAT | O_EXCL | O_APPEND);
    if (f == nullptr) {
      Warn(webhook, fmt::format("cannot create {}: {}", file, std::strerror(errno)));
      return false;
    }
    q.segments.push_back({q.next, 0, std::move(f)});
    q.appendable = true;
    q.dir_unsynced = true;
  }
  Segment& s = q.segments.back();
  if (!WriteAll(s.file->fd, rec)) {
    const int err = errno;
    // A part written is cut off again, so that the next record starts whole.
    if (::ftruncate(s.file->fd, static_cast<off_t>(s.size)) != 0) {
      q.appendable = false;  // the next append begins a new segment
    }
    Warn(webhook, std::strerror(err));
    return false;
  }
  s.size += rec.size();
  ++q.next;
  if (q.unsynced.empty() || q.unsynced.back() != s.file) {
    q.unsynced.push_back(s.file);
  }
  return true;
}

std::vector<OutboxRecord> Outbox::Read(const std::string& webhook, std::size_t max,
                                       std::size_t max_bytes) const {
  Queue* q = Find(webhook);
  if (q == nullptr) {
    return {};
  }
  // A few segments hold more than a batch.
  const auto [at, next, segs] = Snapshot(*q, 4);
  if (at.seq >= next) {
    return {};
  }
  std::vector<OutboxRecord> out;
  const Walk w = Take(segs, at, next, max, max_bytes, &out);
  std::lock_guard lock(q->mu);
  if (w.resumed != 0) {
    spdlog::error("webhook outbox: damaged records of {} passed over, up to number {}", webhook,
                  w.resumed - 1);
  }
  if (q->cursor.seq == at.seq) {
    q->last_read = w.end;
    if (out.empty()) {
      q->cursor = w.end;  // nothing but damage: past it
    }
  }
  return out;
}

void Outbox::Ack(const std::string& webhook, std::uint64_t seq) {
  Queue* q = Find(webhook);
  if (q == nullptr) {
    return;
  }
  Cursor at;
  Cursor end;
  std::vector<Segment> segs;
  {
    std::lock_guard lock(q->mu);
    if (seq < q->cursor.seq) {
      return;
    }
    seq = std::min(seq, q->next - 1);
    at = q->cursor;
    end = q->last_read;
    if (end.seq != seq + 1) {
      for (const auto& s : q->segments) {
        if (s.first >= at.segment) {
          segs.push_back(s);
        }
      }
    }
  }
  if (end.seq != seq + 1) {
    end = Take(segs, at, seq + 1, SIZE_MAX, SIZE_MAX, nullptr).end;
  }
  std::lock_guard lock(q->mu);
  q->cursor = end;
  // A cursor at the end of a segment moves to the next, and the segments
  // before the cursor's go.
  for (std::size_t i = 0; i + 1 < q->segments.size(); ++i) {
    if (q->segments[i].first == q->cursor.segment && q->cursor.offset >= q->segments[i].size) {
      q->cursor = {std::max(q->cursor.seq, q->segments[i + 1].first), q->segments[i + 1].first, 0};
    }
  }
  while (q->segments.size() > 1 && q->segments.front().first < q->cursor.segment) {
    ::unlink((q->dir + "/" + SegmentName(q->segments.front().first)).c_str());
    q->segments.pop_front();
  }
  if (q->acked == nullptr) {
    q->acked = OpenFile(q->dir + "/acked", O_RDWR | O_CREAT);
  }
  char buf[8];
  PutU64(buf, q->cursor.seq - 1);
  if (q->acked == nullptr || ::pwrite(q->acked->fd, buf, 8, 0) != 8) {
    // Left as it was: sent again after a restart (at least once).
    spdlog::error("webhook outbox: cannot note what {} acknowledged: {}", webhook,
                  std::strerror(errno));
  }
}

std::uint64_t Outbox::Pending(const std::string& webhook) const {
  Queue* q = Find(webhook);
  if (q == nullptr) {
    return 0;
  }
  std::lock_guard lock(q->mu);
  return q->next > q->cursor.seq ? q->next - q->cursor.seq : 0;
}

std::int64_t Outbox::OldestUs(const std::string& webhook) const {
  Queue* q = Find(webhook);
  if (q == nullptr) {
    return 0;
  }
  const auto [at, next, segs] = Snapshot(*q, 2);
  std::vector<OutboxRecord> first;
  Take(segs, at, next, 1, 0, &first);
  return first.empty() ? 0 : first.front().at_us;
}

std::uint64_t Outbox::write_failures() const {
  std::lock_guard lock(mu_);
  return write_failures_;
}

void Outbox::Sync() {
  std::vector<Queue*> queues;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, q] : queues_) {
      queues.push_back(q.get());
    }
  }
  for (Queue* q : queues) {
    std::vector<std::shared_ptr<File>> files;
    bool dir = false;
    {
      std::lock_guard lock(q->mu);
      files.swap(q->unsynced);
      std::swap(dir, q->dir_unsynced);
    }
    for (const auto& f : files) {
      ::fdatasync(f->fd);
    }
    if (dir) {
      // A new segment's name, and the queue's own on its first.
      for (const std::string& d : {q->dir, path_}) {
        if (auto f = OpenFile(d, O_RDONLY | O_DIRECTORY)) {
          ::fsync(f->fd);
        }
      }
    }
  }
}

}  // namespace sluice::webhook
