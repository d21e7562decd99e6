// A vector that never moves its elements: they live in chunks of a fixed
// size, so appending costs O(1) in the worst case, not only on average.
// persist() appends to the change set and, for new names, to the live
// states; a std::vector there would now and then copy all of them (tens of
// milliseconds for a million states) while the caller waits.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace checkpoint::detail {

template <typename T, std::size_t kChunk = 1024>
class ChunkedVector {
 public:
  std::size_t size() const { return size_; }

  T& operator[](std::size_t i) { return chunks_[i / kChunk][i % kChunk]; }
  const T& operator[](std::size_t i) const { return chunks_[i / kChunk][i % kChunk]; }

  // A default-constructed element at the end.
  T& emplace_back() {
    if (size_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<T[]>(kChunk));
    return (*this)[size_++];
  }

  void swap(ChunkedVector& other) noexcept {
    chunks_.swap(other.chunks_);
    std::swap(size_, other.size_);
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::size_t size_ = 0;  // elements handed out; the last chunk's others wait
};

}  // namespace checkpoint::detail
