#include "journal_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <checkpoint/checkpoint.hpp>
#include <checkpoint/writer_lock.hpp>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace journal {
namespace {

using checkpoint::Error;
using checkpoint::ErrorCode;

std::uint32_t crc32(std::string_view data) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

void put_netstring(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
  out += ',';
}

// Reads one netstring from the front of `in`; nullopt if malformed.
std::optional<std::string_view> take_netstring(std::string_view& in) {
  std::size_t length = 0;
  auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), length);
  std::size_t digits = static_cast<std::size_t>(end - in.data());
  if (ec != std::errc() || digits == 0 || digits >= in.size() || in[digits] != ':') return {};
  if (in.size() - digits - 1 < length + 1 || in[digits + 1 + length] != ',') return {};
  std::string_view out = in.substr(digits + 1, length);
  in.remove_prefix(digits + 2 + length);
  return out;
}

std::string record(std::string_view payload) {
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", crc32(payload));
  std::string out = "J " + std::to_string(payload.size()) + " " + crc + "\n";
  out += payload;
  out += '\n';
  return out;
}

void put_state(std::string& payload, const checkpoint::EventLogState& state) {
  put_netstring(payload, "+");
  put_netstring(payload, state.name);
  put_netstring(payload, std::to_string(state.record_number));
  put_netstring(payload, state.timestamp.to_string());
  put_netstring(payload, state.bookmark);
}

class JournalStore final : public checkpoint::StateStore {
 public:
  explicit JournalStore(std::filesystem::path path)
      : path_(std::move(path)), label_("journal store " + path_.string()) {}

  checkpoint::PersistedState load() override {
    checkpoint::PersistedState out;
    checkpoint::StateMap states = scan(out.update_time);
    for (auto& [name, state] : states) out.states.push_back(std::move(state));
    return out;
  }

  void commit(const checkpoint::Commit& commit) override {
    // One writer at a time: the first commit takes the lock (PATH.lock) and
    // the store holds it until it is destroyed; load() never needs it.
    if (!lock_.held()) lock_ = checkpoint::WriterLock::acquire(path_, label_);
    if (!scanned_) {
      checkpoint::Timestamp ignored;
      scan(ignored);
    }
    // Rewrite the whole file when it does not exist yet or when replaying
    // it would cost much more than its states are worth.
    if (valid_end_ == 0 || entries_ > 2 * commit.states.size() + 32) {
      std::string payload;
      put_netstring(payload, commit.update_time.to_string());
      for (const auto& [name, state] : commit.states) put_state(payload, state);
      std::string text = record(payload);
      rewrite(text);
      valid_end_ = text.size();
      entries_ = commit.states.size();
      return;
    }
    std::string payload;
    put_netstring(payload, commit.update_time.to_string());
    for (const auto& name : commit.upserted) put_state(payload, commit.states.find(name)->second);
    for (const auto& name : commit.removed) {
      put_netstring(payload, "-");
      put_netstring(payload, name);
    }
    std::string text = record(payload);
    append(text);
    valid_end_ += text.size();
    entries_ += commit.upserted.size() + commit.removed.size();
  }

 private:
  [[noreturn]] void fail(ErrorCode code, const std::string& what) const {
    throw Error(code, label_ + ": " + what);
  }
  [[noreturn]] void fail_errno(const std::string& what) const {
    fail(ErrorCode::io, what + ": " + std::strerror(errno));
  }
  [[noreturn]] void bad_record(std::size_t offset, const std::string& what) const {
    fail(ErrorCode::corrupt, "the record at offset " + std::to_string(offset) + ": " + what);
  }

  // Replays the file into states; remembers where its valid records end.
  checkpoint::StateMap scan(checkpoint::Timestamp& update_time) {
    checkpoint::StateMap states;
    std::optional<std::string> file = read_all();
    if (file && file->empty()) fail(ErrorCode::corrupt, "the file is empty");
    const std::string text = file.value_or("");
    std::size_t pos = 0;
    entries_ = 0;
    while (pos < text.size()) {
      std::string_view rest(text.data() + pos, text.size() - pos);
      std::size_t newline = rest.find('\n');
      std::size_t length = 0;
      char crc_text[9] = {};
      bool header_ok = newline != std::string_view::npos && rest.starts_with("J ") &&
                       std::sscanf(std::string(rest.substr(0, newline)).c_str(), "J %zu %8s",
                                   &length, crc_text) == 2;
      bool complete = header_ok && rest.size() - newline - 1 >= length + 1;
      std::string_view payload = complete ? rest.substr(newline + 1, length) : "";
      char crc[9];
      std::snprintf(crc, sizeof crc, "%08x", crc32(payload));
      bool intact =
          complete && std::strcmp(crc, crc_text) == 0 && rest[newline + 1 + length] == '\n';
      std::size_t end = complete ? pos + newline + 2 + length : text.size();
      if (!intact) {
        // The file is created whole, so its first record is never torn;
        // a later one is, if nothing valid can follow it.
        if (pos == 0) fail(ErrorCode::corrupt, "the first record is damaged");
        if (end < text.size()) {
          fail(ErrorCode::corrupt, "the record at offset " + std::to_string(pos) + " is damaged");
        }
        break;  // a torn last append: ignored, and cut off by the next commit
      }
      apply(payload, pos, states, update_time);
      pos = end;
    }
    valid_end_ = pos;
    scanned_ = true;
    return states;
  }

  void apply(std::string_view payload, std::size_t offset, checkpoint::StateMap& states,
             checkpoint::Timestamp& update_time) {
    auto bad = [&](const std::string& what) { bad_record(offset, what); };
    auto take = [&] {
      auto field = take_netstring(payload);
      if (!field) bad_record(offset, "malformed field");
      return *field;
    };
    auto time = [&](std::string_view text) {
      try {
        return checkpoint::Timestamp::parse(text);
      } catch (const Error&) {
        bad_record(offset, "bad time \"" + std::string(text) + "\"");
      }
    };
    update_time = time(take());
    while (!payload.empty()) {
      std::string_view op = take();
      std::string name(take());
      ++entries_;
      if (op == "-") {
        states.erase(name);
        continue;
      }
      if (op != "+") bad("unknown operation \"" + std::string(op) + "\"");
      checkpoint::EventLogState state{name, 0, {}, {}};
      std::string_view number = take();
      auto [end, ec] =
          std::from_chars(number.data(), number.data() + number.size(), state.record_number);
      if (ec != std::errc() || end != number.data() + number.size()) bad("bad record number");
      state.timestamp = time(take());
      state.bookmark = take();
      states.insert_or_assign(std::move(name), std::move(state));
    }
  }

  // The whole file, or nullopt if there is none.
  std::optional<std::string> read_all() const {
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::nullopt;
      fail_errno("cannot open " + path_.string());
    }
    std::string out;
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        fail_errno("cannot read " + path_.string());
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  }

  void write_all(int fd, std::string_view text, off_t offset, const std::string& file) const {
    while (!text.empty()) {
      ssize_t n = ::pwrite(fd, text.data(), text.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno("cannot write " + file);
      text.remove_prefix(static_cast<std::size_t>(n));
      offset += n;
    }
  }

  // Appends at the end of the valid records, cutting off a torn one.
  void append(std::string_view text) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail_errno("cannot open " + path_.string());
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    const auto end = static_cast<off_t>(valid_end_);
    if (::ftruncate(fd, end) != 0) fail_errno("cannot truncate " + path_.string());
    write_all(fd, text, end, path_.string());
    if (::fdatasync(fd) != 0) fail_errno("cannot sync " + path_.string());
  }

  // Replaces the file whole: FILE.new, fsync, rename, fsync the directory.
  void rewrite(std::string_view text) const {
    std::filesystem::path dir = path_.parent_path().empty() ? "." : path_.parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) fail(ErrorCode::io, "cannot create " + dir.string() + ": " + ec.message());
    const std::string tmp = path_.string() + ".new";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail_errno("cannot create " + tmp);
    {
      struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
      } closer{fd};
      write_all(fd, text, 0, tmp);
      if (::fsync(fd) != 0) fail_errno("cannot sync " + tmp);
    }
    if (::rename(tmp.c_str(), path_.c_str()) != 0) fail_errno("cannot rename " + tmp);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) fail_errno("cannot open " + dir.string());
    int rc = ::fsync(dfd);
    ::close(dfd);
    if (rc != 0) fail_errno("cannot sync " + dir.string());
  }

  std::filesystem::path path_;
  std::string label_;  // "journal store PATH", the start of every message
  checkpoint::WriterLock lock_;
  bool scanned_ = false;       // valid_end_ and entries_ describe the file
  std::size_t valid_end_ = 0;  // where the last intact record ends
  std::size_t entries_ = 0;    // changes recorded in the file
};

}  // namespace

void register_backend() {
  checkpoint::register_backend(
      {"journal", "append-only log file (an example backend)", {}, {".journal"}},
      [](const checkpoint::StoreUri& uri) -> std::unique_ptr<checkpoint::StateStore> {
        if (uri.target.empty()) {
          throw Error(ErrorCode::invalid_config,
                      "config string \"" + uri.text + "\": journal needs a file path");
        }
        return std::make_unique<JournalStore>(uri.target);
      });
}

}  // namespace journal
