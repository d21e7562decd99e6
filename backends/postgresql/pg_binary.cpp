#include "backends/postgresql/pg_binary.hpp"

#include <cstring>

namespace checkpoint::backends::postgresql {

void put_int32(std::string& out, std::int32_t value) {
  auto v = static_cast<std::uint32_t>(value);
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}

void put_int64(std::string& out, std::int64_t value) {
  auto v = static_cast<std::uint64_t>(value);
  put_int32(out, static_cast<std::int32_t>(static_cast<std::uint32_t>(v >> 32)));
  put_int32(out, static_cast<std::int32_t>(static_cast<std::uint32_t>(v)));
}

std::int16_t get_int16(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(b[0] << 8 | b[1]));
}

std::int32_t get_int32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::int32_t>(std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 |
                                   std::uint32_t{b[2]} << 8 | b[3]);
}

std::int64_t get_int64(const char* p) {
  auto high = static_cast<std::uint32_t>(get_int32(p));
  auto low = static_cast<std::uint32_t>(get_int32(p + 4));
  return static_cast<std::int64_t>(std::uint64_t{high} << 32 | low);
}

void ArrayBuilder::add(std::string_view bytes) {
  put_int32(body_, static_cast<std::int32_t>(bytes.size()));
  body_.append(bytes);
  ++count_;
}

void ArrayBuilder::add(std::int64_t value) {
  put_int32(body_, 8);
  put_int64(body_, value);
  ++count_;
}

void ArrayBuilder::add(std::int32_t value) {
  put_int32(body_, 4);
  put_int32(body_, value);
  ++count_;
}

std::string ArrayBuilder::take() {
  // ndim, has-NULL flag, element type, then per dimension its length and
  // lower bound (array_send()).
  std::string out;
  out.reserve(20 + body_.size());
  put_int32(out, 1);
  put_int32(out, 0);
  put_int32(out, static_cast<std::int32_t>(element_oid_));
  put_int32(out, static_cast<std::int32_t>(count_));
  put_int32(out, 1);
  out += body_;
  body_.clear();
  count_ = 0;
  return out;
}

void Params::add_int4(std::int32_t value) {
  std::string bytes;
  put_int32(bytes, value);
  add_bytes(std::move(bytes), oid::kInt4);
}

void Params::add_int8(std::int64_t value) {
  std::string bytes;
  put_int64(bytes, value);
  add_bytes(std::move(bytes), oid::kInt8);
}

void Params::add_bytes(std::string value, unsigned type_oid) {
  lengths_.push_back(static_cast<int>(value.size()));
  values_.push_back(std::move(value));
  types_.push_back(type_oid);
  formats_.push_back(1);
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v.data());
  return out;
}

bool CopyReader::next(Row& row, std::string& problem) {
  // "PGCOPY\n\377\r\n\0", flags, then an extension area of the given length.
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // and its NUL: 11 bytes
  if (finished_) return false;
  if (!header_read_) {
    if (buffer_.size() - pos_ < 19) return false;
    if (std::memcmp(buffer_.data() + pos_, kSignature, 11) != 0) {
      problem = "COPY data without the binary signature";
      return false;
    }
    std::int32_t extension = get_int32(buffer_.data() + pos_ + 15);
    if (extension < 0) {
      problem = "COPY header with a negative extension length";
      return false;
    }
    if (buffer_.size() - pos_ < 19 + static_cast<std::size_t>(extension)) return false;
    pos_ += 19 + static_cast<std::size_t>(extension);
    header_read_ = true;
  }
  // Drop what earlier rows used once it is a good part of the buffer, so
  // that the buffer holds about one row, not the whole result.
  if (pos_ > 65536 && pos_ * 2 > buffer_.size()) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  std::size_t at = pos_;
  auto left = [&] { return buffer_.size() - at; };
  if (left() < 2) return false;
  std::int16_t fields = get_int16(buffer_.data() + at);
  at += 2;
  if (fields == -1) {
    finished_ = true;
    pos_ = at;
    return false;
  }
  if (fields < 0) {
    problem = "COPY row with a negative field count";
    return false;
  }
  // Views into the buffer: no append happens until the next call.
  row.assign(static_cast<std::size_t>(fields), std::nullopt);
  for (auto& field : row) {
    if (left() < 4) return false;
    std::int32_t length = get_int32(buffer_.data() + at);
    at += 4;
    if (length == -1) continue;
    if (length < 0) {
      problem = "COPY field with a negative length";
      return false;
    }
    if (left() < static_cast<std::size_t>(length)) return false;
    field = std::string_view(buffer_.data() + at, static_cast<std::size_t>(length));
    at += static_cast<std::size_t>(length);
  }
  pos_ = at;
  return true;
}

}  // namespace checkpoint::backends::postgresql
