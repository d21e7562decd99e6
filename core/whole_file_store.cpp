#include "checkpoint/toolkit/whole_file_store.hpp"

#include <filesystem>

#include "checkpoint/toolkit/durable_file.hpp"
#include "checkpoint/toolkit/errors.hpp"
#include "checkpoint/toolkit/options.hpp"
#include "checkpoint/toolkit/snapshot_store.hpp"
#include "checkpoint/writer_lock.hpp"

namespace checkpoint::toolkit {
namespace {

class WholeFileStore final : public SnapshotStore {
 public:
  WholeFileStore(std::filesystem::path path, bool sync, FileModes modes,
                 std::chrono::milliseconds lock_timeout, const OpenOptions& options,
                 DocumentFormat format)
      : SnapshotStore(options.mode, format.scheme + " store " + path.string()),
        // Through a symlink, the file it leads to is the store: read,
        // locked and replaced there, so the link keeps naming the store.
        path_(follow_symlinks(path, label())),
        sync_(sync),
        modes_(modes),
        format_(std::move(format)) {
    if (options.mode == OpenMode::write) {
      // Before anything is read: what this writer loads is what it overwrites.
      if (!options.create_if_missing && !exists(path_, label())) missing();
      lock_ = WriterLock::acquire(path_, label(), modes_, lock_timeout);
    } else if (!exists(path_, label())) {
      missing();
    }
  }

  // Rewritten whole at every commit: minimal already.
  void compact() override {
    if (mode() != OpenMode::write) {
      throw store_error(ErrorCode::invalid_argument, label(), "opened for reading; cannot compact");
    }
  }

  Salvage salvage() override {
    if (!format_.salvage) return Store::salvage();
    auto text = read_file(path_, label());
    if (!text) missing();
    return format_.salvage(*text, label());
  }

 protected:
  PersistedState read() override {
    auto text = read_file(path_, label());
    if (!text) {
      // Gone since it was opened: for a reader, the store was removed; a
      // writer's store simply has not been written yet.
      if (mode() == OpenMode::read) missing();
      return {};
    }
    return format_.parse(*text, label());
  }

  void write(Timestamp update_time, const StateMap& states, const Changes&) override {
    write_file_atomically(path_, format_.emit(update_time, states, label()), sync_, label(),
                          modes_);
  }

 private:
  [[noreturn]] void missing() const {
    throw store_error(ErrorCode::not_found, label(),
                      "no such store (" + path_.string() + " does not exist)");
  }

  std::filesystem::path path_;
  bool sync_;
  FileModes modes_;
  DocumentFormat format_;
  WriterLock lock_;
};

}  // namespace

std::vector<std::string> whole_file_options() {
  return {"sync", "file_mode", "dir_mode", "lock_timeout_ms"};
}

std::vector<std::filesystem::path> whole_file_store_files(const StoreUri& uri) {
  const std::filesystem::path path = require_path(uri);
  return {follow_symlinks(path, uri.scheme + " store " + path.string())};
}

std::unique_ptr<Store> open_whole_file_store(const StoreUri& uri, const OpenOptions& options,
                                             DocumentFormat format) {
  std::filesystem::path path = require_path(uri);
  bool sync = bool_option(uri, "sync", true);
  FileModes modes = file_modes_option(uri);
  auto lock_timeout = lock_timeout_option(uri);
  return std::make_unique<WholeFileStore>(std::move(path), sync, modes, lock_timeout, options,
                                          std::move(format));
}

}  // namespace checkpoint::toolkit
