// The conformance suite on the journal backend, and what is specific to it:
// a torn last append is ignored, damage elsewhere is an error.
#include "journal_store.hpp"

#include <unistd.h>

#include <checkpoint/checkpoint.hpp>
#include <checkpoint/conformance.hpp>
#include <fstream>

CHECKPOINT_CONFORMANCE_SUITE(Journal, [](const std::filesystem::path& dir) {
  return "journal:" + (dir / "state.journal").string();
});

namespace {

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("journal-test-" + std::to_string(::getpid()) + ".journal");
    std::filesystem::remove(path_);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // Commits the states of `states` named in `upserted` (sorted), and the
  // removal of `removed`, through a store opened for this commit.
  void commit(const checkpoint::StateMap& states, const std::vector<std::string>& upserted,
              const std::vector<std::string>& removed = {}) {
    std::vector<checkpoint::EventLogState> changed;
    for (const auto& name : upserted) changed.push_back(states.at(name));
    checkpoint::Store::open(path_.string())
        ->commit({checkpoint::Timestamp::from_unix(1, 2), changed, removed});
  }
  checkpoint::PersistedState load() const {
    return checkpoint::Store::open(path_.string(), {.mode = checkpoint::OpenMode::read})->load();
  }
  void append(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::app) << bytes;
  }

  std::filesystem::path path_;
};

const checkpoint::StateMap kOne = {{"a", {"a", 1, {}, ""}}};
const checkpoint::StateMap kTwo = {{"a", {"a", 1, {}, ""}}, {"b", {"b", 2, {}, "<b/>"}}};

TEST_F(JournalTest, TornLastAppendIsIgnoredAndCutOff) {
  commit(kOne, {"a"});
  commit(kTwo, {"b"});
  const auto intact = std::filesystem::file_size(path_);
  for (const std::string& tail : {std::string("J 99 0123"), std::string(300, '\0')}) {
    append(tail);
    EXPECT_EQ(load().states.size(), 2u);
    commit(kOne, {}, {"b"});  // cuts the torn record off, then appends
    EXPECT_EQ(load().states.size(), 1u);
    commit(kTwo, {"b"});
  }
  EXPECT_GT(std::filesystem::file_size(path_), intact);
}

TEST_F(JournalTest, LongLogsAreRewrittenWhole) {
  commit(kTwo, {"a", "b"});
  const auto first = std::filesystem::file_size(path_);
  for (int i = 0; i < 50; ++i) commit(kTwo, {"a"});
  EXPECT_LT(std::filesystem::file_size(path_), 40 * first);
  auto loaded = load();
  ASSERT_EQ(loaded.states.size(), 2u);
  EXPECT_EQ(loaded.states[1], kTwo.at("b"));
}

TEST_F(JournalTest, DamageBeforeTheLastRecordIsCorrupt) {
  commit(kOne, {"a"});
  commit(kTwo, {"b"});
  std::string text;
  {
    std::ifstream in(path_, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (std::size_t at : {std::size_t{0}, text.find("J ", 1) - 3}) {
    std::string damaged = text;
    damaged[at] ^= 0x20;
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << damaged;
    try {
      load();
      ADD_FAILURE() << "loaded a damaged journal";
    } catch (const checkpoint::Error& e) {
      EXPECT_EQ(e.code(), checkpoint::ErrorCode::corrupt) << e.what();
      EXPECT_NE(std::string(e.what()).find(path_.string()), std::string::npos) << e.what();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Before any test opens a journal: store. (The suite's cases call the
  // function above only while they run.)
  journal::register_backend();
  return RUN_ALL_TESTS();
}
