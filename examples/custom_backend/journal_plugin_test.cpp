// The conformance suite on the journal backend served as a plugin: loaded
// at run time and opened by its scheme, as checkpointctl --plugin would.
#include <checkpoint/conformance.hpp>
#include <checkpoint/registry.hpp>

CHECKPOINT_CONFORMANCE_SUITE(JournalPlugin, [](const std::filesystem::path& dir) {
  return "journal:" + (dir / "state.journal").string();
});

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  checkpoint::load_plugin(JOURNAL_PLUGIN);
  return RUN_ALL_TESTS();
}
