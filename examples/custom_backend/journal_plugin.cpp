// The journal backend as a plugin (checkpoint/plugin.h): a MODULE library
// that any program built with checkpoint loads at run time,
//   checkpointctl --plugin ./libjournal_plugin.so dump state.journal
// with no change to the program.
#include <checkpoint/toolkit/plugin.hpp>

#include "journal_store.hpp"

namespace {

std::vector<checkpoint::toolkit::PluginBackend> backends() {
  return {{journal::backend_info(), journal::open}};
}

}  // namespace

CHECKPOINT_TOOLKIT_PLUGIN(backends);
