#include "examples/tail/follower.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace checkpoint_tail {
namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

void Output::tracked(const std::string&, std::string_view, checkpoint::Ticket) {
  throw std::logic_error(
      "Output::tracked(): an output whose acknowledges() is true must define it");
}

Follower::Follower(std::string path, checkpoint::Checkpoint& checkpoint, Output& output)
    : path_(std::move(path)), checkpoint_(checkpoint), output_(output) {}

Follower::~Follower() { close_file(); }

std::size_t Follower::poll() {
  if (fd_ < 0 && !open_file()) return 0;
  // Look at the path before reading, so that everything the old file held
  // when it was rotated is read before switching to the new one.
  PathState path_state = check_path();
  check_truncation();
  bool at_end = false;
  std::size_t bytes = read_some(kPollBudget, at_end);
  if (path_state == PathState::replaced && at_end) {
    finish_old_file();
    close_file();
    if (open_file()) bytes += read_some(kPollBudget, at_end);
  }
  return bytes;
}

bool Follower::open_file() {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      if (!told_missing_) output_.note(path_, "does not exist yet; waiting for it");
      told_missing_ = true;
    } else {
      if (!told_open_error_) output_.note(path_, "cannot open: " + errno_text() + "; will retry");
      told_open_error_ = true;
    }
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    std::string why = S_ISREG(st.st_mode) ? "cannot stat: " + errno_text() : "not a regular file";
    ::close(fd);
    if (!told_open_error_) output_.note(path_, why + "; will retry");
    told_open_error_ = true;
    return false;
  }
  fd_ = fd;
  device_ = st.st_dev;
  inode_ = st.st_ino;
  read_offset_ = consumed_ = 0;
  partial_.clear();
  fingerprint_.clear();
  told_missing_ = told_open_error_ = false;
  if (!resumed_) {
    resumed_ = true;
    resume_from_checkpoint(static_cast<std::uint64_t>(st.st_size));
  } else {
    output_.note(path_, "is a new file (inode " + std::to_string(inode_) +
                            "); reading it from the beginning");
  }
  return true;
}

void Follower::resume_from_checkpoint(std::uint64_t size) {
  auto state = checkpoint_.state(path_);
  if (!state) {
    output_.note(path_, "no checkpoint yet; reading from the beginning");
    return;
  }
  // Lines are counted across rotations, so the count carries on either way.
  lines_ = state->record_number;
  auto position = parse_position(state->bookmark);
  if (!position) {
    output_.note(path_, "checkpoint bookmark \"" + state->bookmark +
                            "\" is not \"offset=N inode=M\"; reading from the beginning");
    return;
  }
  if (position->inode != inode_) {
    output_.note(path_, "is not the file of the checkpoint (inode " + std::to_string(inode_) +
                            ", checkpoint has inode " + std::to_string(position->inode) +
                            "); reading from the beginning");
    return;
  }
  if (size < position->offset) {
    output_.note(path_, "is shorter (" + std::to_string(size) +
                            " bytes) than the checkpointed offset " +
                            std::to_string(position->offset) +
                            ", so it was truncated; reading from the beginning");
    return;
  }
  // Every consumed line ended with a newline; a file without one there was
  // rewritten since the checkpoint.
  std::string before = read_back(position->offset, kFingerprintSize);
  if (position->offset > 0 && (before.empty() || before.back() != '\n')) {
    output_.note(path_, "has no line end at the checkpointed offset " +
                            std::to_string(position->offset) +
                            ", so it was rewritten; reading from the beginning");
    return;
  }
  if (::lseek(fd_, static_cast<off_t>(position->offset), SEEK_SET) < 0) {
    throw std::runtime_error(path_ + ": cannot seek to byte " + std::to_string(position->offset) +
                             ": " + errno_text());
  }
  read_offset_ = consumed_ = position->offset;
  fingerprint_ = std::move(before);
  output_.note(path_, "resuming from the checkpoint after line " + std::to_string(lines_) +
                          " (byte " + std::to_string(consumed_) + ", inode " +
                          std::to_string(inode_) + ")");
}

Follower::PathState Follower::check_path() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (!told_missing_) {
      output_.note(path_,
                   "was removed or renamed; reading the rest of it, then waiting for a "
                   "new file at this path");
    }
    told_missing_ = true;
    return PathState::missing;
  }
  if (st.st_ino != inode_ || st.st_dev != device_) return PathState::replaced;
  return PathState::same;
}

void Follower::check_truncation() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw std::runtime_error(path_ + ": cannot stat: " + errno_text());
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < read_offset_) {
    output_.note(path_, "was truncated (now " + std::to_string(size) + " bytes, " +
                            std::to_string(read_offset_) +
                            " were read); reading from the beginning");
  } else if (!fingerprint_.empty() && read_back(consumed_, fingerprint_.size()) != fingerprint_) {
    output_.note(path_,
                 "was truncated and written again (the last line read is no longer "
                 "where it was); reading from the beginning");
  } else {
    return;
  }
  if (::lseek(fd_, 0, SEEK_SET) < 0) {
    throw std::runtime_error(path_ + ": cannot seek to the beginning: " + errno_text());
  }
  read_offset_ = consumed_ = 0;
  partial_.clear();
  fingerprint_.clear();
}

std::string Follower::read_back(std::uint64_t end, std::size_t count) {
  count = static_cast<std::size_t>(std::min<std::uint64_t>(count, end));
  std::string out(count, '\0');
  std::size_t done = 0;
  while (done < count) {
    ssize_t n =
        ::pread(fd_, out.data() + done, count - done, static_cast<off_t>(end - count + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(path_ + ": read failed: " + errno_text());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

std::size_t Follower::read_some(std::size_t budget, bool& at_end) {
  std::vector<char> buffer(64 * 1024);
  std::size_t total = 0;
  at_end = false;
  while (total < budget) {
    ssize_t n = ::read(fd_, buffer.data(), std::min(buffer.size(), budget - total));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(path_ + ": read failed: " + errno_text());
    }
    if (n == 0) {
      at_end = true;
      break;
    }
    read_offset_ += static_cast<std::uint64_t>(n);
    total += static_cast<std::size_t>(n);
    consume_lines(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  }
  return total;
}

void Follower::consume_lines(std::string_view chunk) {
  partial_.append(chunk);
  std::vector<std::uint64_t> line_ends;  // offset just past each complete line
  std::size_t start = 0;
  const bool acknowledged = output_.acknowledges();
  auto now = checkpoint::Timestamp::now();
  const std::uint64_t first = consumed_;
  for (auto newline = partial_.find('\n'); newline != std::string::npos;
       newline = partial_.find('\n', start)) {
    const auto text = std::string_view(partial_).substr(start, newline - start);
    start = newline + 1;
    if (acknowledged) {
      // Tracked one by one: the output acknowledges each when delivered.
      consumed_ = first + start;
      ++lines_;
      hand_over(text, now);
    } else {
      output_.line(path_, text);
      line_ends.push_back(first + start);
    }
  }
  if (start == 0) return;
  // The lines must be out before their positions may be committed.
  if (!acknowledged) output_.flush();
  std::size_t keep = std::min(start, kFingerprintSize);
  fingerprint_ += std::string_view(partial_).substr(start - keep, keep);
  if (fingerprint_.size() > kFingerprintSize) {
    fingerprint_.erase(0, fingerprint_.size() - kFingerprintSize);
  }
  partial_.erase(0, start);
  for (auto end : line_ends) {
    consumed_ = end;
    ++lines_;
    persist_position(now);
  }
}

void Follower::finish_old_file() {
  // The old file was rotated away and read to its end: nothing will complete
  // its last line any more, so it is a line as it stands.
  if (partial_.empty()) return;
  output_.note(path_, "the rotated file ended without a newline; its last line is taken as is");
  consumed_ += partial_.size();
  ++lines_;
  hand_over(partial_, checkpoint::Timestamp::now());
  partial_.clear();
}

void Follower::hand_over(std::string_view text, checkpoint::Timestamp when) {
  if (output_.acknowledges()) {
    output_.tracked(path_, text,
                    checkpoint_.track(path_, lines_, when, format_position({consumed_, inode_})));
    return;
  }
  output_.line(path_, text);
  output_.flush();
  persist_position(when);
}

void Follower::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Follower::persist_position(checkpoint::Timestamp when) {
  checkpoint_.persist(path_, lines_, when, format_position({consumed_, inode_}));
}

}  // namespace checkpoint_tail
