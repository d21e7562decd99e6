// The options file_mode and dir_mode: how they are read and refused
// (toolkit/file_modes.hpp, toolkit/options.hpp). What the backends do with
// them is the conformance suite's FilesGetTheConfiguredModesWhateverTheUmask.
#include "checkpoint/toolkit/file_modes.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"
#include "checkpoint/toolkit/options.hpp"
#include "checkpoint/writer_lock.hpp"
#include "tests/test_files.hpp"

namespace checkpoint {
namespace {

using toolkit::FileModes;
using toolkit::ModeOf;
using toolkit::parse_mode;

// The reason parse_mode() gives for `text`, or "" if it accepts it.
std::string refusal(const std::string& text, ModeOf of) {
  try {
    parse_mode("file_mode", text, of);
    return "";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
    EXPECT_EQ(std::string(e.what()),
              "option file_mode=\"" + text + "\" is invalid; " + e.details().reason);
    return e.details().reason;
  }
}

TEST(ParseMode, ReadsOctalWithOrWithoutPrefix) {
  EXPECT_EQ(parse_mode("file_mode", "0640", ModeOf::file), 0640u);
  EXPECT_EQ(parse_mode("file_mode", "640", ModeOf::file), 0640u);
  EXPECT_EQ(parse_mode("file_mode", "0o640", ModeOf::file), 0640u);
  EXPECT_EQ(parse_mode("file_mode", "0O600", ModeOf::file), 0600u);
  EXPECT_EQ(parse_mode("file_mode", "00644", ModeOf::file), 0644u);
  EXPECT_EQ(parse_mode("dir_mode", "0755", ModeOf::directory), 0755u);
  EXPECT_EQ(parse_mode("dir_mode", "700", ModeOf::directory), 0700u);
}

TEST(ParseMode, RefusesWhatIsNoOctalNumber) {
  for (const char* text : {"", "abc", "0x1a0", "0o", "064O", "0689", "-0640", "+0640", " 0640",
                           "0640 ", "rw-r-----", "6.4"}) {
    EXPECT_EQ(refusal(text, ModeOf::file), "expected an octal mode such as 0640") << text;
  }
  EXPECT_EQ(refusal("x", ModeOf::directory), "expected an octal mode such as 0750");
}

TEST(ParseMode, RefusesBitsBeyondThePermissions) {
  for (const char* text : {"4640", "01750", "2600", "77777777777777777777777"}) {
    EXPECT_EQ(refusal(text, ModeOf::file),
              "only the permission bits 0777 may be set (no setuid, setgid or sticky bit)")
        << text;
  }
}

TEST(ParseMode, RefusesWritingByGroupOrOthers) {
  EXPECT_EQ(refusal("0660", ModeOf::file),
            "it lets the group or others write (0020): a store's files may be shared for "
            "reading only; use a mode such as 0640");
  EXPECT_EQ(refusal("0602", ModeOf::file).substr(0, 41),
            "it lets the group or others write (0002):");
  EXPECT_EQ(refusal("0777", ModeOf::directory),
            "it lets the group or others write (0022): a store's files may be shared for "
            "reading only; use a mode such as 0750");
}

TEST(ParseMode, RefusesWhatTheOwnerCannotUse) {
  for (const char* text : {"0400", "0200", "0", "0044"}) {
    EXPECT_EQ(refusal(text, ModeOf::file),
              "the owner must be able to read and write the store's files (0600)")
        << text;
  }
  for (const char* text : {"0600", "0640", "0500", "0755x"}) {
    std::string why = refusal(text, ModeOf::directory);
    if (std::string(text) == "0755x") {
      EXPECT_EQ(why, "expected an octal mode such as 0750");
    } else {
      EXPECT_EQ(why,
                "the owner must be able to read, write and enter the store's directories "
                "(0700)")
          << text;
    }
  }
}

TEST(FileModesOption, DefaultsAndBothOptions) {
  EXPECT_EQ(toolkit::file_modes_option(parse_store_uri("yaml:/x/s.yml")), (FileModes{0600, 0750}));
  EXPECT_EQ(toolkit::file_modes_option(parse_store_uri("yaml:/x/s.yml?file_mode=0640")),
            (FileModes{0640, 0750}));
  EXPECT_EQ(
      toolkit::file_modes_option(parse_store_uri("yaml:/x/s.yml?dir_mode=0o755&file_mode=644")),
      (FileModes{0644, 0755}));
}

TEST(FileModesOption, ErrorQuotesTheConfigStringAndNamesTheOption) {
  try {
    toolkit::file_modes_option(parse_store_uri("yaml:/x/s.yml?file_mode=0640&dir_mode=0775"));
    FAIL() << "dir_mode=0775 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config);
    EXPECT_EQ(std::string(e.what()),
              "config string \"yaml:/x/s.yml?file_mode=0640&dir_mode=0775\": option "
              "dir_mode=\"0775\" is invalid; it lets the group or others write (0020): a store's "
              "files may be shared for reading only; use a mode such as 0750");
  }
}

// Every file backend refuses a bad mode when it is opened, naming the
// option, and creates nothing.
TEST(FileModesOption, StoreOpenRefusesABadModeNamingTheOption) {
  testing::TempDir dir("file-modes");
  for (const auto& info : registered_backends()) {
    if (std::find(info.options.begin(), info.options.end(), "file_mode") == info.options.end()) {
      continue;
    }
    const std::string uri =
        info.scheme + ":" + (dir.path() / info.scheme / "state").string() + "?file_mode=0666";
    try {
      Store::open(uri, {.mode = OpenMode::write});
      ADD_FAILURE() << uri << " was opened";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_config) << e.what();
      EXPECT_NE(std::string(e.what()).find("option file_mode=\"0666\" is invalid; it lets the "
                                           "group or others write (0022)"),
                std::string::npos)
          << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir.path() / info.scheme)) << uri;
  }
}

mode_t mode_of(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// WriterLock::acquire() without modes leaves an existing lock file and
// data file as they are, as it always did; with modes it gives them the
// file mode.
TEST(WriterLockModes, OnlyTheAcquireWithModesChangesExistingFiles) {
  testing::TempDir dir("file-modes");
  const auto data = dir.path() / "state";
  const auto lock_file = dir.path() / "state.lock";
  std::ofstream(data) << "x";
  std::ofstream(lock_file) << "";
  std::filesystem::permissions(data, std::filesystem::perms(0644));
  std::filesystem::permissions(lock_file, std::filesystem::perms(0644));
  {
    auto lock = WriterLock::acquire(data, "test store");
    EXPECT_EQ(mode_of(data), 0644u);
    EXPECT_EQ(mode_of(lock_file), 0644u);
  }
  {
    auto lock = WriterLock::acquire(data, "test store", FileModes{0640, 0750});
    EXPECT_EQ(mode_of(data), 0640u);
    EXPECT_EQ(mode_of(lock_file), 0640u);
  }
}

}  // namespace
}  // namespace checkpoint
