// Follower: follows one file by name, like `tail -F`, and checkpoints how far
// it has read.
//
// Each poll() reads what is new, hands every complete line to the output,
// flushes the output, and only then records the position through
// Checkpoint::persist(). So a position is never stored before its line was
// written out: after a crash, lines may repeat but none is skipped.
//
// An output that delivers lines later, in any order (Output::acknowledges()),
// is handed each line with the Ticket of Checkpoint::track() instead, and
// calls Checkpoint::ack() once the line is delivered: a position is then
// stored only once its line and every line before it were delivered.
//
// What is stored per file (the state's name is the path as given):
//   record_number  lines consumed under this name, counted across rotations
//   bookmark       "offset=N inode=M", see file_position.hpp
//   timestamp      when the line was read
//
// The first time the file is opened, the stored position is used if it still
// fits: same inode, the file at least `offset` bytes long, and a newline just
// before `offset` (where the last consumed line ended). Otherwise (a new
// inode, a shorter or rewritten file) reading starts at the beginning, and
// the output is told why. A line without its newline yet is not consumed: it is
// read again once complete.
//
// While running it notices
//   rotation    the path names a new inode: the old file is read to its end,
//               then the new one from its beginning;
//   truncation  the file is shorter than what was read, or no longer holds
//               the last bytes consumed where they were (truncated and
//               written again between two polls): read from the start;
//   removal     the path is gone: the open file is still read, and a file
//               that appears at the path later is followed from its start;
//   late files  a path that does not exist yet is opened once it appears.
//
// Limits: a file rotated while nothing runs is read from the start of the
// new file; what the old one held past the checkpoint is not read (it is
// under another name now). A file truncated and refilled between two polls
// with the same bytes where the last consumed line ended, or replaced while
// nothing runs by a file that reuses the inode number and has a newline at
// the checkpointed offset, is taken for the same file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "checkpoint/checkpoint.hpp"
#include "examples/tail/file_position.hpp"

namespace checkpoint_tail {

// Where lines and notes go. checkpoint-tail writes lines to stdout and notes
// to stderr; tests collect them.
class Output {
 public:
  virtual ~Output() = default;
  virtual void line(const std::string& path, std::string_view text) = 0;
  // Makes the lines written so far durable enough to survive a kill -9 of
  // this process; called before their positions are checkpointed. Throws if
  // the lines could not be written.
  virtual void flush() = 0;
  // Something worth telling a person: a resume point, a rotation, ...
  virtual void note(const std::string& path, std::string_view message) = 0;

  // True for an output that delivers lines asynchronously: the follower then
  // calls tracked() for each line instead of line() and flush(), and the
  // output passes the ticket to Checkpoint::ack() once the line is
  // delivered (from any thread, in any order).
  virtual bool acknowledges() const { return false; }
  virtual void tracked(const std::string& path, std::string_view text, checkpoint::Ticket ticket);
};

class Follower {
 public:
  // Reads at most this many bytes per poll(), so that one busy file cannot
  // keep the others (or a shutdown request) waiting.
  static constexpr std::size_t kPollBudget = 1 << 20;

  Follower(std::string path, checkpoint::Checkpoint& checkpoint, Output& output);
  ~Follower();
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Reads what is new (up to kPollBudget bytes) and returns how many bytes
  // were read; 0 means nothing new.
  std::size_t poll();

  const std::string& path() const { return path_; }
  // The position of the next unread line, as it is checkpointed.
  FilePosition position() const { return {consumed_, inode_}; }
  std::uint64_t lines_consumed() const { return lines_; }

 private:
  enum class PathState { same, missing, replaced };

  bool open_file();
  void resume_from_checkpoint(std::uint64_t size);
  PathState check_path();
  void check_truncation();
  std::string read_back(std::uint64_t end, std::size_t count);
  std::size_t read_some(std::size_t budget, bool& at_end);
  void consume_lines(std::string_view chunk);
  void finish_old_file();
  void close_file();
  void persist_position(checkpoint::Timestamp when);
  // A complete line ending at consumed_, the lines_-th: to the output, its
  // position tracked (asynchronous outputs) or to be persisted once flushed.
  void hand_over(std::string_view text, checkpoint::Timestamp when);

  std::string path_;
  checkpoint::Checkpoint& checkpoint_;
  Output& output_;

  int fd_ = -1;
  dev_t device_ = 0;
  std::uint64_t inode_ = 0;
  std::uint64_t read_offset_ = 0;  // bytes read from fd_
  std::uint64_t consumed_ = 0;     // bytes of complete lines, <= read_offset_
  std::string partial_;            // bytes read past consumed_: a line without its newline
  // The last bytes consumed (up to kFingerprintSize, ending at consumed_). A
  // file that no longer holds them there was truncated and written again.
  std::string fingerprint_;
  static constexpr std::size_t kFingerprintSize = 64;
  std::uint64_t lines_ = 0;

  bool resumed_ = false;       // the checkpoint was looked at (first open)
  bool told_missing_ = false;  // the output was told the path is missing
  bool told_open_error_ = false;
};

}  // namespace checkpoint_tail
