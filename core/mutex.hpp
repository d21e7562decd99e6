// A mutex the thread-safety analysis knows (libstdc++'s std::mutex carries
// no annotations), with its scoped lock and a condition variable that waits
// on it, as LevelDB's port::Mutex and port::CondVar.
#pragma once

#include <condition_variable>
#include <mutex>

#include "checkpoint/clock.hpp"
#include "core/thread_annotations.hpp"

namespace checkpoint::detail {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mutex_.lock(); }
  void unlock() RELEASE() { mutex_.unlock(); }
  std::mutex& native() { return mutex_; }

 private:
  std::mutex mutex_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexLock() RELEASE() { mutex_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

// Waits with a mutex held, as std::condition_variable does; the mutex is
// named at each wait, so that the analysis sees it is held.
class CondVar {
 public:
  void wait(Mutex& mutex) REQUIRES(mutex) {
    std::unique_lock lock(mutex.native(), std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Until notified or until `deadline` by `clock`.
  void wait_until(Mutex& mutex, Clock& clock, Clock::time_point deadline) REQUIRES(mutex) {
    std::unique_lock lock(mutex.native(), std::adopt_lock);
    clock.wait_until(lock, cv_, deadline);
    lock.release();
  }
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace checkpoint::detail
