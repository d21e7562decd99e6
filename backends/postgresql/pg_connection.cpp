#include "backends/postgresql/pg_connection.hpp"

#include <poll.h>

#include <cerrno>
#include <exception>

#include "checkpoint/toolkit/errors.hpp"

namespace checkpoint::backends::postgresql {
namespace {

// libpq's messages end with a newline and may span lines: one line.
std::string one_line(std::string_view message) {
  std::string out;
  for (char c : message) {
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "no message from libpq" : out;
}

// Connection exceptions (08), operator intervention (57: the server shutting
// down, the session terminated), insufficient resources (53) and system
// errors (58) leave the session unusable or gone.
bool ends_session(const std::string& state) {
  return state.empty() || state.starts_with("08") || state.starts_with("57") ||
         state.starts_with("53") || state.starts_with("58");
}

}  // namespace

std::string sqlstate(const PGresult* result) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  return state ? state : "";
}

Connection::Connection(const Keywords& keywords, std::string label,
                       std::chrono::milliseconds io_timeout)
    : label_(std::move(label)), io_timeout_(io_timeout) {
  std::vector<const char*> keys, values;
  for (const auto& [key, value] : keywords) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn_ == nullptr)
    throw toolkit::store_error(ErrorCode::io, label_, "cannot connect: out of memory");
  // Notices (e.g. "already exists, skipping") are not for the program's stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  try {
    while (status != PGRES_POLLING_OK) {
      if (status == PGRES_POLLING_FAILED || PQstatus(conn_) == CONNECTION_BAD) {
        throw toolkit::store_error(ErrorCode::io, label_,
                                   "cannot connect: " + one_line(PQerrorMessage(conn_)));
      }
      // Only wait() reads input once connected: poll here, as libpq asks.
      pollfd fd{PQsocket(conn_), status == PGRES_POLLING_READING ? short{POLLIN} : short{POLLOUT},
                0};
      int ready = ::poll(&fd, 1, static_cast<int>(io_timeout_.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        throw toolkit::store_error(ErrorCode::io, label_,
                                   "cannot connect: no answer in " +
                                       std::to_string(io_timeout_.count()) + " ms (io_timeout_ms)");
      }
      if (ready < 0) throw toolkit::system_error(ErrorCode::io, label_, "cannot connect", errno);
      status = PQconnectPoll(conn_);
    }
    if (PQsetnonblocking(conn_, 1) != 0) lost("cannot set the connection non-blocking");
  } catch (...) {
    PQfinish(conn_);
    throw;
  }
}

Connection::~Connection() { PQfinish(conn_); }

void Connection::lost(std::string_view what) {
  broken_ = true;
  throw toolkit::store_error(ErrorCode::io, label_,
                             std::string(what) + ": " + one_line(PQerrorMessage(conn_)));
}

void Connection::fail(const PGresult* result, std::string_view what) {
  std::string state = sqlstate(result);
  if (PQstatus(conn_) == CONNECTION_BAD || state.empty()) lost(what);
  if (ends_session(state)) broken_ = true;
  // 42703 undefined column, 42P01 undefined table, 42804 datatype mismatch,
  // 42883 undefined function (an operator on a column of another type).
  ErrorCode code = state == "42703" || state == "42P01" || state == "42804" || state == "42883"
                       ? ErrorCode::corrupt
                       : ErrorCode::io;
  throw toolkit::store_error(code, label_,
                             std::string(what) + ": " + one_line(PQresultErrorMessage(result)) +
                                 " (SQLSTATE " + state + ")");
}

void Connection::wait(short events, std::chrono::milliseconds extra) {
  const auto limit = io_timeout_ + extra;
  pollfd fd{PQsocket(conn_), events, 0};
  if (fd.fd < 0) lost("the connection is closed");
  int ready;
  do {
    ready = ::poll(&fd, 1, static_cast<int>(limit.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    broken_ = true;
    timed_out_ = true;
    throw toolkit::store_error(ErrorCode::io, label_,
                               "the server did not answer in " + std::to_string(limit.count()) +
                                   " ms (io_timeout_ms): the connection is taken as lost");
  }
  if (ready < 0) {
    broken_ = true;
    throw toolkit::system_error(ErrorCode::io, label_, "cannot wait for the server", errno);
  }
  if ((fd.revents & (POLLIN | POLLERR | POLLHUP)) != 0 && PQconsumeInput(conn_) == 0) {
    lost("cannot read from the server");
  }
}

void Connection::flush() {
  while (true) {
    int rc = PQflush(conn_);
    if (rc == 0) return;
    if (rc < 0) lost("cannot send to the server");
    // Reading too: a server that cannot send its results stops reading.
    wait(POLLIN | POLLOUT);
  }
}

Result Connection::get(std::chrono::milliseconds extra) {
  flush();
  while (PQisBusy(conn_)) wait(POLLIN, extra);
  return Result(PQgetResult(conn_));
}

Result Connection::exec(const char* sql, std::string_view what, const Params& params,
                        std::chrono::milliseconds extra) {
  Result result = try_exec(sql, what, params, extra);
  auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(result.get(), what);
  return result;
}

Result Connection::try_exec(const char* sql, std::string_view what, const Params& params,
                            std::chrono::milliseconds extra) {
  auto values = params.pointers();
  if (PQsendQueryParams(conn_, sql, params.count(), params.types(), values.data(), params.lengths(),
                        params.formats(), 0) == 0) {
    lost(what);
  }
  Result result = get(extra);
  while (Result more = get()) {
  }
  if (!result) lost(what);
  if (PQstatus(conn_) == CONNECTION_BAD) lost(what);
  return result;
}

void Connection::rollback() noexcept {
  if (broken()) return;
  try {
    Result result = try_exec("ROLLBACK", "cannot roll back");
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) broken_ = true;
  } catch (...) {
    broken_ = true;
  }
}

void Connection::exec_script(const char* sql, std::string_view what) {
  if (PQsendQuery(conn_, sql) == 0) lost(what);
  Result failed;
  while (Result result = get()) {
    auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && !failed) {
      failed = std::move(result);
    }
  }
  if (failed) fail(failed.get(), what);
}

void Connection::begin_pipeline() {
  if (PQenterPipelineMode(conn_) == 0) lost("cannot enter pipeline mode");
}

void Connection::send(const char* sql, const Params& params) {
  auto values = params.pointers();
  if (PQsendQueryParams(conn_, sql, params.count(), params.types(), values.data(), params.lengths(),
                        params.formats(), 0) == 0) {
    lost("cannot send a statement");
  }
  flush();
}

void Connection::sync() {
  if (PQpipelineSync(conn_) == 0) lost("cannot send a pipeline");
  flush();
}

Result Connection::next() { return get(); }

void Connection::end_pipeline() {
  if (PQexitPipelineMode(conn_) == 0) lost("cannot leave pipeline mode");
}

void Connection::copy_out(const std::string& sql,
                          const std::function<void(std::string_view)>& chunk) {
  if (PQsendQuery(conn_, sql.c_str()) == 0) lost("cannot send COPY");
  Result start = get();
  if (!start) lost("no result from the server");
  if (PQresultStatus(start.get()) != PGRES_COPY_OUT) {
    while (Result more = get()) {
    }
    fail(start.get(), "cannot read the states");
  }
  std::exception_ptr thrown;
  while (true) {
    char* data = nullptr;
    int n = PQgetCopyData(conn_, &data, /*async=*/1);
    if (n > 0) {
      std::unique_ptr<char, decltype(&PQfreemem)> owned(data, &PQfreemem);
      if (!thrown) {
        try {
          chunk(std::string_view(data, static_cast<std::size_t>(n)));
        } catch (...) {
          thrown = std::current_exception();
        }
      }
    } else if (n == 0) {
      wait(POLLIN);
    } else if (n == -1) {
      break;
    } else {
      lost("cannot read the states");
    }
  }
  Result end = get();
  while (Result more = get()) {
  }
  if (thrown) std::rethrow_exception(thrown);
  if (!end || PQresultStatus(end.get()) != PGRES_COMMAND_OK)
    fail(end.get(), "cannot read the states");
}

}  // namespace checkpoint::backends::postgresql
