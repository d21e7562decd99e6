#include "journal_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <checkpoint/checkpoint.hpp>
#include <checkpoint/toolkit/durable_file.hpp>
#include <checkpoint/toolkit/errors.hpp>
#include <checkpoint/toolkit/options.hpp>
#include <checkpoint/toolkit/system_calls.hpp>
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

// "*": a state and when it last changed. ("+", without that time, was
// written before states had one: it reads with its record's update time.)
void put_state(std::string& payload, const checkpoint::EventLogState& state) {
  put_netstring(payload, "*");
  put_netstring(payload, state.name);
  put_netstring(payload, std::to_string(state.record_number));
  put_netstring(payload, state.timestamp.to_string());
  put_netstring(payload, state.bookmark);
  put_netstring(payload, state.update_time.to_string());
}

class JournalStore final : public checkpoint::Store {
 public:
  JournalStore(std::filesystem::path path, const checkpoint::OpenOptions& options)
      : path_(std::move(path)), label_("journal store " + path_.string()), mode_(options.mode) {
    const bool exists = checkpoint::toolkit::exists(path_, label_);
    if (!exists && (mode_ == checkpoint::OpenMode::read || !options.create_if_missing)) {
      fail(ErrorCode::not_found, "no such store (" + path_.string() + " does not exist)");
    }
    // A writer locks before it reads anything: what it loads is what it
    // overwrites. A reader never locks.
    if (mode_ == checkpoint::OpenMode::write) {
      lock_ = checkpoint::WriterLock::acquire(path_, label_);
    }
  }

  checkpoint::Timestamp scan(const checkpoint::StateSink& sink) override {
    checkpoint::Timestamp update_time;
    checkpoint::StateMap states = replay(update_time);
    for (auto& [name, state] : states) sink(std::move(state));
    return update_time;
  }

  void commit(const checkpoint::Changes& changes) override {
    if (mode_ != checkpoint::OpenMode::write) {
      fail(ErrorCode::invalid_argument, "opened for reading; cannot commit");
    }
    if (!scanned_) {
      checkpoint::Timestamp ignored;
      replay(ignored);
    }
    std::string payload;
    put_netstring(payload, changes.update_time.to_string());
    // Rewrite the whole file when it does not exist yet or when replaying
    // it would cost much more than it did when last written whole.
    if (valid_end_ == 0 || entries_ > 2 * entries_when_written_ + 32) {
      checkpoint::Timestamp ignored;
      checkpoint::StateMap states = valid_end_ == 0 ? checkpoint::StateMap{} : replay(ignored);
      for (const auto& name : changes.removed) states.erase(name);
      for (const auto& state : changes.upserted) states.insert_or_assign(state.name, state);
      for (const auto& [name, state] : states) put_state(payload, state);
      std::string text = record(payload);
      checkpoint::toolkit::write_file_atomically(path_, text, /*sync=*/true, label_);
      valid_end_ = text.size();
      entries_ = entries_when_written_ = states.size();
      return;
    }
    for (const auto& state : changes.upserted) put_state(payload, state);
    for (const auto& name : changes.removed) {
      put_netstring(payload, "-");
      put_netstring(payload, name);
    }
    std::string text = record(payload);
    append(text);
    valid_end_ += text.size();
    entries_ += changes.upserted.size() + changes.removed.size();
  }

 private:
  [[noreturn]] void fail(ErrorCode code, const std::string& what) const {
    throw checkpoint::toolkit::store_error(code, label_, what);
  }
  [[noreturn]] void fail_errno(const std::string& what) const {
    throw checkpoint::toolkit::system_error(ErrorCode::io, label_, what, errno);
  }
  [[noreturn]] void bad_record(std::size_t offset, const std::string& what) const {
    throw checkpoint::toolkit::corrupt(
        label_, "the record at offset " + std::to_string(offset) + ": " + what, std::nullopt,
        offset);
  }

  // Replays the file into states; remembers where its valid records end.
  checkpoint::StateMap replay(checkpoint::Timestamp& update_time) {
    checkpoint::StateMap states;
    std::optional<std::string> file = checkpoint::toolkit::read_file(path_, label_);
    if (!file && mode_ == checkpoint::OpenMode::read) {
      fail(ErrorCode::not_found, "no such store (" + path_.string() + " does not exist)");
    }
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
        if (end < text.size()) bad_record(pos, "damaged");
        break;  // a torn last append: ignored, and cut off by the next commit
      }
      apply(payload, pos, states, update_time);
      pos = end;
    }
    valid_end_ = pos;
    if (!scanned_) entries_when_written_ = entries_;
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
      if (op != "+" && op != "*") bad("unknown operation \"" + std::string(op) + "\"");
      checkpoint::EventLogState state{name, 0, {}, {}};
      std::string_view number = take();
      auto [end, ec] =
          std::from_chars(number.data(), number.data() + number.size(), state.record_number);
      if (ec != std::errc() || end != number.data() + number.size()) bad("bad record number");
      state.timestamp = time(take());
      state.bookmark = take();
      state.update_time = op == "*" ? time(take()) : update_time;
      states.insert_or_assign(std::move(name), std::move(state));
    }
  }

  // Appends at the end of the valid records, cutting off a torn one, with
  // the toolkit's system calls (checkpoint/toolkit/system_calls.hpp).
  void append(std::string_view text) {
    const auto& sys = checkpoint::toolkit::sys();
    int fd = sys.open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC, 0);
    if (fd < 0) fail_errno("cannot open " + path_.string());
    struct Closer {
      int fd;
      ~Closer() { checkpoint::toolkit::sys().close(fd); }
    } closer{fd};
    if (sys.ftruncate(fd, static_cast<off_t>(valid_end_)) != 0) {
      fail_errno("cannot truncate " + path_.string());
    }
    while (!text.empty()) {
      ssize_t n = sys.write(fd, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno("cannot write " + path_.string());
      text.remove_prefix(static_cast<std::size_t>(n));
    }
    if (sys.fsync(fd) != 0) fail_errno("cannot sync " + path_.string());
  }

  std::filesystem::path path_;
  std::string label_;  // "journal store PATH", the start of every message
  checkpoint::OpenMode mode_;
  checkpoint::WriterLock lock_;           // writers only, taken when opened
  bool scanned_ = false;                  // valid_end_ and entries_ describe the file
  std::size_t valid_end_ = 0;             // where the last intact record ends
  std::size_t entries_ = 0;               // changes recorded in the file
  std::size_t entries_when_written_ = 0;  // entries when it was last written whole
};

}  // namespace

checkpoint::BackendInfo backend_info() {
  return {"journal", "append-only log file (an example backend)", {}, {".journal"}};
}

std::unique_ptr<checkpoint::Store> open(const checkpoint::StoreUri& uri,
                                        const checkpoint::OpenOptions& options) {
  std::filesystem::path path = checkpoint::toolkit::require_path(uri);
  return std::make_unique<JournalStore>(path, options);
}

void register_backend() { checkpoint::register_backend(backend_info(), open); }

}  // namespace journal
