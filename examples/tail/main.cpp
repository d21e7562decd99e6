// checkpoint-tail: follows files like `tail -F`, prints each new line as
// "FILE: line", and checkpoints per file how far it has read, so that a
// restart (even after kill -9) resumes where the last commit left off.
#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
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
  bool once = false;
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

    StdioOutput output;
    std::vector<std::unique_ptr<checkpoint_tail::Follower>> followers;
    for (const auto& path : paths) {
      followers.push_back(std::make_unique<checkpoint_tail::Follower>(path, checkpoint, output));
    }
    while (!stop_requested) {
      std::size_t bytes = 0;
      for (auto& follower : followers) bytes += follower->poll();
      if (bytes > 0) continue;
      if (once) break;
      sleep_ms(poll_interval_ms);
    }
    followers.clear();
    checkpoint.shutdown();
    std::fprintf(stderr, "checkpoint-tail: stopped; positions committed to %s\n", store.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "checkpoint-tail: %s\n", e.what());
    return 1;
  }
}
