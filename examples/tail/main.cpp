// checkpoint-tail: follows files like `tail -F`, prints each new line as
// "FILE: line", and checkpoints per file how far it has read, so that a
// restart (even after kill -9) resumes where the last commit left off.
//
// With --ack-delay-ms N, lines go to an output that delivers each after a
// random delay of up to N ms (so out of order) on threads of its own, and
// acknowledges it then (Checkpoint::track() and ack()): a position is
// committed only once every line before it was printed.
//
// With --metrics-file PATH, stats() are written to PATH as Prometheus text
// (checkpoint/metrics.hpp) every --metrics-interval-ms and at exit,
// replacing the file atomically: node_exporter's textfile collector, say,
// reads it.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/metrics.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/toolkit/durable_file.hpp"
#include "examples/tail/follower.hpp"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) { stop_requested = 1; }

// Without SA_RESTART, so that a signal also cuts the sleep between polls short.
void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void sleep_ms(int ms) {
  timespec delay{ms / 1000, static_cast<long>(ms % 1000) * 1000000L};
  nanosleep(&delay, nullptr);  // returns early on a signal, which is what we want
}

class StdioOutput final : public checkpoint_tail::Output {
 public:
  void line(const std::string& path, std::string_view text) override {
    std::fwrite(path.data(), 1, path.size(), stdout);
    std::fwrite(": ", 1, 2, stdout);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
  }
  void flush() override {
    // Once fflush() returns, the lines are in the kernel and survive a kill -9.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      throw std::runtime_error(std::string("writing to standard output failed: ") +
                               std::strerror(errno));
    }
  }
  void note(const std::string& path, std::string_view message) override {
    std::fprintf(stderr, "checkpoint-tail: %s: %.*s\n", path.c_str(),
                 static_cast<int>(message.size()), message.data());
  }
};

// An output that delivers lines asynchronously and out of order, as a
// network output with retries would: each line is printed after a random
// delay of up to `max_delay`, by one of a few delivery threads, and only
// then acknowledged (Checkpoint::ack()). A kill -9 loses the lines not
// printed yet; their positions were never committed, so the next run reads
// them again.
class DelayedOutput final : public checkpoint_tail::Output {
 public:
  DelayedOutput(checkpoint::Checkpoint& checkpoint, std::chrono::milliseconds max_delay)
      : checkpoint_(checkpoint), max_delay_(max_delay) {
    for (int i = 0; i < kThreads; ++i) threads_.emplace_back([this] { deliver(); });
  }
  ~DelayedOutput() override { drain(); }

  bool acknowledges() const override { return true; }
  void tracked(const std::string& path, std::string_view text, checkpoint::Ticket ticket) override {
    std::lock_guard lock(mutex_);
    const auto delay = std::chrono::milliseconds(
        max_delay_.count() > 0 ? random_() % static_cast<std::uint64_t>(max_delay_.count() + 1)
                               : 0);
    queue_.push(Item{Clock::now() + delay, sequence_++, path + ": " + std::string(text), ticket});
    changed_.notify_one();
  }
  void line(const std::string&, std::string_view) override {}  // tracked() instead
  void flush() override {}
  void note(const std::string& path, std::string_view message) override {
    std::fprintf(stderr, "checkpoint-tail: %s: %.*s\n", path.c_str(),
                 static_cast<int>(message.size()), message.data());
  }

  // Delivers everything handed over, then stops the threads.
  void drain() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    changed_.notify_all();
    for (auto& thread : threads_) thread.join();
  }
  // A delivery failed or its ack() was refused: the message, or empty.
  std::string failure() {
    std::lock_guard lock(mutex_);
    return failure_;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr int kThreads = 2;
  struct Item {
    Clock::time_point due;
    std::uint64_t sequence;
    std::string text;
    checkpoint::Ticket ticket;
    bool operator>(const Item& other) const {
      return due != other.due ? due > other.due : sequence > other.sequence;
    }
  };

  void deliver() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (queue_.empty()) {
        if (stopping_) return;
        changed_.wait(lock);
        continue;
      }
      // When stopping, what is left is delivered without waiting.
      if (!stopping_ && queue_.top().due > Clock::now()) {
        changed_.wait_until(lock, queue_.top().due);
        continue;
      }
      Item item = queue_.top();
      queue_.pop();
      lock.unlock();
      try {
        // Printed, then acknowledged: a line is delivered once it is out of
        // this process (a kill -9 cannot take it back).
        std::string out = item.text + "\n";
        if (::write(STDOUT_FILENO, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
          throw std::runtime_error(std::string("writing to standard output failed: ") +
                                   std::strerror(errno));
        }
        checkpoint_.ack(item.ticket);
      } catch (const std::exception& e) {
        lock.lock();
        if (failure_.empty()) failure_ = e.what();
        continue;
      }
      lock.lock();
    }
  }

  checkpoint::Checkpoint& checkpoint_;
  const std::chrono::milliseconds max_delay_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue_;
  std::mt19937_64 random_{std::random_device{}()};
  std::uint64_t sequence_ = 0;
  bool stopping_ = false;
  std::string failure_;
  std::vector<std::thread> threads_;
};

// The target of a config string is percent-decoded, and "?" starts options.
std::string encode_store_path(const std::string& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%')
      out += "%25";
    else if (c == '?')
      out += "%3F";
    else if (c == '/' && i == 1 && path[0] == '/')
      out += "%2F";  // "yaml://" means more
    else
      out += c;
  }
  return out;
}

// yaml:DIR/.checkpoint-tail.yml, DIR being the directory of the first file.
std::string default_store(const std::string& first_file) {
  std::filesystem::path dir = std::filesystem::path(first_file).parent_path();
  if (dir.empty()) dir = ".";
  return "yaml:" + encode_store_path((dir / ".checkpoint-tail.yml").string());
}

// Writes the checkpoint's stats to `path` as Prometheus text, labelled with
// the store (its password masked), replacing the file atomically.
void write_metrics(const std::string& path, const checkpoint::Checkpoint& checkpoint,
                   const std::string& store) {
  const std::string text = checkpoint::prometheus_text(
      checkpoint.stats(), {{"store", checkpoint::redacted_config(store)}});
  checkpoint::toolkit::write_file_atomically(path, text, /*sync=*/false, "metrics file " + path);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Follows FILEs like `tail -F`, prints each new line as \"FILE: line\", and checkpoints "
      "per file how far it has read (lines, byte offset, inode). Restarted, it resumes after "
      "the last checkpoint; a file rotated or truncated meanwhile is read from its "
      "beginning. SIGINT or SIGTERM: commit and exit 0."};
  std::string store;
  std::vector<std::string> files;
  std::size_t max_updates = 100;
  int flush_interval_ms = 5000;
  int poll_interval_ms = 100;
  int ack_delay_ms = -1;
  bool once = false;
  std::string metrics_file;
  int metrics_interval_ms = 10000;
  app.add_option("--store", store,
                 "Where positions are kept: a config string such as yaml:state.yml or "
                 "sqlite:state.db (default: yaml:DIR/.checkpoint-tail.yml, DIR being the first "
                 "FILE's directory)");
  app.add_option("--max-updates", max_updates, "Commit after this many lines")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--flush-interval-ms", flush_interval_ms,
                 "Commit at the latest this long after the first uncommitted line (>= 1000)")
      ->capture_default_str()
      ->check(CLI::Range(1000, 24 * 3600 * 1000));
  app.add_option("--poll-interval-ms", poll_interval_ms,
                 "How long to wait before looking again when nothing is new")
      ->capture_default_str()
      ->check(CLI::Range(1, 60 * 1000));
  app.add_option("--ack-delay-ms", ack_delay_ms,
                 "Deliver lines asynchronously: each is printed after a random delay of up to "
                 "this many ms (so out of order), and its position committed only once it and "
                 "every line before it were printed (track() and ack())")
      ->check(CLI::Range(0, 60 * 1000));
  app.add_option("--metrics-file", metrics_file,
                 "Write the checkpoint's stats to this file as Prometheus text, every "
                 "--metrics-interval-ms and at exit (replaced atomically; for node_exporter's "
                 "textfile collector, say)");
  app.add_option("--metrics-interval-ms", metrics_interval_ms,
                 "How often --metrics-file is written")
      ->capture_default_str()
      ->check(CLI::Range(100, 24 * 3600 * 1000));
  app.add_flag("--once", once, "Read what the files hold now, commit, and exit");
  app.add_option("FILE", files, "Files to follow, by name")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; a usage error is 2, as for other tools
  }

  // The same path twice would print every line twice.
  std::vector<std::string> paths;
  std::set<std::string> seen;
  for (const auto& file : files) {
    if (seen.insert(file).second) paths.push_back(file);
  }
  if (store.empty()) store = default_store(paths.front());

  install_stop_handlers();
  // Whole batches of lines per write(); flushed after each batch.
  static char stdout_buffer[1 << 16];
  std::setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);

  try {
    checkpoint::Options options;
    options.max_updates = max_updates;
    options.flush_interval = std::chrono::milliseconds(flush_interval_ms);
    options.on_error = [&store](const checkpoint::Error& e) {
      std::fprintf(stderr, "checkpoint-tail: commit to %s failed, will retry: %s\n", store.c_str(),
                   e.what());
    };
    checkpoint::Checkpoint checkpoint(store, options);
    std::fprintf(stderr, "checkpoint-tail: following %zu file(s); positions kept in %s\n",
                 paths.size(), store.c_str());

    StdioOutput stdio;
    std::unique_ptr<DelayedOutput> delayed;
    if (ack_delay_ms >= 0) {
      // Lines are written by the delivery threads, each with a write() of its own.
      std::fflush(stdout);
      delayed =
          std::make_unique<DelayedOutput>(checkpoint, std::chrono::milliseconds(ack_delay_ms));
    }
    checkpoint_tail::Output& output =
        delayed ? static_cast<checkpoint_tail::Output&>(*delayed) : stdio;
    std::vector<std::unique_ptr<checkpoint_tail::Follower>> followers;
    for (const auto& path : paths) {
      followers.push_back(std::make_unique<checkpoint_tail::Follower>(path, checkpoint, output));
    }
    auto metrics_due = std::chrono::steady_clock::now();
    while (!stop_requested) {
      if (!metrics_file.empty() && std::chrono::steady_clock::now() >= metrics_due) {
        write_metrics(metrics_file, checkpoint, store);
        metrics_due =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(metrics_interval_ms);
      }
      if (delayed) {
        if (auto failure = delayed->failure(); !failure.empty()) throw std::runtime_error(failure);
      }
      std::size_t bytes = 0;
      for (auto& follower : followers) bytes += follower->poll();
      if (bytes > 0) continue;
      if (once) break;
      sleep_ms(poll_interval_ms);
    }
    followers.clear();
    if (delayed) {
      delayed->drain();  // every line read is delivered and acknowledged before the last commit
      if (auto failure = delayed->failure(); !failure.empty()) throw std::runtime_error(failure);
    }
    checkpoint.shutdown();
    if (!metrics_file.empty()) write_metrics(metrics_file, checkpoint, store);
    std::fprintf(stderr, "checkpoint-tail: stopped; positions committed to %s\n", store.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "checkpoint-tail: %s\n", e.what());
    return 1;
  }
}
