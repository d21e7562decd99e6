// PostgreSQL's binary wire formats, for the postgresql backend: parameters
// (integers, bytea, one-dimensional arrays) and the rows of
// COPY ... TO STDOUT (FORMAT binary). Binary, so that a uint64 or a name
// holding NUL travels exactly, and no value is ever quoted or escaped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace checkpoint::backends::postgresql {

// Type OIDs of the parameters sent (fixed in pg_type.h since PostgreSQL 7).
namespace oid {
inline constexpr unsigned kBytea = 17, kInt8 = 20, kInt4 = 23, kText = 25;
inline constexpr unsigned kByteaArray = 1001, kInt4Array = 1007, kInt8Array = 1016;
}  // namespace oid

// Network byte order.
void put_int32(std::string& out, std::int32_t value);
void put_int64(std::string& out, std::int64_t value);
std::int16_t get_int16(const char* p);
std::int32_t get_int32(const char* p);
std::int64_t get_int64(const char* p);

// A one-dimensional array without NULLs in the binary form array_recv()
// reads: add() each element, then take().
class ArrayBuilder {
 public:
  explicit ArrayBuilder(unsigned element_oid) : element_oid_(element_oid) {}
  void add(std::string_view bytes);
  void add(std::int64_t value);  // for int8 arrays
  void add(std::int32_t value);  // for int4 arrays
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return body_.size(); }
  std::string take();  // the header and the elements; the builder is empty again

 private:
  unsigned element_oid_;
  std::size_t count_ = 0;
  std::string body_;
};

// The parameters of one statement, all in binary.
class Params {
 public:
  void add_int4(std::int32_t value);
  void add_int8(std::int64_t value);
  void add_bytes(std::string value, unsigned type_oid);  // bytea, text (UTF-8) or an array

  int count() const { return static_cast<int>(values_.size()); }
  const unsigned* types() const { return types_.data(); }
  // Pointers into the values: valid until the next add.
  std::vector<const char*> pointers() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<std::string> values_;
  std::vector<unsigned> types_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// Reads the stream of COPY ... TO STDOUT (FORMAT binary), fed in pieces of
// any size: its header, then one row at a time. Each field is its bytes,
// or nullopt for NULL.
class CopyReader {
 public:
  using Row = std::vector<std::optional<std::string_view>>;

  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole row, valid until the next call of next() or feed(); false
  // when no whole row
  // is buffered yet or the trailer was read. Malformed data: the reason in
  // `problem` and false.
  bool next(Row& row, std::string& problem);
  bool finished() const { return finished_; }

 private:
  std::string buffer_;
  std::size_t pos_ = 0;
  bool header_read_ = false;
  bool finished_ = false;
};

}  // namespace checkpoint::backends::postgresql
