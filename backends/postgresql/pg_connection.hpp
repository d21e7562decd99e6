// One libpq connection of the postgresql backend, driven without blocking
// so that no call waits longer than the store's io_timeout_ms for the
// server to answer: a cut or frozen connection (a network partition) is
// Error{io} after that long, never a hang. Statements go in the extended
// protocol with binary parameters (pg_binary.hpp), alone or several in one
// pipeline (one round trip).
//
// Every failure is a checkpoint::Error whose message starts with the
// store's label and carries the server's message and SQLSTATE. A failure
// of the connection itself (cut, timed out, the server shutting down or
// ending the session) also marks it broken(): it is then of no more use.
// No message ever holds the connection's parameters, so no password.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/postgresql/pg_binary.hpp"
#include "checkpoint/error.hpp"

namespace checkpoint::backends::postgresql {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's connection keywords and values, in order; a later one overrides
// an earlier, and the first "dbname" may be a whole postgresql:// URI.
using Keywords = std::vector<std::pair<std::string, std::string>>;

class Connection {
 public:
  // Connects (every host in turn, as libpq does); no answer for
  // `io_timeout`, or a refusal: Error{io} saying why.
  Connection(const Keywords& keywords, std::string label, std::chrono::milliseconds io_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  int backend_pid() const { return PQbackendPID(conn_); }
  const std::string& label() const { return label_; }

  // One statement and its result (binary parameters, text results); `what`
  // says what it is for, in messages. A statement that may wait on a lock
  // gives the server `extra` time beyond io_timeout before the connection
  // is taken as lost.
  Result exec(const char* sql, std::string_view what, const Params& params = {},
              std::chrono::milliseconds extra = std::chrono::milliseconds(0));
  // exec() that returns a failed statement's result instead of throwing;
  // throws only when the connection failed.
  Result try_exec(const char* sql, std::string_view what, const Params& params = {},
                  std::chrono::milliseconds extra = std::chrono::milliseconds(0));
  // Whether the connection was given up for want of an answer.
  bool timed_out() const { return timed_out_; }
  // Ends the open transaction, if any, for error paths: never throws (a
  // connection that cannot is marked broken, and its session ends with it).
  void rollback() noexcept;
  // Several statements in one text (no parameters), e.g. a schema.
  void exec_script(const char* sql, std::string_view what);

  // A pipeline: send() statements, sync(), then next() each one's result
  // (each followed by a null Result) and the sync's; end_pipeline() once
  // all were read.
  void begin_pipeline();
  void send(const char* sql, const Params& params);
  void sync();
  Result next();
  void end_pipeline();

  // COPY ... TO STDOUT: `chunk` gets the data as it arrives. What `chunk`
  // throws is thrown once the rest of the data was read, so the connection
  // stays usable.
  void copy_out(const std::string& sql, const std::function<void(std::string_view)>& chunk);

  // The Error a failed statement stands for: io for a lost connection, a
  // server going down, a lack of resources or rights; corrupt for tables
  // that are not what this backend made (an undefined column, a wrong
  // type); io for the rest. `what` says what was being done.
  [[noreturn]] void fail(const PGresult* result, std::string_view what);
  // The connection failed: marks it broken, Error{io}.
  [[noreturn]] void lost(std::string_view what);

 private:
  void flush();
  // Waits until the socket is ready for `events` (POLLIN, POLLOUT), reading
  // what arrived; no progress for the timeout (plus `extra`): lost().
  void wait(short events, std::chrono::milliseconds extra = std::chrono::milliseconds(0));
  Result get(std::chrono::milliseconds extra = std::chrono::milliseconds(0));

  PGconn* conn_ = nullptr;
  std::string label_;
  std::chrono::milliseconds io_timeout_;
  bool broken_ = false;
  bool timed_out_ = false;
};

// The SQLSTATE of a failed result; empty when there is none (the
// connection failed).
std::string sqlstate(const PGresult* result);

}  // namespace checkpoint::backends::postgresql
