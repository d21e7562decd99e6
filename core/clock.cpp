#include "checkpoint/clock.hpp"

#include <algorithm>

namespace checkpoint {
namespace {

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  time_point deadline) override {
    cv.wait_until(lock, deadline);
  }
};

}  // namespace

std::shared_ptr<Clock> steady_clock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SteadyClock>();
  return clock;
}

Timestamp Clock::wall_now() const { return Timestamp::now(); }

ManualClock::ManualClock(time_point start, Timestamp wall_start)
    : now_(start), start_(start), wall_start_(wall_start) {}

Timestamp ManualClock::wall_now() const {
  std::lock_guard guard(mutex_);
  return wall_start_.plus(now_ - start_);
}

Clock::time_point ManualClock::now() const {
  std::lock_guard guard(mutex_);
  return now_;
}

void ManualClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             time_point deadline) {
  {
    std::lock_guard guard(mutex_);
    if (now_ >= deadline) return;
    waiters_.push_back({lock.mutex(), &cv});
    ++waits_;
  }
  waited_.notify_all();
  // advance() takes the waiter's mutex before it notifies, so it either
  // ran before the check above or finds this thread waiting: no wakeup is
  // lost between the two.
  cv.wait(lock);
  std::lock_guard guard(mutex_);
  auto it =
      std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.cv == &cv; });
  if (it != waiters_.end()) waiters_.erase(it);
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  std::vector<Waiter> waiters;
  {
    std::lock_guard guard(mutex_);
    now_ += by;
    waiters = waiters_;
  }
  for (const Waiter& w : waiters) {
    { std::lock_guard sync(*w.mutex); }
    w.cv->notify_all();
  }
}

std::uint64_t ManualClock::waits() const {
  std::lock_guard guard(mutex_);
  return waits_;
}

bool ManualClock::await_waits(std::uint64_t count, std::chrono::milliseconds patience) const {
  std::unique_lock guard(mutex_);
  return waited_.wait_for(guard, patience, [&] { return waits_ >= count; });
}

}  // namespace checkpoint
