#include "backends/lmdb/lmdb_file_check.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "checkpoint/error.hpp"

namespace checkpoint::backends::lmdb {
namespace {

// LMDB 0.9 on-disk layout of 64-bit builds (an LMDB data file is not
// portable between word sizes anyway).
static_assert(sizeof(void*) == 8 && sizeof(std::size_t) == 8,
              "the LMDB file check reads the layout of 64-bit LMDB builds");
// A page starts with a 16-byte header; meta pages 0 and 1 hold an MDB_meta
// right after it.
constexpr std::size_t kPageHeader = 16;
constexpr std::size_t kPageFlagsAt = 10, kLowerAt = 12, kUpperAt = 14, kOverflowPagesAt = 12;
constexpr std::uint16_t P_BRANCH = 0x01, P_LEAF = 0x02, P_OVERFLOW = 0x04, P_META = 0x08,
                        P_LEAF2 = 0x20;
constexpr std::uint32_t kMagic = 0xBEEFC0DE;
constexpr std::uint32_t kDataVersion = 1;
// Offsets inside MDB_meta.
constexpr std::size_t kMagicAt = 0, kVersionAt = 4, kPageSizeAt = 24, kFreeDbAt = 24,
                      kMainDbAt = 72, kLastPageAt = 120, kTxnIdAt = 128, kMetaSize = 136;
// Offsets inside MDB_db (48 bytes), as in the meta and in F_SUBDATA nodes.
constexpr std::size_t kDbDepthAt = 6, kDbRootAt = 40, kDbSize = 48;
constexpr std::uint64_t kNoPage = ~std::uint64_t{0};
// Nodes: lo, hi, flags, ksize (2 bytes each), then key and data.
constexpr std::size_t kNodeHeader = 8;
constexpr std::uint16_t F_BIGDATA = 0x01, F_SUBDATA = 0x02;
constexpr int kMaxDepth = 32;  // LMDB's cursor stack
constexpr std::uint64_t kMaxMapBytes = std::uint64_t{1} << 47;

std::uint64_t le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// A problem found in the file; turned into Error{corrupt} unless a
// concurrent commit may explain it.
struct Damage {
  std::string what;
};

struct Meta {
  std::uint32_t page_size = 0;
  std::uint64_t last_page = 0, txn_id = 0;
  std::uint64_t free_root = kNoPage, main_root = kNoPage;
  int free_depth = 0, main_depth = 0;
};

class Checker {
 public:
  Checker(int fd, std::string_view store) : fd_(fd), store_(store) {}

  void run() {
    for (int attempt = 0;; ++attempt) {
      std::uint64_t txn_id = 0;
      try {
        Meta meta = read_meta();
        txn_id = meta.txn_id;
        walk_all(meta);
        return;
      } catch (const Damage& damage) {
        // A commit since we read the meta page may have reused the pages we
        // walked; look again while that keeps happening.
        std::uint64_t now = 0;
        try {
          now = read_meta().txn_id;
        } catch (const Damage&) {
        }
        if (attempt >= 8 || now == txn_id) {
          throw Error(ErrorCode::corrupt, std::string(store_) + ": " + damage.what);
        }
      }
    }
  }

 private:
  void read_at(std::uint64_t offset, unsigned char* buf, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      ssize_t n = ::pread(fd_, buf + done, size - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(ErrorCode::io, std::string(store_) + ": cannot read: " + std::strerror(errno));
      }
      if (n == 0) throw Damage{"file ends inside a page it needs (file cut short?)"};
      done += static_cast<std::size_t>(n);
    }
  }

  Meta read_meta() {
    struct stat st;
    if (::fstat(fd_, &st) != 0) {
      throw Error(ErrorCode::io, std::string(store_) + ": cannot stat: " + std::strerror(errno));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    if (size_ == 0) throw Damage{"empty file, not an LMDB environment"};
    Meta metas[2];
    std::uint64_t offset = 0;
    for (int i = 0; i < 2; ++i) {
      unsigned char buf[kPageHeader + kMetaSize];
      if (offset + sizeof buf > size_) {
        throw Damage{"not an LMDB environment: " + std::to_string(size_) +
                     " bytes, too short for its two meta pages"};
      }
      read_at(offset, buf, sizeof buf);
      const unsigned char* m = buf + kPageHeader;
      if ((le(buf + kPageFlagsAt, 2) & P_META) == 0 || le(m + kMagicAt, 4) != kMagic) {
        throw Damage{"not an LMDB environment (meta page " + std::to_string(i) +
                     " has no LMDB signature)"};
      }
      auto version = static_cast<std::uint32_t>(le(m + kVersionAt, 4));
      if (version != kDataVersion) {
        throw Error(ErrorCode::unsupported,
                    std::string(store_) + ": LMDB data format version " + std::to_string(version) +
                        "; this build reads version " + std::to_string(kDataVersion));
      }
      Meta& meta = metas[i];
      meta.page_size = static_cast<std::uint32_t>(le(m + kPageSizeAt, 4));
      meta.free_depth = static_cast<int>(le(m + kFreeDbAt + kDbDepthAt, 2));
      meta.free_root = le(m + kFreeDbAt + kDbRootAt, 8);
      meta.main_depth = static_cast<int>(le(m + kMainDbAt + kDbDepthAt, 2));
      meta.main_root = le(m + kMainDbAt + kDbRootAt, 8);
      meta.last_page = le(m + kLastPageAt, 8);
      meta.txn_id = le(m + kTxnIdAt, 8);
      std::uint32_t ps = meta.page_size;
      if (ps < 512 || ps > 65536 || (ps & (ps - 1)) != 0 || (i == 1 && ps != metas[0].page_size)) {
        throw Damage{"LMDB meta page " + std::to_string(i) + " has an invalid page size " +
                     std::to_string(ps)};
      }
      if (meta.last_page < 1 || meta.last_page >= kMaxMapBytes / ps) {
        throw Damage{"LMDB meta page " + std::to_string(i) + " has an invalid last page " +
                     std::to_string(meta.last_page)};
      }
      offset += ps;
    }
    // LMDB uses the meta page of the newer transaction.
    return metas[1].txn_id > metas[0].txn_id ? metas[1] : metas[0];
  }

  void walk_all(const Meta& meta) {
    page_size_ = meta.page_size;
    last_page_ = meta.last_page;
    file_pages_ = size_ / page_size_;
    visited_ = 0;
    page_.resize(page_size_);
    walk(meta.free_root, meta.free_depth, Tree::free, "free-page database");
    walk(meta.main_root, meta.main_depth, Tree::main, "main database");
  }

  // Which leaves are read: those of the free-page and main databases
  // (small; LMDB reads them when writing), not those of named databases.
  enum class Tree { free, main, named };

  std::uint16_t u16(std::size_t at) const { return static_cast<std::uint16_t>(le(&page_[at], 2)); }

  void check_page_number(std::uint64_t pgno, std::uint64_t count, const std::string& what) {
    if (pgno < 2 || pgno > last_page_ || count > last_page_ + 1 - pgno) {
      throw Damage{what + " refers to page " + std::to_string(pgno) + ", outside the environment"};
    }
    if (pgno + count > file_pages_) {
      throw Damage{what + " refers to page " + std::to_string(pgno) +
                   " past the end of the file (" + std::to_string(size_) +
                   " bytes; file cut short?)"};
    }
  }

  void walk(std::uint64_t root, int depth, Tree tree, const std::string& what) {
    if (root == kNoPage) return;  // an empty database
    if (depth < 1 || depth > kMaxDepth) {
      throw Damage{what + " has an invalid depth " + std::to_string(depth)};
    }
    visit(root, depth, tree, what);
  }

  void visit(std::uint64_t pgno, int levels_left, Tree tree, const std::string& what) {
    check_page_number(pgno, 1, what);
    // Every page is read at most once per walk in an intact tree; more
    // means a cycle.
    if (++visited_ > file_pages_) throw Damage{what + " refers to pages more than once"};
    const std::string page_what = what + " page " + std::to_string(pgno);
    bool branch = levels_left > 1;
    if (!branch && tree == Tree::named) return;  // leaves of named databases: see header
    read_at(pgno * page_size_, page_.data(), page_size_);
    std::uint16_t flags = u16(kPageFlagsAt);
    if (le(&page_[0], 8) != pgno) throw Damage{page_what + " is not the page it should be"};
    if ((flags & (branch ? P_BRANCH : P_LEAF)) == 0) {
      throw Damage{page_what + " should be a " + (branch ? "branch" : "leaf") + " page"};
    }
    if (flags & P_LEAF2) return;  // fixed-size keys only; nothing to follow
    std::size_t lower = u16(kLowerAt), upper = u16(kUpperAt);
    if (lower < kPageHeader || lower > upper || upper > page_size_ || (lower - kPageHeader) % 2) {
      throw Damage{page_what + " has invalid bounds"};
    }
    std::size_t keys = (lower - kPageHeader) / 2;
    if (branch && keys == 0) throw Damage{page_what + " is an empty branch"};
    // Children are collected first: visiting one reuses page_.
    struct Child {
      std::uint64_t page;
      int depth;  // levels below and including `page`
    };
    std::vector<Child> children;
    for (std::size_t i = 0; i < keys; ++i) {
      std::size_t node = u16(kPageHeader + 2 * i);
      if (node < upper || node + kNodeHeader > page_size_) {
        throw Damage{page_what + " has a node outside the page"};
      }
      std::uint64_t lo = u16(node), hi = u16(node + 2), node_flags = u16(node + 4);
      std::size_t key_size = u16(node + 6);
      std::size_t data_at = node + kNodeHeader + key_size;
      if (data_at > page_size_) throw Damage{page_what + " has a key outside the page"};
      if (branch) {
        children.push_back({lo | (hi << 16) | (node_flags << 32), levels_left - 1});
        continue;
      }
      std::uint64_t data_size = lo | (hi << 16);
      if (node_flags & F_BIGDATA) {
        if (data_at + 8 > page_size_) throw Damage{page_what + " has a value outside the page"};
        check_overflow(le(&page_[data_at], 8), data_size, page_what);
      } else if (data_at + data_size > page_size_) {
        throw Damage{page_what + " has a value outside the page"};
      } else if ((node_flags & F_SUBDATA) && tree == Tree::main) {
        if (data_size != kDbSize) throw Damage{page_what + " has a malformed named database"};
        children.push_back({le(&page_[data_at + kDbRootAt], 8),
                            static_cast<int>(le(&page_[data_at + kDbDepthAt], 2))});
      }
    }
    for (const Child& child : children) {
      if (branch) {
        visit(child.page, child.depth, tree, what);
      } else {
        walk(child.page, child.depth, Tree::named, what + ", a named database");
      }
    }
  }

  // A value too large for its leaf lives on consecutive overflow pages.
  void check_overflow(std::uint64_t pgno, std::uint64_t data_size, const std::string& what) {
    std::uint64_t needed = (kPageHeader + data_size + page_size_ - 1) / page_size_;
    check_page_number(pgno, needed, what);
    unsigned char header[kPageHeader];
    read_at(pgno * page_size_, header, sizeof header);
    if ((le(header + kPageFlagsAt, 2) & P_OVERFLOW) == 0 ||
        le(header + kOverflowPagesAt, 4) < needed) {
      throw Damage{what + " refers to a damaged overflow page " + std::to_string(pgno)};
    }
  }

  int fd_;
  std::string_view store_;
  std::uint64_t size_ = 0;
  std::uint64_t page_size_ = 0, last_page_ = 0, file_pages_ = 0, visited_ = 0;
  std::vector<unsigned char> page_;
};

}  // namespace

void check_lmdb_file(const std::filesystem::path& path, std::string_view store) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorCode::io, std::string(store) + ": cannot open: " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  Checker(fd, store).run();
}

}  // namespace checkpoint::backends::lmdb
