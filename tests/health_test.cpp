// The health that stats() reports (the time of the last successful commit,
// the age of the oldest change not committed yet, the last and longest
// commit) and its rendering as Prometheus text (checkpoint/metrics.hpp):
// exact text, and the rules of the format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/clock.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/metrics.hpp"

namespace checkpoint {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// A store whose commits take `took` by the test's ManualClock, and fail
// while `fail` is set.
struct Control {
  std::mutex mutex;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::chrono::nanoseconds took{0};
  bool fail = false;
};

class TimedStore final : public Store {
 public:
  explicit TimedStore(std::shared_ptr<Control> control) : control_(std::move(control)) {}
  Timestamp scan(const StateSink&) override { return {}; }
  void commit(const Changes&) override {
    std::lock_guard lock(control_->mutex);
    control_->clock->advance(control_->took);
    if (control_->fail) throw Error(ErrorCode::io, "timed store: disk full");
  }

 private:
  std::shared_ptr<Control> control_;
};

class HealthTest : public ::testing::Test {
 protected:
  Options options() const {
    Options o;
    o.max_updates = 1'000'000;
    o.flush_interval = std::chrono::hours(24);  // commits only when flushed
    o.clock = control_->clock;
    return o;
  }
  std::unique_ptr<Store> store() { return std::make_unique<TimedStore>(control_); }
  void set(std::chrono::nanoseconds took, bool fail) {
    std::lock_guard lock(control_->mutex);
    control_->took = took;
    control_->fail = fail;
  }
  std::shared_ptr<Control> control_ = std::make_shared<Control>();
};

TEST_F(HealthTest, LastCommitTimeIsTheWallClockTimeOfTheLastSuccessfulCommit) {
  // The wall clock of Options::clock: the commits' update times.
  const Timestamp before = control_->clock->wall_now();
  Checkpoint cp(store(), options());  // commits once, to prove the store writable
  const Timestamp opened = cp.stats().last_commit_time;
  EXPECT_FALSE(opened.is_zero());
  EXPECT_LE(before, opened);
  EXPECT_LE(opened, control_->clock->wall_now());

  cp.persist("a", 1, Timestamp::from_unix(1));
  cp.flush();
  const Timestamp committed = cp.stats().last_commit_time;
  EXPECT_LE(opened, committed);

  set(0ns, /*fail=*/true);
  cp.persist("a", 2, Timestamp::from_unix(1));
  EXPECT_THROW(cp.flush(), Error);
  EXPECT_EQ(cp.stats().last_commit_time, committed) << "a failed commit moved it";
  set(0ns, false);
}

TEST_F(HealthTest, OldestChangeAgeCountsFromTheOldestChangeNotCommitted) {
  Checkpoint cp(store(), options());
  EXPECT_EQ(cp.stats().oldest_change_age, 0ns) << "nothing pending";
  control_->clock->advance(10s);
  EXPECT_EQ(cp.stats().oldest_change_age, 0ns) << "idle time is not an age";

  cp.persist("a", 1, Timestamp::from_unix(1));
  control_->clock->advance(5s);
  cp.persist("b", 1, Timestamp::from_unix(1));
  control_->clock->advance(2s);
  EXPECT_EQ(cp.stats().oldest_change_age, 7s) << "from a, the oldest";
  cp.flush();
  EXPECT_EQ(cp.stats().oldest_change_age, 0ns);

  // A failed commit keeps its changes, and their age goes on growing.
  set(0ns, /*fail=*/true);
  cp.persist("c", 1, Timestamp::from_unix(1));
  control_->clock->advance(3s);
  EXPECT_THROW(cp.flush(), Error);
  control_->clock->advance(1s);
  cp.persist("d", 1, Timestamp::from_unix(1));
  control_->clock->advance(1s);
  EXPECT_EQ(cp.stats().oldest_change_age, 5s) << "from c, kept for the retry";
  EXPECT_THROW(cp.flush(), Error);
  EXPECT_EQ(cp.stats().oldest_change_age, 5s);

  set(0ns, false);
  cp.flush();
  EXPECT_EQ(cp.stats().oldest_change_age, 0ns);
  cp.remove("a");
  control_->clock->advance(2s);
  EXPECT_EQ(cp.stats().oldest_change_age, 2s) << "a removal is a change too";
}

TEST_F(HealthTest, CommitDurationsLastAndLongestSinceTheStartFailedOnesIncluded) {
  set(2s, false);
  Checkpoint cp(store(), options());
  EXPECT_EQ(cp.stats().last_commit_duration, 2s);
  EXPECT_EQ(cp.stats().max_commit_duration, 2s);
  for (auto took : {5s, 1s}) {
    set(took, false);
    cp.persist("a", static_cast<std::uint64_t>(took.count()), Timestamp::from_unix(1));
    cp.flush();
  }
  Stats stats = cp.stats();
  EXPECT_EQ(stats.last_commit_duration, 1s);
  EXPECT_EQ(stats.max_commit_duration, 5s);

  set(9s, /*fail=*/true);
  cp.persist("a", 9, Timestamp::from_unix(1));
  EXPECT_THROW(cp.flush(), Error);
  stats = cp.stats();
  EXPECT_EQ(stats.last_commit_duration, 9s);
  EXPECT_EQ(stats.max_commit_duration, 9s);
  set(0ns, false);
}

// --- Prometheus text ---------------------------------------------------------

Stats sample_stats() {
  Stats s;
  s.commits = 12;
  s.failed_commits = 3;
  s.states = 4;
  s.pending = 2;
  s.in_flight = 5;
  s.acked_waiting = 1;
  s.expired = 6;
  s.last_commit_duration = 1500us;
  s.max_commit_duration = 2s + 250ms;
  s.last_commit_time = Timestamp::from_unix(1'764'178'500, 500'000'000);
  s.oldest_change_age = 7s;
  s.last_error = "disk full";
  s.corrupt_salvaged = 9;
  s.corrupt_lost = 2;
  s.corrupt_recovery = "moved aside";
  return s;
}

TEST(PrometheusText, RendersEveryMetricExactly) {
  const std::string expected =
      "# HELP checkpoint_commits_total Successful store commits.\n"
      "# TYPE checkpoint_commits_total counter\n"
      "checkpoint_commits_total{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 12\n"
      "# HELP checkpoint_failed_commits_total Failed store commits.\n"
      "# TYPE checkpoint_failed_commits_total counter\n"
      "checkpoint_failed_commits_total{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 3\n"
      "# HELP checkpoint_last_commit_failed 1 while the last store commit failed, else 0.\n"
      "# TYPE checkpoint_last_commit_failed gauge\n"
      "checkpoint_last_commit_failed{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 1\n"
      "# HELP checkpoint_states States (streams) held.\n"
      "# TYPE checkpoint_states gauge\n"
      "checkpoint_states{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 4\n"
      "# HELP checkpoint_pending_changes Changed names not committed yet.\n"
      "# TYPE checkpoint_pending_changes gauge\n"
      "checkpoint_pending_changes{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 2\n"
      "# HELP checkpoint_in_flight_records Records tracked and not acknowledged yet.\n"
      "# TYPE checkpoint_in_flight_records gauge\n"
      "checkpoint_in_flight_records{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 5\n"
      "# HELP checkpoint_acked_waiting_records Acknowledged records held back by an earlier "
      "record of their stream.\n"
      "# TYPE checkpoint_acked_waiting_records gauge\n"
      "checkpoint_acked_waiting_records{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 1\n"
      "# HELP checkpoint_expired_states_total States removed by Options::expire_after since the "
      "start.\n"
      "# TYPE checkpoint_expired_states_total counter\n"
      "checkpoint_expired_states_total{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 6\n"
      "# HELP checkpoint_last_commit_duration_seconds Duration of the last store commit, failed "
      "or not.\n"
      "# TYPE checkpoint_last_commit_duration_seconds gauge\n"
      "checkpoint_last_commit_duration_seconds{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} "
      "0.0015\n"
      "# HELP checkpoint_max_commit_duration_seconds Duration of the longest store commit since "
      "the start.\n"
      "# TYPE checkpoint_max_commit_duration_seconds gauge\n"
      "checkpoint_max_commit_duration_seconds{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 2.25\n"
      "# HELP checkpoint_last_commit_timestamp_seconds Unix time of the last successful store "
      "commit (0 before the first).\n"
      "# TYPE checkpoint_last_commit_timestamp_seconds gauge\n"
      "checkpoint_last_commit_timestamp_seconds{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} "
      "1764178500.5\n"
      "# HELP checkpoint_oldest_change_age_seconds Age of the oldest change not committed yet (0 "
      "if none is pending).\n"
      "# TYPE checkpoint_oldest_change_age_seconds gauge\n"
      "checkpoint_oldest_change_age_seconds{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 7\n"
      "# HELP checkpoint_corrupt_recovered 1 if the store was damaged at opening and moved aside "
      "(Options::on_corrupt), else 0.\n"
      "# TYPE checkpoint_corrupt_recovered gauge\n"
      "checkpoint_corrupt_recovered{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 1\n"
      "# HELP checkpoint_corrupt_salvaged_states States salvaged from the damaged store moved "
      "aside at opening.\n"
      "# TYPE checkpoint_corrupt_salvaged_states gauge\n"
      "checkpoint_corrupt_salvaged_states{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 9\n"
      "# HELP checkpoint_corrupt_lost_items What could not be read from the damaged store moved "
      "aside at opening.\n"
      "# TYPE checkpoint_corrupt_lost_items gauge\n"
      "checkpoint_corrupt_lost_items{store=\"sqlite:/var/lib/s.db\",pod=\"web-1\"} 2\n";
  EXPECT_EQ(prometheus_text(sample_stats(), {{"store", "sqlite:/var/lib/s.db"}, {"pod", "web-1"}}),
            expected);
}

TEST(PrometheusText, WithoutLabelsAndBeforeTheFirstCommit) {
  const std::string text = prometheus_text(Stats{});
  EXPECT_THAT(text, HasSubstr("\ncheckpoint_commits_total 0\n"));
  EXPECT_THAT(text, HasSubstr("\ncheckpoint_last_commit_failed 0\n"));
  EXPECT_THAT(text, HasSubstr("\ncheckpoint_last_commit_timestamp_seconds 0\n"));
  EXPECT_THAT(text, HasSubstr("\ncheckpoint_oldest_change_age_seconds 0\n"));
}

TEST(PrometheusText, LabelValuesAreEscaped) {
  const std::string text =
      prometheus_text(Stats{}, {{"path", "C:\\state \"main\"\nnext"}, {"host", "ü"}});
  EXPECT_THAT(
      text,
      HasSubstr("checkpoint_states{path=\"C:\\\\state \\\"main\\\"\\nnext\",host=\"ü\"} 0\n"));
}

TEST(PrometheusText, BadLabelsAreInvalidArgumentsNamingTheLabel) {
  auto refused = [](const MetricLabels& labels, const std::string& phrase) {
    try {
      prometheus_text(Stats{}, labels);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_THAT(e.what(), HasSubstr(phrase));
      return;
    }
    ADD_FAILURE() << "accepted: " << phrase;
  };
  refused({{"", "x"}}, "label \"\" is not a valid label name");
  refused({{"1st", "x"}}, "label \"1st\" is not a valid label name");
  refused({{"a-b", "x"}}, "label \"a-b\" is not a valid label name");
  refused({{"a:b", "x"}}, "label \"a:b\" is not a valid label name");
  refused({{"__name__", "x"}}, "label \"__name__\": names starting with \"__\" are reserved");
  refused({{"pod", "a"}, {"pod", "b"}}, "label \"pod\" given twice");
  refused({{"pod", "\xff"}}, "label \"pod\": the value is not valid UTF-8");
}

// The text exposition format's rules, line by line: a HELP and a TYPE line
// before each metric's one sample, names as the format and the conventions
// want them, counters ending in _total, values that parse as numbers, a
// line feed at the end.
TEST(PrometheusText, FollowsTheFormatAndTheNamingConventions) {
  const std::string text = prometheus_text(sample_stats(), {{"job", "shipper"}});
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]+)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\{job="shipper"\} (-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?))");
  std::istringstream lines(text);
  std::string line, helped, typed, kind;
  std::set<std::string> names;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, m, help)) {
      helped = m[1];
      EXPECT_TRUE(names.insert(helped).second) << "twice: " << helped;
    } else if (std::regex_match(line, m, type)) {
      EXPECT_EQ(m[1], helped) << "TYPE without its HELP: " << line;
      typed = m[1];
      kind = m[2];
    } else if (std::regex_match(line, m, sample)) {
      const std::string name = m[1];
      EXPECT_EQ(name, typed) << "a sample without its TYPE: " << line;
      EXPECT_TRUE(name.starts_with("checkpoint_")) << name;
      EXPECT_EQ(kind == "counter", name.ends_with("_total")) << name;
      EXPECT_EQ(
          name.find("_seconds") != std::string::npos || name.find("duration") == std::string::npos,
          true)
          << "a duration without its unit: " << name;
      typed.clear();
    } else {
      ADD_FAILURE() << "not a line of the format: " << line;
    }
  }
  EXPECT_EQ(names.size(), 15u);
}

}  // namespace
}  // namespace checkpoint
