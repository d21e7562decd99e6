// load_plugin() and checkpoint_load_plugin(): what each way a plugin can be
// wrong is refused with, and how a plugin's results cross the C ABI. The
// plugins are built by this directory's CMakeLists.txt (probe_plugin.c,
// once per defect); the backend contract itself is checked by the
// conformance suite through plugins (plugin_conformance_test.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "checkpoint/checkpoint.h"
#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"

namespace {

using checkpoint::Error;
using checkpoint::ErrorCode;
using ::testing::HasSubstr;

// The Error that load_plugin(path) throws; fails the test if none.
Error load_error(const std::string& path) {
  try {
    checkpoint::load_plugin(path);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "load_plugin(\"" << path << "\") succeeded";
  return Error(ErrorCode::io, "");
}

bool registered(const std::string& scheme) {
  for (const auto& info : checkpoint::registered_backends()) {
    if (info.scheme == scheme) return true;
  }
  return false;
}

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("plugin-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(PluginTest, AMissingFileIsNamed) {
  const std::string path = (dir_ / "missing.so").string();
  Error e = load_error(path);
  EXPECT_EQ(e.code(), ErrorCode::invalid_config);
  EXPECT_THAT(e.what(), HasSubstr("plugin " + path + ": no such file"));
}

TEST_F(PluginTest, ABareNameIsNeverLookedUp) {
  Error e = load_error("liblines_plugin.so");
  EXPECT_EQ(e.code(), ErrorCode::invalid_config);
  EXPECT_THAT(e.what(), HasSubstr("\"liblines_plugin.so\""));
  EXPECT_THAT(e.what(), HasSubstr("\"./liblines_plugin.so\" for a file in the current directory"));
  EXPECT_FALSE(registered("lines"));
}

TEST_F(PluginTest, AFileThatIsNoSharedObjectIsRefused) {
  const std::string path = (dir_ / "text.so").string();
  std::ofstream(path) << "not a shared object\n";
  Error e = load_error(path);
  EXPECT_EQ(e.code(), ErrorCode::invalid_config);
  EXPECT_THAT(e.what(), HasSubstr("plugin " + path + ": cannot be loaded: "));
}

TEST_F(PluginTest, AFileWithoutTheEntryPointIsRefused) {
  Error e = load_error(PROBE_NO_ENTRY);
  EXPECT_EQ(e.code(), ErrorCode::invalid_config);
  EXPECT_THAT(e.what(), HasSubstr(std::string("plugin ") + PROBE_NO_ENTRY +
                                  ": exports no checkpoint_plugin_v1"));
  EXPECT_FALSE(registered("probe"));
}

TEST_F(PluginTest, AnUnsupportedAbiVersionIsRefused) {
  Error e = load_error(PROBE_ABI_2);
  EXPECT_EQ(e.code(), ErrorCode::invalid_config);
  EXPECT_THAT(e.what(), HasSubstr(std::string("plugin ") + PROBE_ABI_2 +
                                  ": ABI version 2 is not supported (this library supports "
                                  "version 1)"));
  EXPECT_FALSE(registered("probe"));
}

TEST_F(PluginTest, ATooSmallTableIsRefused) {
  Error e = load_error(PROBE_SMALL);
  EXPECT_EQ(e.code(), ErrorCode::invalid_config);
  EXPECT_THAT(e.what(), HasSubstr(std::string("plugin ") + PROBE_SMALL +
                                  ": backend 0: its checkpoint_plugin_backend struct is 16 "
                                  "bytes, less than the"));
  EXPECT_FALSE(registered("probe"));
}

TEST_F(PluginTest, ATakenSchemeIsRefused) {
  Error e = load_error(PROBE_YAML);
  EXPECT_EQ(e.code(), ErrorCode::invalid_config);
  EXPECT_THAT(e.what(), HasSubstr(std::string("plugin ") + PROBE_YAML +
                                  ": scheme \"yaml\" is already registered (built-in)"));
  // The built-in backend is still the one registered.
  for (const auto& info : checkpoint::registered_backends()) {
    if (info.scheme == "yaml") {
      EXPECT_EQ(info.origin, "built-in");
    }
  }
}

TEST_F(PluginTest, ASchemeTakenByAnotherPluginNamesIt) {
  checkpoint::load_plugin(PROBE);
  Error e = load_error(PROBE_TWO);  // "probe2", then "probe"
  EXPECT_THAT(e.what(), HasSubstr(std::string("plugin ") + PROBE_TWO +
                                  ": scheme \"probe\" is "
                                  "already registered (" +
                                  PROBE + ")"));
  // All or none: its first backend was not registered either.
  EXPECT_FALSE(registered("probe2"));
}

TEST_F(PluginTest, BackendsShowWhereTheyCameFrom) {
  checkpoint::load_plugin(LINES_PLUGIN);
  checkpoint::register_backend({"mine", "a backend of the program", {}, {}},
                               [](const checkpoint::StoreUri&, const checkpoint::OpenOptions&) {
                                 return std::unique_ptr<checkpoint::Store>();
                               });
  std::map<std::string, std::string> origins;
  for (const auto& info : checkpoint::registered_backends()) origins[info.scheme] = info.origin;
  EXPECT_EQ(origins["lines"], LINES_PLUGIN);
  EXPECT_EQ(origins["yaml"], "built-in");
  EXPECT_EQ(origins["mine"], "program");
}

TEST_F(PluginTest, LoadingTheSameFileAgainDoesNothing) {
  checkpoint::load_plugin(LINES_PLUGIN);
  checkpoint::load_plugin(LINES_PLUGIN);
  // Under another name: the same file.
  const auto link = dir_ / "again.so";
  std::filesystem::create_symlink(LINES_PLUGIN, link);
  checkpoint::load_plugin(link.string());
  EXPECT_TRUE(registered("lines"));
}

TEST_F(PluginTest, TheCApiLoadsAndNamesFailures) {
  char* errmsg = nullptr;
  EXPECT_EQ(checkpoint_load_plugin(nullptr, &errmsg), CHECKPOINT_INVALID_ARGUMENT);
  ASSERT_NE(errmsg, nullptr);
  EXPECT_THAT(errmsg, HasSubstr("path is NULL"));
  checkpoint_free(errmsg);

  EXPECT_EQ(checkpoint_load_plugin(PROBE_ABI_2, &errmsg), CHECKPOINT_INVALID_CONFIG);
  ASSERT_NE(errmsg, nullptr);
  EXPECT_THAT(errmsg, HasSubstr(std::string("plugin ") + PROBE_ABI_2 + ": ABI version 2"));
  checkpoint_free(errmsg);

  EXPECT_EQ(checkpoint_load_plugin(LINES_PLUGIN, &errmsg), CHECKPOINT_OK);
  EXPECT_EQ(errmsg, nullptr);
  checkpoint_backend_list list{};
  ASSERT_EQ(checkpoint_backends(&list), CHECKPOINT_OK);
  bool found = false;
  for (std::size_t i = 0; i < list.count; ++i) {
    found = found || std::string(list.backends[i].scheme) == "lines";
  }
  checkpoint_backend_list_free(&list);
  EXPECT_TRUE(found);
}

TEST_F(PluginTest, APluginsCodesAndMessagesCrossAsErrors) {
  checkpoint::load_plugin(PROBE);
  try {
    checkpoint::Store::open("probe:fail-6");  // CHECKPOINT_LOCKED
    ADD_FAILURE() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::locked);
    EXPECT_STREQ(e.what(), "probe store fail-6: failed on purpose");
  }
  try {
    checkpoint::Store::open("probe:silent-99");  // no such code, no message
    ADD_FAILURE() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_THAT(e.what(), HasSubstr("probe store silent-99: the plugin " + std::string(PROBE) +
                                    " failed with code 99 (unknown) and no message"));
  }
}

TEST_F(PluginTest, ATimeOutOfRangeFromAPluginIsCorrupt) {
  checkpoint::load_plugin(PROBE);
  auto store = checkpoint::Store::open("probe:x", {.mode = checkpoint::OpenMode::read});
  try {
    store->load();
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::corrupt);
    EXPECT_THAT(e.what(), HasSubstr("probe store x: the timestamp of \"a\""));
  }
  // salvage() (the contract's default here) reports it as damage.
  checkpoint::Salvage salvaged = store->salvage();
  EXPECT_TRUE(salvaged.readable.states.empty());
  EXPECT_EQ(salvaged.damage.size(), 1u);
}

TEST_F(PluginTest, WhatTheSinkThrowsPassesThroughThePlugin) {
  checkpoint::load_plugin(LINES_PLUGIN);
  const std::string uri = "lines:" + (dir_ / "state.lines").string();
  const std::vector<checkpoint::EventLogState> states = {{"a", 1, {}, ""}, {"b", 2, {}, ""}};
  checkpoint::Store::open(uri)->commit({checkpoint::Timestamp::from_unix(1, 2), states, {}});
  int calls = 0;
  auto reader = checkpoint::Store::open(uri, {.mode = checkpoint::OpenMode::read});
  EXPECT_THROW(reader->scan([&](checkpoint::EventLogState&&) {
    ++calls;
    throw std::out_of_range("the sink's own exception");
  }),
               std::out_of_range);
  EXPECT_EQ(calls, 1);  // the plugin stopped at once
  EXPECT_EQ(reader->load().states, states);
}

}  // namespace
