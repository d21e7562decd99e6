#include "backends/yaml/yaml_store.hpp"

#include <filesystem>

#include "backends/yaml/yaml_format.hpp"
#include "core/durable_file.hpp"
#include "core/store_options.hpp"

namespace checkpoint::backends {
namespace {

class YamlStore final : public StateStore {
 public:
  YamlStore(std::filesystem::path path, bool sync)
      : path_(std::move(path)), sync_(sync), name_("yaml store " + path_.string()) {}

  PersistedState load() override {
    auto text = detail::read_file(path_, name_);
    if (!text) return {};
    return parse_yaml_document(*text, name_);
  }

  void commit(const Commit& commit) override {
    detail::write_file_atomically(
        path_, emit_yaml_document(commit.update_time, commit.states, name_), sync_, name_);
  }

 private:
  std::filesystem::path path_;
  bool sync_;
  std::string name_;  // for messages
};

}  // namespace

BackendInfo yaml_backend_info() {
  return {"yaml",
          "one YAML file in Winlogbeat's .winlogbeat.yml format, rewritten at each commit; "
          "sync=off skips fsync (unsafe)",
          {"sync"},
          {".yml", ".yaml"}};
}

std::unique_ptr<StateStore> open_yaml_store(const StoreUri& uri) {
  std::filesystem::path path = detail::require_path(uri);
  bool sync = detail::bool_option(uri, "sync", true);
  return std::make_unique<YamlStore>(std::move(path), sync);
}

}  // namespace checkpoint::backends
