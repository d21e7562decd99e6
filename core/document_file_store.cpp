#include "core/document_file_store.hpp"

#include <filesystem>

#include "checkpoint/writer_lock.hpp"
#include "core/durable_file.hpp"
#include "core/store_options.hpp"

namespace checkpoint::detail {
namespace {

class DocumentFileStore final : public StateStore {
 public:
  DocumentFileStore(std::filesystem::path path, bool sync, DocumentFormat format)
      : path_(std::move(path)),
        sync_(sync),
        format_(std::move(format)),
        label_(format_.scheme + " store " + path_.string()) {}

  PersistedState load() override {
    auto text = read_file(path_, label_);
    if (!text) return {};
    return format_.parse(*text, label_);
  }

  // The first commit takes the writer lock, which the store then holds
  // until it is destroyed; load() alone never takes it.
  void commit(const Commit& commit) override {
    if (!lock_.held()) lock_ = WriterLock::acquire(path_, label_);
    write_file_atomically(path_, format_.emit(commit.update_time, commit.states, label_), sync_,
                          label_);
  }

 private:
  std::filesystem::path path_;
  bool sync_;
  DocumentFormat format_;
  std::string label_;  // "yaml store PATH", the start of every message
  WriterLock lock_;
};

}  // namespace

std::unique_ptr<StateStore> open_document_file_store(const StoreUri& uri, DocumentFormat format) {
  std::filesystem::path path = require_path(uri);
  bool sync = bool_option(uri, "sync", true);
  return std::make_unique<DocumentFileStore>(std::move(path), sync, std::move(format));
}

}  // namespace checkpoint::detail
