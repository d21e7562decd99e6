// yaml:PATH — the states in one YAML file in Winlogbeat's .winlogbeat.yml
// format (see yaml_format.hpp), rewritten whole at every commit through
// write_file_atomically(): FILE.new (mode 0600), fsync, rename, fsync of the
// directory. Option sync=off skips the fsyncs: faster, but unsafe, since a
// power loss may then lose the last commits or leave a damaged file.
#pragma once

#include <memory>

#include "checkpoint/registry.hpp"

namespace checkpoint::backends {

BackendInfo yaml_backend_info();
std::unique_ptr<Store> open_yaml_store(const StoreUri& uri, const OpenOptions& options);

}  // namespace checkpoint::backends
