#include "tests/postgresql/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <list>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgtest {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("tcp proxy: " + what + ": " + std::strerror(errno));
}

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// One client's connection: side 0 is the client, side 1 the server;
// pending[i] waits to be written to side i.
struct Link {
  int fd[2] = {-1, -1};
  std::string pending[2];
  bool frozen = false;
  bool closed = false;

  void close() {
    for (int& f : fd) {
      if (f >= 0) ::close(f);
      f = -1;
    }
    closed = true;
  }
};

}  // namespace

TcpProxy::TcpProxy(int target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) fail("socket");
  sockaddr_in address = loopback(0);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("bind");
  if (::listen(listener_, 64) != 0) fail("listen");
  socklen_t size = sizeof address;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
  port_ = ntohs(address.sin_port);
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) fail("pipe");
  target_port_ = target_port;
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  {
    std::lock_guard lock(mutex_);
    requests_.stop = true;
  }
  wake();
  thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void TcpProxy::wake() {
  char c = 1;
  [[maybe_unused]] auto n = ::write(wake_[1], &c, 1);
}

std::size_t TcpProxy::bytes(Direction direction) {
  std::lock_guard lock(mutex_);
  return requests_.passed[direction == Direction::to_server ? 0 : 1];
}

void TcpProxy::cut_after(Direction direction, std::size_t count) {
  std::lock_guard lock(mutex_);
  requests_.cut_armed = true;
  requests_.cut_done = false;
  requests_.cut_direction = direction;
  requests_.cut_at = requests_.passed[direction == Direction::to_server ? 0 : 1] + count;
}

bool TcpProxy::cut_done() {
  std::lock_guard lock(mutex_);
  return requests_.cut_done;
}

void TcpProxy::cut_all() {
  {
    std::lock_guard lock(mutex_);
    requests_.cut_all = true;
  }
  wake();
}

void TcpProxy::freeze() {
  {
    std::lock_guard lock(mutex_);
    requests_.freeze = true;
  }
  wake();
}

void TcpProxy::thaw() {
  {
    std::lock_guard lock(mutex_);
    requests_.thaw = true;
  }
  wake();
}

void TcpProxy::refuse_new(bool refuse) {
  std::lock_guard lock(mutex_);
  requests_.refuse = refuse;
}

void TcpProxy::run() {
  std::list<Link> links;
  const sockaddr_in target = loopback(target_port_);
  char buffer[65536];
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (requests_.stop) break;
      for (auto& link : links) {
        if (requests_.cut_all) link.close();
        if (requests_.freeze) link.frozen = true;
        if (requests_.thaw) link.frozen = false;
      }
      requests_.cut_all = requests_.freeze = requests_.thaw = false;
    }
    links.remove_if([](const Link& link) { return link.closed; });

    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    std::vector<std::pair<Link*, int>> owners = {{nullptr, 0}, {nullptr, 0}};
    for (auto& link : links) {
      if (link.frozen) continue;
      for (int side = 0; side < 2; ++side) {
        // Read a side only when what it sent before was passed on.
        short events = link.pending[1 - side].empty() ? POLLIN : 0;
        if (!link.pending[side].empty()) events |= POLLOUT;
        fds.push_back({link.fd[side], events, 0});
        owners.emplace_back(&link, side);
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      fail("poll");
    }
    if (fds[0].revents & POLLIN) {
      while (::read(wake_[0], buffer, sizeof buffer) > 0) {
      }
    }
    if (fds[1].revents & POLLIN) {
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      bool refuse = false;
      {
        std::lock_guard lock(mutex_);
        refuse = requests_.refuse;
      }
      if (client >= 0) {
        int server = refuse ? -1 : ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (server < 0 ||
            ::connect(server, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
          ::close(client);
          if (server >= 0) ::close(server);
        } else {
          int one = 1;
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          set_nonblocking(client);
          set_nonblocking(server);
          Link link;
          link.fd[0] = client;
          link.fd[1] = server;
          links.push_back(std::move(link));
        }
      }
    }
    bool cut_now = false;
    for (std::size_t i = 2; i < fds.size(); ++i) {
      auto [link, side] = owners[i];
      if (link->closed) continue;
      if (fds[i].revents & POLLOUT) {
        std::string& out = link->pending[side];
        ssize_t n = ::send(link->fd[side], out.data(), out.size(), MSG_NOSIGNAL);
        if (n > 0) out.erase(0, static_cast<std::size_t>(n));
        if (n < 0 && errno != EAGAIN) link->close();
      }
      if (link->closed) continue;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(link->fd[side], buffer, sizeof buffer, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
          link->close();
          continue;
        }
        if (n < 0) continue;
        std::size_t count = static_cast<std::size_t>(n);
        {
          // side 0 (client) sends toward the server: Direction::to_server.
          std::lock_guard lock(mutex_);
          std::size_t& passed = requests_.passed[side];
          const bool watched = requests_.cut_armed &&
                               (requests_.cut_direction == Direction::to_server) == (side == 0);
          if (watched && passed + count >= requests_.cut_at) {
            count = requests_.cut_at - passed;
            requests_.cut_armed = false;
            requests_.cut_done = true;
            cut_now = true;
          }
          passed += count;
        }
        // Delivered at once (the peer reads; a full buffer would only delay).
        std::string& out = link->pending[1 - side];
        out.append(buffer, count);
        if (cut_now) {
          while (!out.empty()) {
            ssize_t w = ::send(link->fd[1 - side], out.data(), out.size(), MSG_NOSIGNAL);
            if (w <= 0 && errno != EAGAIN) break;
            if (w > 0) out.erase(0, static_cast<std::size_t>(w));
          }
          break;
        }
      }
    }
    if (cut_now) {
      for (auto& link : links) link.close();
    }
  }
  for (auto& link : links) link.close();
}

}  // namespace pgtest
