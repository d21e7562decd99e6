// The conformance suite: the executable definition of a correct StateStore.
//
// A backend's test file needs one line, and links checkpoint::conformance
// (which brings GoogleTest and gtest_main):
//
//   CHECKPOINT_CONFORMANCE_SUITE(MyStore, [](const std::filesystem::path& dir) {
//     return "mystore:" + (dir / "state").string();
//   });
//
// The function returns a config string for a fresh store inside `dir`, an
// empty directory the suite creates for each test and removes afterwards.
// Stores are opened only through open_store(), so registration is checked
// too. Every case that writes runs twice: once keeping the store open
// between steps ("KeepOpen") and once reopening it between every step
// ("Reopen").
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <gtest/gtest.h>

namespace checkpoint::conformance {

using UriForDir = std::function<std::string(const std::filesystem::path& dir)>;

struct Target {
  std::string backend;  // the suite's instantiation name, for messages
  UriForDir uri_for_dir;
  bool reopen = false;  // reopen the store between every step
};

// The fixture every case is written against. Cases live in the library.
class StoreConformance : public ::testing::TestWithParam<Target> {};

// Forces the linker to keep the cases, which register themselves from
// static initialisers in the library's object files.
int link_cases();

std::string target_name(const ::testing::TestParamInfo<Target>& info);

}  // namespace checkpoint::conformance

#define CHECKPOINT_CONFORMANCE_SUITE(Name, ...)                                          \
  [[maybe_unused]] static const int checkpoint_conformance_link_##Name =                 \
      ::checkpoint::conformance::link_cases();                                           \
  INSTANTIATE_TEST_SUITE_P(                                                              \
      Name, ::checkpoint::conformance::StoreConformance,                                 \
      ::testing::Values(::checkpoint::conformance::Target{#Name, __VA_ARGS__, false},    \
                        ::checkpoint::conformance::Target{#Name, __VA_ARGS__, true}),    \
      ::checkpoint::conformance::target_name)
