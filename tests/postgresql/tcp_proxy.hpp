// A TCP proxy on the loopback, for the postgresql: fault tests: it passes
// bytes between clients and the test server, and on request cuts every
// connection after a number of bytes in one direction (the network failing
// in the middle of a commit), freezes the connections it has (a partition:
// nothing passes, nothing is closed), or turns new connections away.
#pragma once

#include <cstddef>
#include <mutex>
#include <thread>

namespace pgtest {

enum class Direction { to_server, to_client };

class TcpProxy {
 public:
  // Listens on 127.0.0.1, a port of its own (port()), and forwards to
  // 127.0.0.1:`target_port`.
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }

  // Bytes passed so far in `direction`, over all connections.
  std::size_t bytes(Direction direction);
  // Once `count` more bytes passed in `direction`, closes every connection
  // (the bytes up to the count are delivered). Once.
  void cut_after(Direction direction, std::size_t count);
  // Whether that cut happened.
  bool cut_done();
  // Closes every connection now.
  void cut_all();
  // Connections open now pass nothing until thaw(); new ones pass.
  void freeze();
  void thaw();
  // New connections are closed as soon as they come (a server gone).
  void refuse_new(bool refuse);

 private:
  void run();
  void wake();

  int port_ = 0;
  int target_port_ = 0;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  std::mutex mutex_;  // guards the requests below, which run() acts on

  struct Requests {
    bool stop = false;
    bool cut_all = false;
    bool freeze = false;  // freeze the connections open now
    bool thaw = false;
    bool refuse = false;
    bool cut_armed = false;
    bool cut_done = false;
    Direction cut_direction = Direction::to_server;
    std::size_t cut_at = 0;  // total bytes in cut_direction at which to cut
    std::size_t passed[2] = {0, 0};
  } requests_;
};

}  // namespace pgtest
