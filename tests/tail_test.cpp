// The resume logic of checkpoint-tail (examples/tail): what a Follower reads
// and checkpoints on rotation, truncation, partial lines and restarts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "checkpoint/checkpoint.hpp"
#include "examples/tail/file_position.hpp"
#include "examples/tail/follower.hpp"
#include "tests/state_values.hpp"

namespace checkpoint_tail {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Collects what a Follower writes, and checks that no position is stored
// between a batch's first line and its flush: lines go out first.
class Collector final : public Output {
 public:
  explicit Collector(checkpoint::Checkpoint& checkpoint) : checkpoint_(checkpoint) {}

  void line(const std::string& path, std::string_view text) override {
    // The positions only: a background commit may stamp a state persisted
    // before this batch with its update time meanwhile.
    if (!batch_) batch_ = checkpoint::testing::values(stored(path));
    EXPECT_EQ(checkpoint::testing::values(stored(path)), *batch_)
        << "a position was stored before its line was flushed";
    lines.push_back(std::string(text));
  }
  void flush() override {
    if (batch_) {
      EXPECT_EQ(checkpoint::testing::values(stored(batch_path_)), *batch_)
          << "stored before the flush";
    }
    batch_.reset();
  }
  void note(const std::string&, std::string_view message) override {
    notes.push_back(std::string(message));
  }

  // The lines and notes since the last take().
  std::vector<std::string> take_lines() { return std::exchange(lines, {}); }
  std::vector<std::string> take_notes() { return std::exchange(notes, {}); }

  std::vector<std::string> lines, notes;

 private:
  std::optional<checkpoint::EventLogState> stored(const std::string& path) {
    batch_path_ = path;
    return checkpoint_.state(path);
  }

  checkpoint::Checkpoint& checkpoint_;
  std::optional<std::optional<checkpoint::EventLogState>> batch_;  // stored at the batch's start
  std::string batch_path_;
};

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tail_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "app.log").string();
    // A store of its own per test, shared by the Checkpoints of one test so
    // that a restart finds what the previous run committed.
    store_ = "memory:" + dir_.string();
    start();
  }
  void TearDown() override {
    stop();
    fs::remove_all(dir_);
  }

  // Starts the tailer (again): a new Checkpoint on the same store, a new Follower.
  void start() {
    checkpoint_ = std::make_unique<checkpoint::Checkpoint>(store_);
    output_ = std::make_unique<Collector>(*checkpoint_);
    follower_ = std::make_unique<Follower>(path_, *checkpoint_, *output_);
  }
  // Stops it the clean way: everything persisted is committed.
  void stop() {
    follower_.reset();
    if (checkpoint_) checkpoint_->shutdown();
    output_.reset();
    checkpoint_.reset();
  }
  void restart() {
    stop();
    start();
  }

  void append(const std::string& text, const std::string& path = {}) {
    std::ofstream out(path.empty() ? path_ : path, std::ios::app | std::ios::binary);
    out << text;
  }
  // Puts a new file (a new inode) at the path, as log rotation does.
  void replace_with(const std::string& text) {
    std::string fresh = path_ + ".fresh";
    append(text, fresh);
    fs::rename(fresh, path_);
  }
  static std::uint64_t inode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_ino;
  }

  std::vector<std::string> poll() {
    follower_->poll();
    return output_->take_lines();
  }
  checkpoint::EventLogState stored() {
    auto state = checkpoint_->state(path_);
    EXPECT_TRUE(state.has_value());
    return state.value_or(checkpoint::EventLogState{});
  }

  fs::path dir_;
  std::string path_;
  std::string store_;
  std::unique_ptr<checkpoint::Checkpoint> checkpoint_;
  std::unique_ptr<Collector> output_;
  std::unique_ptr<Follower> follower_;
};

TEST(FilePositionTest, FormatsAndParses) {
  EXPECT_EQ(format_position({1234, 5678}), "offset=1234 inode=5678");
  EXPECT_EQ(parse_position("offset=1234 inode=5678"), (FilePosition{1234, 5678}));
  EXPECT_EQ(parse_position("inode=7 offset=0"), (FilePosition{0, 7}));
  EXPECT_EQ(parse_position("offset=18446744073709551615 inode=1 later=x"),
            (FilePosition{18446744073709551615u, 1}));
}

TEST(FilePositionTest, RejectsWhatItCannotRead) {
  for (const char* text : {"", "offset=1", "inode=1", "offset=x inode=1", "offset=-1 inode=1",
                           "offset=1 inode=1 offset=2", "offset= inode=1", "offset=1inode=1",
                           "offset=18446744073709551616 inode=1", "garbage"}) {
    EXPECT_EQ(parse_position(text), std::nullopt) << text;
  }
}

TEST_F(FollowerTest, PrintsEachLineAndCheckpointsLinesOffsetAndInode) {
  append("one\ntwo\n");
  EXPECT_THAT(poll(), ElementsAre("one", "two"));
  EXPECT_THAT(output_->take_notes(), ElementsAre(HasSubstr("no checkpoint yet")));
  auto state = stored();
  EXPECT_EQ(state.name, path_);
  EXPECT_EQ(state.record_number, 2u);
  EXPECT_EQ(state.bookmark, format_position({8, inode_of(path_)}));
  EXPECT_FALSE(state.timestamp.is_zero());
  EXPECT_THAT(poll(), IsEmpty());
}

TEST_F(FollowerTest, PartialLineIsConsumedOnlyOnceComplete) {
  append("one\ntw");
  EXPECT_THAT(poll(), ElementsAre("one"));
  EXPECT_EQ(follower_->position().offset, 4u);
  EXPECT_EQ(stored().record_number, 1u);
  append("o\nthr");
  EXPECT_THAT(poll(), ElementsAre("two"));
  EXPECT_EQ(follower_->position().offset, 8u);

  // A restart reads the partial line again, from its start.
  restart();
  append("ee\n");
  EXPECT_THAT(poll(), ElementsAre("three"));
  EXPECT_EQ(stored().record_number, 3u);
  EXPECT_EQ(follower_->position().offset, 14u);
}

TEST_F(FollowerTest, RestartResumesAtTheCheckpointedOffset) {
  append("one\ntwo\n");
  EXPECT_THAT(poll(), ElementsAre("one", "two"));
  restart();
  append("three\n");
  EXPECT_THAT(poll(), ElementsAre("three"));
  EXPECT_THAT(output_->take_notes(),
              ElementsAre(HasSubstr("resuming from the checkpoint after line 2 (byte 8")));
  EXPECT_EQ(stored().record_number, 3u);
  EXPECT_EQ(stored().bookmark, format_position({14, inode_of(path_)}));
}

TEST_F(FollowerTest, RestartOnARotatedFileStartsFromItsBeginning) {
  append("one\ntwo\n");
  EXPECT_THAT(poll(), ElementsAre("one", "two"));
  stop();
  replace_with("new one\nnew two\nnew three\n");  // longer than the offset: only the inode tells
  start();
  EXPECT_THAT(poll(), ElementsAre("new one", "new two", "new three"));
  EXPECT_THAT(output_->take_notes(), ElementsAre(HasSubstr("is not the file of the checkpoint")));
  EXPECT_EQ(stored().record_number, 5u);  // lines are counted across rotations
  EXPECT_EQ(stored().bookmark, format_position({26, inode_of(path_)}));
}

TEST_F(FollowerTest, RestartOnATruncatedFileStartsFromItsBeginning) {
  append("one\ntwo\n");
  EXPECT_THAT(poll(), ElementsAre("one", "two"));
  stop();
  fs::resize_file(path_, 0);
  append("x\n");
  start();
  EXPECT_THAT(poll(), ElementsAre("x"));
  EXPECT_THAT(output_->take_notes(), ElementsAre(HasSubstr("is shorter (2 bytes)")));
  EXPECT_EQ(stored().bookmark, format_position({2, inode_of(path_)}));
}

TEST_F(FollowerTest, RestartOnARewrittenFileStartsFromItsBeginning) {
  append("one\ntwo\n");
  EXPECT_THAT(poll(), ElementsAre("one", "two"));
  stop();
  fs::resize_file(path_, 0);
  append("a longer line\n");  // same inode, longer, but no line end at byte 8
  start();
  EXPECT_THAT(poll(), ElementsAre("a longer line"));
  EXPECT_THAT(output_->take_notes(),
              ElementsAre(HasSubstr("no line end at the checkpointed offset 8")));
}

TEST_F(FollowerTest, RestartWithAnUnreadableBookmarkStartsFromTheBeginning) {
  append("one\n");
  checkpoint_->persist(path_, 7, checkpoint::Timestamp::now(), "not a position");
  EXPECT_THAT(poll(), ElementsAre("one"));
  EXPECT_THAT(output_->take_notes(), ElementsAre(HasSubstr("is not \"offset=N inode=M\"")));
  EXPECT_EQ(stored().record_number, 8u);
}

TEST_F(FollowerTest, RotationReadsTheOldFileToItsEndThenTheNewOne) {
  append("one\n");
  EXPECT_THAT(poll(), ElementsAre("one"));
  output_->take_notes();
  append("two\nthree");  // written just before the rotation, the last line unfinished
  fs::rename(path_, path_ + ".1");
  append("four\n");
  EXPECT_THAT(poll(), ElementsAre("two", "three", "four"));
  EXPECT_THAT(output_->take_notes(),
              ElementsAre(HasSubstr("ended without a newline"), HasSubstr("is a new file")));
  EXPECT_EQ(stored().record_number, 4u);
  EXPECT_EQ(stored().bookmark, format_position({5, inode_of(path_)}));
}

TEST_F(FollowerTest, RemovedFileIsFollowedAgainWhenItReappears) {
  append("one\n");
  EXPECT_THAT(poll(), ElementsAre("one"));
  output_->take_notes();
  fs::rename(path_, path_ + ".1");
  append("two\n", path_ + ".1");  // still read: the open file is read to its end
  EXPECT_THAT(poll(), ElementsAre("two"));
  EXPECT_THAT(output_->take_notes(), ElementsAre(HasSubstr("was removed or renamed")));
  EXPECT_THAT(poll(), IsEmpty());
  EXPECT_THAT(output_->take_notes(), IsEmpty());  // said once
  append("three\n");
  EXPECT_THAT(poll(), ElementsAre("three"));
}

TEST_F(FollowerTest, TruncationWhileRunningRestartsFromTheBeginning) {
  append("one\ntwo\n");
  EXPECT_THAT(poll(), ElementsAre("one", "two"));
  output_->take_notes();
  fs::resize_file(path_, 0);
  EXPECT_THAT(poll(), IsEmpty());
  EXPECT_THAT(output_->take_notes(), ElementsAre(HasSubstr("was truncated")));
  append("three\n");
  EXPECT_THAT(poll(), ElementsAre("three"));
  EXPECT_EQ(stored().bookmark, format_position({6, inode_of(path_)}));
}

TEST_F(FollowerTest, TruncationAndRewriteBetweenTwoPollsIsNoticed) {
  append("one\ntwo\n");
  EXPECT_THAT(poll(), ElementsAre("one", "two"));
  output_->take_notes();
  fs::resize_file(path_, 0);
  append("a longer line\n");
  EXPECT_THAT(poll(), ElementsAre("a longer line"));
  EXPECT_THAT(output_->take_notes(), ElementsAre(HasSubstr("truncated and written again")));
}

TEST_F(FollowerTest, FileThatAppearsLaterIsReadFromItsBeginning) {
  EXPECT_THAT(poll(), IsEmpty());
  EXPECT_THAT(output_->take_notes(), ElementsAre(HasSubstr("does not exist yet")));
  EXPECT_THAT(poll(), IsEmpty());
  EXPECT_THAT(output_->take_notes(), IsEmpty());  // said once
  append("one\n");
  EXPECT_THAT(poll(), ElementsAre("one"));
  EXPECT_EQ(stored().record_number, 1u);
}

TEST_F(FollowerTest, LongInputIsReadInBoundedSteps) {
  std::string line(1023, 'x');
  std::string text;
  for (int i = 0; i < 2048; ++i) text += line + "\n";  // 2 MiB: two polls' worth
  append(text);
  EXPECT_EQ(follower_->poll(), Follower::kPollBudget);
  EXPECT_EQ(follower_->poll(), Follower::kPollBudget);
  EXPECT_EQ(follower_->poll(), 0u);
  EXPECT_EQ(output_->take_lines().size(), 2048u);
  EXPECT_EQ(stored().record_number, 2048u);
}

}  // namespace
}  // namespace checkpoint_tail

namespace checkpoint_tail {
namespace {

// checkpoint-tail --metrics-file: the stats as Prometheus text, labelled
// with the store, written when it stops.
TEST(TailProgram, MetricsFileHoldsTheStatsAsPrometheusText) {
  std::string pattern = (fs::temp_directory_path() / "tail_metrics.XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  {
    std::ofstream log(dir / "app.log");
    log << "one\ntwo\n";
  }
  const std::string store = "yaml:" + (dir / "state.yml").string();
  const fs::path metrics = dir / "tail.prom";
  const std::string command = std::string(CHECKPOINT_TAIL) + " --once --store " + store +
                              " --metrics-file " + metrics.string() + " " +
                              (dir / "app.log").string() + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(metrics);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("# TYPE checkpoint_commits_total counter\n"));
  EXPECT_THAT(text, HasSubstr("\ncheckpoint_states{store=\"" + store + "\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\ncheckpoint_pending_changes{store=\"" + store + "\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("\ncheckpoint_last_commit_failed{store=\"" + store + "\"} 0\n"));
  EXPECT_FALSE(fs::exists(metrics.string() + ".new"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace checkpoint_tail
