// The clocks the front end reads (Options::clock): the steady clock of its
// interval timer, and the wall clock of each commit's update time (which
// expiry compares with states' update times).
//
// The default is the system's clocks. A test gives a ManualClock and moves
// time on by hand, so that "a commit flush_interval after the first change"
// or "a state expires after expire_after" is tested without waiting for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "checkpoint/export.h"
#include "checkpoint/timestamp.hpp"

namespace checkpoint {

class CHECKPOINT_API Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  // The wall-clock time (UTC). By default the system's: Timestamp::now().
  virtual Timestamp wall_now() const;
  // Blocks as `cv.wait_until(lock, deadline)` does, by this clock: until
  // `cv` is notified (or wakes spuriously), or until now() reaches
  // `deadline`. `lock` holds `mutex`, the mutex that guards what the waiter
  // waits for.
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          time_point deadline) = 0;
};

// The system's clocks, shared by every Checkpoint that is given no clock.
CHECKPOINT_API std::shared_ptr<Clock> steady_clock();

// A clock that stands still until advance() moves it; thread-safe. Its wall
// clock starts at `wall_start` (by default the system's time when it was
// made) and moves with advance() too.
class CHECKPOINT_API ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start = time_point{}, Timestamp wall_start = Timestamp::now());
  time_point now() const override;
  Timestamp wall_now() const override;
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  time_point deadline) override;
  // Moves the clock on and wakes every waiter, which then sees the new time.
  // Not while a Checkpoint that uses this clock is being destroyed.
  void advance(std::chrono::nanoseconds by);
  // How many times a thread began to wait on this clock. A test reads it,
  // moves the clock on, and waits until it grows: the waiter has then seen
  // the new time and gone back to waiting.
  std::uint64_t waits() const;
  // Blocks until waits() reaches `count`; false after `patience` (real
  // time: only a broken program waits that long).
  bool await_waits(std::uint64_t count, std::chrono::milliseconds patience) const;

 private:
  struct Waiter {
    std::mutex* mutex;
    std::condition_variable* cv;
  };
  mutable std::mutex mutex_;                // guards what follows; never held while waiting
  mutable std::condition_variable waited_;  // waits_ grew
  time_point now_;
  const time_point start_;
  const Timestamp wall_start_;
  std::vector<Waiter> waiters_;
  std::uint64_t waits_ = 0;
};

}  // namespace checkpoint
