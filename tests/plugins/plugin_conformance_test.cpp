// The conformance suite through the plugin path: each example plugin is
// loaded with load_plugin() and its stores opened by scheme, as any
// program would (the lines plugin is plain C; the journal plugin is the C++
// backend of examples/custom_backend through checkpoint/toolkit/plugin.hpp).
#include "checkpoint/conformance.hpp"

CHECKPOINT_CONFORMANCE_SUITE(LinesPlugin, [](const std::filesystem::path& dir) {
  return "lines:" + (dir / "state.lines").string();
});

CHECKPOINT_CONFORMANCE_SUITE(JournalPlugin, [](const std::filesystem::path& dir) {
  return "journal:" + (dir / "state.journal").string();
});

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  checkpoint::load_plugin(LINES_PLUGIN);
  checkpoint::load_plugin(JOURNAL_PLUGIN);
  return RUN_ALL_TESTS();
}
