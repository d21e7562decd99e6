// PowerCut (checkpoint/power_cut.hpp): a record of the toolkit's system
// calls under one directory, and the states a power cut could leave.
//
// Every file and directory is an object (a Node) for its whole life, named
// by a number: inode numbers are reused, so a file created after another
// was removed is a new object even if it gets the old one's inode. The
// record is a list of operations on objects (link a name to an object in a
// directory, unlink, rename, chmod, write, truncate, fsync). A state is the
// objects as they were at construction with a choice of operations applied
// in the order they were made: those made durable by a later fsync before
// the cut, and any subset of the others (a write kept, zero-filled or torn
// at one of its tears). The directory tree reachable from the root is what
// the disk holds; two choices that reach the same tree are one state.
#include "checkpoint/power_cut.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/toolkit/system_calls.hpp"

namespace checkpoint::conformance {
namespace {

using toolkit::real_system_calls;
using Inode = std::pair<dev_t, ino_t>;
using NodeId = std::size_t;

constexpr std::uint64_t kPage = 4096;
// Beyond this many combinations of un-synced operations at one cut point,
// for_each_crash_state() refuses rather than run for hours.
constexpr std::uint64_t kMaxCombinations = 1'000'000;

// A file or directory as it was when the PowerCut was made (or, for one
// made since, as it was made: empty).
struct Node {
  bool directory = false;
  mode_t mode = 0;
  std::string data;                       // a file's bytes
  std::map<std::string, NodeId> entries;  // a directory's entries
};

enum class Kind { link, unlink, rename, chmod, write, truncate, fsync };

struct Op {
  Kind kind = Kind::fsync;
  std::size_t call = 0;  // the calls made before the one that did this
  NodeId node = 0;       // what is linked, renamed, chmod()ed, written, truncated or synced
  NodeId dir = 0;        // link, unlink, rename: the directory (rename: the source's)
  NodeId to_dir = 0;     // rename: the target's directory
  std::string name, to_name;
  std::uint64_t offset = 0;           // write: where; truncate: the new size
  std::string bytes;                  // write
  mode_t mode = 0;                    // chmod
  std::vector<std::uint64_t> tears;   // write: how many bytes a torn write may keep
  std::string text;                   // what the call was, for descriptions
  std::size_t durable_at = SIZE_MAX;  // a cut after this many calls keeps it
};

// A write may be: 0 lost, 1 kept, 2 zero-filled, 3 + 2t torn at tears[t]
// with the rest lost, 4 + 2t torn there with the rest zero-filled. Other
// operations: 0 lost, 1 kept. An fsync is no choice: it happened or not.
std::size_t choices_of(const Op& op) {
  if (op.kind == Kind::fsync) return 1;
  if (op.kind == Kind::write) return 3 + 2 * op.tears.size();
  return 2;
}

std::string describe_choice(const Op& op, std::uint8_t choice) {
  if (choice == 0) return "lost";
  if (choice == 1) return "kept";
  if (choice == 2) return "zero-filled";
  const std::size_t tear = (choice - 3) / 2;
  return "torn after " + std::to_string(op.tears[tear]) + " of " + std::to_string(op.bytes.size()) +
         " bytes, the rest " + ((choice - 3) % 2 == 0 ? "lost" : "zero-filled");
}

// Where a write of `n` bytes at `offset` may be torn: its first and last
// page boundary, and its middle.
std::vector<std::uint64_t> tears_of(std::uint64_t offset, std::uint64_t n) {
  std::vector<std::uint64_t> out;
  if (n >= 2) out.push_back(n / 2);
  const std::uint64_t first = kPage - offset % kPage;
  if (first < n) out.push_back(first);
  const std::uint64_t last = (offset + n - 1) / kPage * kPage;
  if (last > offset) out.push_back(last - offset);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Applies one write or truncate, as `choice` says, to a file's bytes.
void apply_data(const Op& op, std::uint8_t choice, std::string& data) {
  if (op.kind == Kind::truncate) {
    data.resize(op.offset, '\0');
    return;
  }
  std::string bytes;
  if (choice == 1) {
    bytes = op.bytes;
  } else if (choice == 2) {
    bytes.assign(op.bytes.size(), '\0');
  } else {
    const std::uint64_t kept = op.tears[(choice - 3) / 2];
    bytes = op.bytes.substr(0, kept);
    if ((choice - 3) % 2 == 1) bytes.resize(op.bytes.size(), '\0');
  }
  if (data.size() < op.offset + bytes.size()) data.resize(op.offset + bytes.size(), '\0');
  std::copy(bytes.begin(), bytes.end(), data.begin() + static_cast<std::ptrdiff_t>(op.offset));
}

std::string contents_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

struct detail::PowerCutModel {
  std::filesystem::path root;    // absolute, lexically normal
  std::vector<Node> nodes;       // by NodeId; 0 is the root
  std::map<Inode, NodeId> live;  // the object each inode holds now
  struct Descriptor {
    NodeId node;
    std::string path;
  };
  std::map<int, Descriptor> descriptors;  // open descriptors under root
  std::vector<Op> ops;
  std::size_t operations = 0;
  std::size_t cut_after = SIZE_MAX;  // calls left before the power goes
  bool cut = false;
  std::vector<std::string> log;    // one line per call, and the cut
  std::vector<std::string> calls;  // what each call was, by number

  // `path` made absolute, if it lies under root; empty otherwise.
  std::string under_root(const char* path) const {
    std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
    return r == root.end() ? p.string() : std::string();
  }

  // Counts a call; false if the power is (now) gone.
  bool powered(const std::string& what) {
    ++operations;
    if (!cut && cut_after == 0) {
      cut = true;
      log.push_back("-- the power goes --");
    }
    if (cut_after != SIZE_MAX && cut_after > 0) --cut_after;
    if (cut) {
      log.push_back(what + " -> EIO (no power)");
      calls.push_back(what + " (failed: no power)");
      errno = EIO;
      return false;
    }
    log.push_back(what);
    calls.push_back(what);
    return true;
  }

  NodeId add(Node node, const struct stat& st) {
    nodes.push_back(std::move(node));
    live[{st.st_dev, st.st_ino}] = nodes.size() - 1;
    return nodes.size() - 1;
  }

  // The object at `path` (which exists), registered with what it holds now
  // if it was made behind the toolkit's back; directories with their
  // entries.
  NodeId register_path(const std::string& path, const struct stat& st) {
    auto it = live.find({st.st_dev, st.st_ino});
    if (it != live.end()) return it->second;
    Node node{S_ISDIR(st.st_mode) != 0, static_cast<mode_t>(st.st_mode & 07777), {}, {}};
    if (!node.directory) node.data = contents_of(path);
    const NodeId id = add(std::move(node), st);
    if (S_ISDIR(st.st_mode)) {
      std::error_code ec;
      for (const auto& item : std::filesystem::directory_iterator(path, ec)) {
        struct stat child;
        if (::lstat(item.path().c_str(), &child) != 0) continue;
        if (!S_ISDIR(child.st_mode) && !S_ISREG(child.st_mode)) continue;
        const NodeId child_id = register_path(item.path().string(), child);
        nodes[id].entries[item.path().filename().string()] = child_id;
      }
    }
    return id;
  }

  // The object at `path`, if it exists.
  std::optional<NodeId> node_of(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    return register_path(path, st);
  }

  // The directory holding `path` (under root) and the name in it.
  std::optional<std::pair<NodeId, std::string>> entry_of(const std::string& path) {
    std::filesystem::path p(path);
    if (p == root) return std::nullopt;
    auto dir = node_of(p.parent_path().string());
    if (!dir) return std::nullopt;
    return std::make_pair(*dir, p.filename().string());
  }

  // Records what the call just counted did; the caller fills in the rest.
  Op& record(Kind kind, NodeId node) {
    Op& op = ops.emplace_back();
    op.kind = kind;
    op.node = node;
    op.call = operations - 1;
    op.text = calls.back();
    return op;
  }

  void record_link(NodeId node, const std::pair<NodeId, std::string>& entry) {
    Op& op = record(Kind::link, node);
    op.dir = entry.first;
    op.name = entry.second;
  }

  void record_unlink(const std::pair<NodeId, std::string>& entry) {
    Op& op = record(Kind::unlink, 0);
    op.dir = entry.first;
    op.name = entry.second;
  }

  // The call count from which each operation is durable: the first fsync
  // after it of its object (data, size, mode) or of its directory (entries;
  // a rename between two directories needs both).
  void find_durable_points() {
    auto synced_after = [&](std::size_t i, NodeId node) -> std::size_t {
      for (std::size_t j = i + 1; j < ops.size(); ++j) {
        if (ops[j].kind == Kind::fsync && ops[j].node == node) return ops[j].call + 1;
      }
      return SIZE_MAX;
    };
    for (std::size_t i = 0; i < ops.size(); ++i) {
      Op& op = ops[i];
      switch (op.kind) {
        case Kind::fsync:
          op.durable_at = op.call + 1;
          break;
        case Kind::link:
        case Kind::unlink:
          op.durable_at = synced_after(i, op.dir);
          break;
        case Kind::rename:
          op.durable_at = std::max(synced_after(i, op.dir), synced_after(i, op.to_dir));
          break;
        case Kind::chmod:
        case Kind::write:
        case Kind::truncate:
          op.durable_at = synced_after(i, op.node);
          break;
      }
    }
  }

  // The objects after applying the first `issued` operations as `choice`
  // says (0: not applied).
  struct Tree {
    std::vector<mode_t> modes;
    std::vector<std::map<std::string, NodeId>> entries;
    std::vector<std::vector<std::pair<std::size_t, std::uint8_t>>> data;  // writes, truncates
  };

  Tree build(std::size_t issued, const std::vector<std::uint8_t>& choice) const {
    Tree tree;
    tree.modes.reserve(nodes.size());
    for (const auto& node : nodes) {
      tree.modes.push_back(node.mode);
      tree.entries.push_back(node.entries);
    }
    tree.data.resize(nodes.size());
    for (std::size_t i = 0; i < issued; ++i) {
      const Op& op = ops[i];
      if (choice[i] == 0) continue;
      switch (op.kind) {
        case Kind::link:
          tree.entries[op.dir][op.name] = op.node;
          break;
        case Kind::unlink:
          tree.entries[op.dir].erase(op.name);
          break;
        case Kind::rename:
          // Whole or not at all: the source's name goes, the target's names
          // the object renamed.
          tree.entries[op.dir].erase(op.name);
          tree.entries[op.to_dir][op.to_name] = op.node;
          break;
        case Kind::chmod:
          tree.modes[op.node] = op.mode;
          break;
        case Kind::write:
        case Kind::truncate:
          tree.data[op.node].emplace_back(i, choice[i]);
          break;
        case Kind::fsync:
          break;
      }
    }
    return tree;
  }

  // What the disk holds, reachable from the root, as a short string: two
  // trees with the same key hold the same bytes.
  void key_of(const Tree& tree, NodeId id, std::string& out) const {
    if (nodes[id].directory) {
      out += "D" + std::to_string(tree.modes[id]) + "{";
      for (const auto& [name, child] : tree.entries[id]) {
        out += name;
        out += '\0';
        key_of(tree, child, out);
      }
      out += "}";
    } else {
      out += "F" + std::to_string(id) + "," + std::to_string(tree.modes[id]) + "[";
      for (const auto& [op, choice] : tree.data[id]) {
        out += std::to_string(op) + "." + std::to_string(choice) + ";";
      }
      out += "]";
    }
  }

  // Replaces what is under root with `tree`.
  void write_out(const Tree& tree) const {
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(root, ec)) {
      std::filesystem::remove_all(item.path(), ec);
    }
    write_entries(tree, 0, root.string());
  }

  void write_entries(const Tree& tree, NodeId dir, const std::string& path) const {
    for (const auto& [name, id] : tree.entries[dir]) {
      const std::string child = path + "/" + name;
      if (nodes[id].directory) {
        std::filesystem::create_directory(child);
        write_entries(tree, id, child);
      } else {
        std::string data = nodes[id].data;
        for (const auto& [op, choice] : tree.data[id]) apply_data(ops[op], choice, data);
        std::ofstream(child, std::ios::binary | std::ios::trunc) << data;
      }
      ::chmod(child.c_str(), tree.modes[id]);
    }
  }

  // A state's description: the last call before the cut, and each
  // un-synced operation with what became of it.
  std::string describe(std::size_t cut_at, const std::vector<std::size_t>& pending,
                       const std::vector<std::uint8_t>& choice) const {
    std::string out = "the power went after " + std::to_string(cut_at) + " calls";
    out += cut_at == 0 ? " (before the first)" : " (the last: " + calls[cut_at - 1] + ")";
    if (pending.empty()) out += "; everything was synced";
    for (std::size_t i : pending) {
      out += "\n      not synced: " + ops[i].text + ": " + describe_choice(ops[i], choice[i]);
    }
    return out;
  }
};

namespace {

detail::PowerCutModel* active = nullptr;

std::string describe_fd(int fd) {
  auto it = active->descriptors.find(fd);
  return it == active->descriptors.end() ? std::to_string(fd) : it->second.path;
}

bool tracked(int fd) { return active != nullptr && active->descriptors.contains(fd); }

NodeId node_of_fd(int fd) { return active->descriptors.at(fd).node; }

int seam_open(const char* path, int flags, mode_t mode) {
  std::string p = active != nullptr ? active->under_root(path) : std::string();
  if (p.empty()) return real_system_calls().open(path, flags, mode);
  if (!active->powered("open " + p + ((flags & O_CREAT) ? " (create)" : ""))) return -1;
  struct stat before;
  const bool existed = ::lstat(path, &before) == 0;
  int fd = real_system_calls().open(path, flags, mode);
  if (fd < 0) return fd;
  struct stat st;
  if (::fstat(fd, &st) != 0) return fd;
  NodeId id;
  if (!existed) {
    id = active->add(
        Node{S_ISDIR(st.st_mode) != 0, static_cast<mode_t>(st.st_mode & 07777), {}, {}}, st);
    if (auto entry = active->entry_of(p)) active->record_link(id, *entry);
  } else {
    id = active->register_path(p, st);
    if ((flags & O_TRUNC) != 0 && (flags & O_ACCMODE) != O_RDONLY && S_ISREG(st.st_mode)) {
      active->record(Kind::truncate, id).offset = 0;
    }
  }
  active->descriptors[fd] = {id, p};
  return fd;
}

ssize_t seam_read(int fd, void* buf, size_t n) { return real_system_calls().read(fd, buf, n); }

ssize_t seam_write(int fd, const void* buf, size_t n) {
  if (!tracked(fd)) return real_system_calls().write(fd, buf, n);
  if (!active->powered("write " + describe_fd(fd) + " (" + std::to_string(n) + " bytes)")) {
    return -1;
  }
  // Where the bytes land: the end of the file for O_APPEND.
  off_t offset = ::lseek(fd, 0, SEEK_CUR);
  struct stat st;
  if ((::fcntl(fd, F_GETFL) & O_APPEND) != 0 && ::fstat(fd, &st) == 0) offset = st.st_size;
  ssize_t written = real_system_calls().write(fd, buf, n);
  if (written > 0 && offset >= 0) {
    const auto at = static_cast<std::uint64_t>(offset);
    const auto count = static_cast<std::uint64_t>(written);
    Op& op = active->record(Kind::write, node_of_fd(fd));
    op.offset = at;
    op.bytes.assign(static_cast<const char*>(buf), count);
    op.tears = tears_of(at, count);
  }
  return written;
}

int seam_fsync(int fd) {
  if (!tracked(fd)) return real_system_calls().fsync(fd);
  if (!active->powered("fsync " + describe_fd(fd))) return -1;
  int rc = real_system_calls().fsync(fd);
  if (rc == 0) active->record(Kind::fsync, node_of_fd(fd));
  return rc;
}

int seam_close(int fd) {
  if (active != nullptr) active->descriptors.erase(fd);
  return real_system_calls().close(fd);
}

int seam_rename(const char* from, const char* to) {
  std::string source = active != nullptr ? active->under_root(from) : std::string();
  std::string target = active != nullptr ? active->under_root(to) : std::string();
  if (source.empty() && target.empty()) return real_system_calls().rename(from, to);
  if (!active->powered("rename " + std::string(from) + " " + to)) return -1;
  auto node = active->node_of(source.empty() ? std::string(from) : source);
  auto from_entry = source.empty() ? std::nullopt : active->entry_of(source);
  int rc = real_system_calls().rename(from, to);
  if (rc != 0 || !node) return rc;
  auto to_entry = target.empty() ? std::nullopt : active->entry_of(target);
  if (from_entry && to_entry) {
    Op& op = active->record(Kind::rename, *node);
    op.dir = from_entry->first;
    op.name = from_entry->second;
    op.to_dir = to_entry->first;
    op.to_name = to_entry->second;
  } else if (from_entry) {  // moved out from under root
    active->record_unlink(*from_entry);
  } else if (to_entry) {  // moved in
    active->record_link(*node, *to_entry);
  }
  return rc;
}

int seam_unlink(const char* path) {
  std::string p = active != nullptr ? active->under_root(path) : std::string();
  if (p.empty()) return real_system_calls().unlink(path);
  if (!active->powered("unlink " + p)) return -1;
  auto entry = active->entry_of(p);
  int rc = real_system_calls().unlink(path);
  if (rc == 0 && entry) active->record_unlink(*entry);
  return rc;
}

int seam_mkdir(const char* path, mode_t mode) {
  std::string p = active != nullptr ? active->under_root(path) : std::string();
  if (p.empty()) return real_system_calls().mkdir(path, mode);
  if (!active->powered("mkdir " + p)) return -1;
  int rc = real_system_calls().mkdir(path, mode);
  struct stat st;
  if (rc != 0 || ::lstat(path, &st) != 0) return rc;
  NodeId id = active->add(Node{true, static_cast<mode_t>(st.st_mode & 07777), {}, {}}, st);
  if (auto entry = active->entry_of(p)) active->record_link(id, *entry);
  return rc;
}

int seam_chmod(const char* path, mode_t mode) {
  std::string p = active != nullptr ? active->under_root(path) : std::string();
  if (p.empty()) return real_system_calls().chmod(path, mode);
  if (!active->powered("chmod " + p)) return -1;
  auto node = active->node_of(p);
  int rc = real_system_calls().chmod(path, mode);
  if (rc == 0 && node) active->record(Kind::chmod, *node).mode = mode & 07777;
  return rc;
}

int seam_fchmod(int fd, mode_t mode) {
  if (!tracked(fd)) return real_system_calls().fchmod(fd, mode);
  if (!active->powered("fchmod " + describe_fd(fd))) return -1;
  int rc = real_system_calls().fchmod(fd, mode);
  if (rc == 0) active->record(Kind::chmod, node_of_fd(fd)).mode = mode & 07777;
  return rc;
}

int seam_flock(int fd, int operation) {
  if (tracked(fd) && !active->powered("flock " + describe_fd(fd))) return -1;
  return real_system_calls().flock(fd, operation);
}

int seam_ftruncate(int fd, off_t length) {
  if (!tracked(fd)) return real_system_calls().ftruncate(fd, length);
  if (!active->powered("ftruncate " + describe_fd(fd) + " to " + std::to_string(length))) {
    return -1;
  }
  int rc = real_system_calls().ftruncate(fd, length);
  if (rc == 0)
    active->record(Kind::truncate, node_of_fd(fd)).offset = static_cast<std::uint64_t>(length);
  return rc;
}

int seam_stat(const char* path, struct stat* st) { return real_system_calls().stat(path, st); }
int seam_fstat(int fd, struct stat* st) { return real_system_calls().fstat(fd, st); }
int seam_lstat(const char* path, struct stat* st) { return real_system_calls().lstat(path, st); }

const toolkit::SystemCalls kSeam = {
    seam_open,   seam_read,   seam_write,     seam_fsync, seam_close,
    seam_rename, seam_unlink, seam_mkdir,     seam_chmod, seam_fchmod,
    seam_stat,   seam_flock,  seam_ftruncate, seam_fstat, seam_lstat,
};

}  // namespace

PowerCut::PowerCut(std::filesystem::path dir) : state_(std::make_unique<detail::PowerCutModel>()) {
  if (active != nullptr) throw std::logic_error("PowerCut: one at a time");
  state_->root = std::filesystem::absolute(dir).lexically_normal();
  if (!state_->root.has_filename()) state_->root = state_->root.parent_path();
  struct stat st;
  if (::stat(state_->root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::invalid_argument("PowerCut: " + state_->root.string() + " is not a directory");
  }
  state_->register_path(state_->root.string(), st);  // node 0: the root, and all it holds
  active = state_.get();
  toolkit::set_system_calls(kSeam);
}

PowerCut::~PowerCut() {
  if (active == state_.get()) {
    toolkit::set_system_calls(real_system_calls());
    active = nullptr;
  }
}

std::size_t PowerCut::operations() const { return state_->operations; }

void PowerCut::cut_after(std::size_t n) { state_->cut_after = n; }

void PowerCut::cut() {
  if (!state_->cut) state_->log.push_back("-- the power goes --");
  state_->cut = true;
}

bool PowerCut::was_cut() const { return state_->cut; }

void PowerCut::reboot() {
  if (!state_->cut) throw std::logic_error("PowerCut::reboot() without cut()");
  if (active == state_.get()) {
    toolkit::set_system_calls(real_system_calls());
    active = nullptr;
  }
  auto& model = *state_;
  model.find_durable_points();
  std::vector<std::uint8_t> choice(model.ops.size());
  for (std::size_t i = 0; i < model.ops.size(); ++i) {
    choice[i] = model.ops[i].durable_at <= model.operations ? 1 : 0;
  }
  model.write_out(model.build(model.ops.size(), choice));
}

std::size_t PowerCut::for_each_crash_state(const std::function<bool(const CrashState&)>& check,
                                           std::size_t from) {
  if (!state_->cut) throw std::logic_error("PowerCut::for_each_crash_state() without cut()");
  if (active == state_.get()) {
    toolkit::set_system_calls(real_system_calls());
    active = nullptr;
  }
  auto& model = *state_;
  model.find_durable_points();

  // The cut points where the set of states changes: before every call that
  // did something, and after the last.
  std::vector<std::size_t> points{0};
  for (const auto& op : model.ops) points.push_back(op.call + 1);
  points.push_back(model.operations);
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());

  struct Found {
    std::size_t issued;  // operations made before the cut
    std::vector<std::uint8_t> choice;
    CrashState state;
  };
  std::vector<Found> found;
  std::map<std::string, std::size_t> seen;  // key -> index in found

  std::size_t issued = 0;
  for (std::size_t p = 0; p < points.size(); ++p) {
    const std::size_t at = points[p];
    const std::size_t until = p + 1 < points.size() ? points[p + 1] - 1 : model.operations;
    while (issued < model.ops.size() && model.ops[issued].call < at) ++issued;
    if (until < from) continue;

    std::vector<std::size_t> pending;
    std::vector<std::uint8_t> choice(issued, 0);
    std::uint64_t combinations = 1;
    for (std::size_t i = 0; i < issued; ++i) {
      const Op& op = model.ops[i];
      if (op.kind == Kind::fsync) continue;
      if (op.durable_at <= at) {
        choice[i] = 1;
        continue;
      }
      pending.push_back(i);
      combinations *= choices_of(op);
      if (combinations > kMaxCombinations) {
        throw std::length_error("PowerCut: more than " + std::to_string(kMaxCombinations) +
                                " combinations of un-synced operations after " +
                                std::to_string(at) + " calls:" + model.describe(at, {}, choice));
      }
    }
    // Every combination: a counter whose digits are the pending choices.
    for (std::uint64_t n = 0; n < combinations; ++n) {
      std::uint64_t rest = n;
      for (std::size_t i : pending) {
        const std::size_t base = choices_of(model.ops[i]);
        choice[i] = static_cast<std::uint8_t>(rest % base);
        rest /= base;
      }
      std::string key;
      model.key_of(model.build(issued, choice), 0, key);
      auto [it, fresh] = seen.emplace(std::move(key), found.size());
      if (fresh) {
        found.push_back(
            {issued, choice, {std::max(at, from), until, model.describe(at, pending, choice)}});
      } else {
        found[it->second].state.latest = until;
      }
    }
  }

  std::size_t checked = 0;
  for (const auto& state : found) {
    model.write_out(model.build(state.issued, state.choice));
    ++checked;
    if (!check(state.state)) break;
  }
  return checked;
}

std::string PowerCut::log() const {
  std::string out;
  for (const auto& line : state_->log) out += "\n    " + line;
  return out;
}

}  // namespace checkpoint::conformance
