#include "tests/postgresql/test_server.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pgtest {
namespace {

// The server's state directory: CHECKPOINT_PG_SERVER_DIR in the
// environment (the tests that restart a server have one of their own), or
// the one the shared fixture starts.
std::string server_dir() {
  const char* dir = std::getenv("CHECKPOINT_PG_SERVER_DIR");
  return dir && *dir ? dir : CHECKPOINT_PG_SERVER_DIR;
}

std::string read_state(const std::string& file) {
  std::ifstream in(server_dir() + "/" + file);
  std::string line;
  if (!std::getline(in, line)) {
    throw std::runtime_error("no test server: " + server_dir() + "/" + file +
                             " is missing (ctest starts it; by hand: " +
                             CHECKPOINT_PG_SERVER_SCRIPT + " start " + server_dir() + ")");
  }
  return line;
}

}  // namespace

std::string server_uri() {
  static const std::string uri = read_state("uri");
  return uri;
}

int server_port() { return std::stoi(read_state("port")); }

std::string encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string store_uri(std::string_view name, std::string_view options) {
  return server_uri() + "?store=" + encode(name) + (options.empty() ? "" : "&") +
         std::string(options);
}

std::string store_uri_via(int port, std::string_view name, std::string_view options) {
  return "postgresql://checkpoint@127.0.0.1:" + std::to_string(port) +
         "/checkpoint?store=" + encode(name) + (options.empty() ? "" : "&") + std::string(options);
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

std::string admin(const std::string& sql) {
  const std::string conninfo = server_uri() + "?user=postgres&options=-csearch_path%3Dcheckpoint";
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string out, error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    auto status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(result);
    } else if (PQntuples(result) > 0 && PQnfields(result) > 0) {
      out = PQgetvalue(result, 0, 0);
    }
    PQclear(result);
  }
  PQfinish(conn);
  if (!error.empty()) ADD_FAILURE() << "admin SQL failed: " << sql << ": " << error;
  return out;
}

void server_command(const std::string& command) {
  const std::string line =
      std::string(CHECKPOINT_PG_SERVER_SCRIPT) + " " + command + " " + server_dir();
  ASSERT_EQ(std::system(line.c_str()), 0) << line;
}

}  // namespace pgtest

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

namespace pgtest {

ChildWriter::ChildWriter() {
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
    throw std::runtime_error("cannot make pipes");
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(to_child[0], 0);
    ::dup2(from_child[1], 1);
    ::execl(POSTGRESQL_WRITER, POSTGRESQL_WRITER, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  in_ = to_child[1];
  out_ = from_child[0];
}

ChildWriter::~ChildWriter() {
  kill9();
  ::close(in_);
  ::close(out_);
}

void ChildWriter::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void ChildWriter::send(const std::string& command) {
  std::string text = command + "\n";
  [[maybe_unused]] auto n = ::write(in_, text.data(), text.size());
}

std::string ChildWriter::line() {
  while (true) {
    auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string out = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return out;
    }
    // A bound, so that a writer that hangs fails the test instead of
    // stopping the run; every answer comes in a fraction of it.
    pollfd fd{out_, POLLIN, 0};
    if (::poll(&fd, 1, 60'000) <= 0) return "";
    char chunk[4096];
    ssize_t n = ::read(out_, chunk, sizeof chunk);
    if (n <= 0) return "";
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string ChildWriter::ask(const std::string& command) {
  send(command);
  return line();
}

}  // namespace pgtest
