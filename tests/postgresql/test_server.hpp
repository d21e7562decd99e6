// The private server the postgresql: tests run against: started by ctest's
// fixture (server.sh start), found through the files it writes. A test
// program run by hand needs it started first:
//   tests/postgresql/server.sh start BUILD_DIR/tests/postgresql/server
#pragma once

#include <libpq-fe.h>

#include <string>
#include <string_view>

namespace pgtest {

// "postgresql://checkpoint@127.0.0.1:PORT/checkpoint": the database the
// tests share, as role checkpoint (whose tables are in its schema checkpoint).
std::string server_uri();
int server_port();

// A config string for the store `name` (percent-encoded), with `options`
// ("key=value&...") appended.
std::string store_uri(std::string_view name, std::string_view options = "");
// The same through a proxy listening on `port` of the loopback.
std::string store_uri_via(int port, std::string_view name, std::string_view options = "");

// A name no other test program or case uses: `prefix`, the process id and
// a counter.
std::string unique_name(std::string_view prefix);

// Runs `sql` as the superuser (search_path: checkpoint) in the tests' database and returns the
// first column of the first row ("" if none); a failure fails the test
// with the server's message.
std::string admin(const std::string& sql);

// Runs `server.sh COMMAND` on the test server (restart, halt, resume).
void server_command(const std::string& command);

// The percent-encoding of `text` for a config string.
std::string encode(std::string_view text);

}  // namespace pgtest

namespace pgtest {

// The postgresql_writer program in a process of its own, driven through its
// stdin and stdout (see postgresql_writer.cpp).
class ChildWriter {
 public:
  ChildWriter();
  ~ChildWriter();  // kills it, if it still runs
  ChildWriter(const ChildWriter&) = delete;
  ChildWriter& operator=(const ChildWriter&) = delete;

  // Sends a command and returns the line it answers ("" if it ended).
  std::string ask(const std::string& command);
  void send(const std::string& command);
  // The next line it writes; "" if it ended (or wrote nothing for a minute).
  std::string line();
  void kill9();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buffer_;
};

}  // namespace pgtest
