// The conformance suite: the executable definition of a correct Store
// (checkpoint/store.hpp).
//
// A backend's test file needs one line, and links checkpoint::conformance
// (which brings GoogleTest and gtest_main):
//
//   CHECKPOINT_CONFORMANCE_SUITE(MyStore, [](const std::filesystem::path& dir) {
//     return "mystore:" + (dir / "state").string();
//   });
//
// The function returns a config string for a fresh store inside `dir`, an
// empty directory the suite creates for each test and removes afterwards,
// or a directory below it that does not exist yet: a store that keeps files
// creates it (mode 0750; its files mode 0600, whatever the umask). A store
// must keep all its files inside that directory: the suite damages them,
// and cuts the power under it. The function must also work for another
// directory (a subdirectory of `dir`, not made yet), and the config string
// may get further options appended.
//
// Besides exact round trips, the suite holds a store to every promise of
// the contract:
// - reading never creates, changes or locks anything, a missing store is
//   Error{not_found}, and reading works on a read-only file system;
// - one writer at a time, locked before it loads: a writer that committed
//   between another's opening and its commit is never rolled back;
// - a backend that takes the options file_mode and dir_mode
//   (checkpoint/toolkit/file_modes.hpp) gives exactly those modes to every
//   file and directory it creates, whatever the umask, and a writer gives
//   them to the store's existing files;
// - damage to its files (cut short, NUL-filled, random bytes) is
//   Error{corrupt} or loads an exact earlier commit, never another
//   exception type, a changed value or a crash;
// - for a store that does its file I/O through checkpoint/toolkit, a power
//   cut (checkpoint/power_cut.hpp) right after a commit keeps it, and one
//   in the middle of a commit leaves the previous commit or the new one.
// Stores are opened only through Store::open(), so registration is checked
// too: a backend registered with register_backend() must be registered
// before RUN_ALL_TESTS() runs (in main() or a ::testing::Environment), since
// the function is called only inside the tests. Every case that writes runs
// twice: once keeping the store open between steps ("KeepOpen") and once
// reopening it between every step ("Reopen").
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <set>
#include <string>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/state.hpp"
#include "checkpoint/store.hpp"

namespace checkpoint::conformance {

using UriForDir = std::function<std::string(const std::filesystem::path& dir)>;

struct Target {
  std::string backend;  // the suite's instantiation name, for messages
  UriForDir uri_for_dir;
  bool reopen = false;  // reopen the store between every step
};

// The fixture every case is written against. Cases live in the library; the
// protected members are the vocabulary they use, and a backend may write
// further TEST_P cases of its own with them.
//
// The fixture keeps a model of what the store should hold. put() and erase()
// change the model and note the change; commit() hands the changes noted
// since the last commit to the store as one Changes; stored() loads the
// store (through the writer, and through a reader opened anew) and compares
// every state and the update_time with the model: ASSERT_TRUE(stored()).
class StoreConformance : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override;     // creates the empty directory
  void TearDown() override;  // closes the store and removes the directory

  const std::filesystem::path& dir() const { return dir_; }
  // The store's config string: GetParam().uri_for_dir(dir()).
  const std::string& uri() const { return uri_; }
  // "Memory/Reopen store memory:/tmp/...", for messages.
  std::string where() const;

  // The store for the next step, opened for writing: opened on first use
  // and, when reopening, closed and opened again through Store::open(uri())
  // on every call.
  Store& store();
  // A new store object opened for reading.
  std::unique_ptr<Store> reader() const;
  // Closes the store (the next store() opens it again).
  void close() { store_.reset(); }

  void put(EventLogState state);
  void erase(const std::string& name);
  // Commits the model with the given update_time (by default a new one for
  // each commit) and forgets the noted changes.
  void commit();
  void commit(Timestamp update_time);
  // Loads the store through store() and through reader(), and checks each
  // holds exactly the model.
  ::testing::AssertionResult stored();
  // Checks that `loaded` is exactly `states` with `update_time`: sorted by
  // name, names unique, every field equal. Reports which state and field
  // differ, naming where().
  ::testing::AssertionResult same(const PersistedState& loaded, const StateMap& states,
                                  Timestamp update_time) const;

  const StateMap& model() const { return model_; }
  Timestamp update_time() const { return update_time_; }

 private:
  std::filesystem::path dir_;
  std::string uri_;
  std::unique_ptr<Store> store_;
  StateMap model_;
  Timestamp update_time_;  // of the last commit
  std::int64_t commits_ = 0;
  std::set<std::string> changed_;  // put or erased since the last commit
};

// Forces the linker to keep the cases, which register themselves from
// static initialisers in the library's object files.
int link_cases();

// "KeepOpen" or "Reopen".
std::string target_name(const ::testing::TestParamInfo<Target>& info);

// How GoogleTest prints a Target in its messages: "Memory, reopened between steps".
void PrintTo(const Target& target, std::ostream* os);

}  // namespace checkpoint::conformance

// The suite's name must be "StoreConformance" as TEST_P spelled it, so the
// instantiation sits in a namespace of its own that names it unqualified.
#define CHECKPOINT_CONFORMANCE_SUITE(Name, ...)                                               \
  namespace checkpoint_conformance_##Name {                                                   \
    using ::checkpoint::conformance::StoreConformance;                                        \
    [[maybe_unused]] static const int linked_cases = ::checkpoint::conformance::link_cases(); \
    INSTANTIATE_TEST_SUITE_P(                                                                 \
        Name, StoreConformance,                                                               \
        ::testing::Values(::checkpoint::conformance::Target{#Name, __VA_ARGS__, false},       \
                          ::checkpoint::conformance::Target{#Name, __VA_ARGS__, true}),       \
        ::checkpoint::conformance::target_name);                                              \
  }                                                                                           \
  static_assert(true, "")
