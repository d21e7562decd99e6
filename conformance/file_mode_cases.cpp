// Conformance case: the permissions of a store's files. A backend that
// takes the options file_mode and dir_mode (checkpoint/toolkit/file_modes.hpp)
// must give every file it creates, or has a library create, exactly
// file_mode and every directory it creates exactly dir_mode, whatever the
// umask; a writer gives the store's existing files the configured mode;
// a reader changes none. A backend without the options (no files) is
// skipped. The umask belongs to the whole process, so the case runs in a
// child process, which sets it.
#include <sys/stat.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint/conformance.hpp"
#include "checkpoint/error.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/toolkit/file_modes.hpp"
#include "conformance/child.hpp"
#include "conformance/values.hpp"

namespace checkpoint::conformance {

int link_file_mode_cases() { return 0; }

namespace {

using toolkit::mode_text;

// The backend's BackendInfo::options list both options.
bool takes_file_modes(const std::string& uri) {
  const std::string scheme = parse_store_uri(uri).scheme;
  for (const auto& info : registered_backends()) {
    if (info.scheme != scheme) continue;
    auto takes = [&](const char* key) {
      return std::find(info.options.begin(), info.options.end(), key) != info.options.end();
    };
    return takes("file_mode") && takes("dir_mode");
  }
  return false;
}

std::string with_options(const std::string& uri, const std::string& options) {
  if (options.empty()) return uri;
  // (std::find rather than std::string::find: a program that links the
  // suite's library only for the power cut model must not pull this file
  // in to resolve a std::string member that GoogleTest uses.)
  const bool has_options = std::find(uri.begin(), uri.end(), '?') != uri.end();
  return uri + (has_options ? "&" : "?") + options;
}

// Every entry under `top` (and `top`) whose mode is not `file_mode` (a
// regular file) or `dir_mode` (a directory), one line each; `when` says at
// which step. No file at all is a problem too: the store keeps files.
std::string wrong_modes(const std::filesystem::path& top, mode_t file_mode, mode_t dir_mode,
                        const std::string& when) {
  std::ostringstream out;
  int files = 0;
  auto check = [&](const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;  // gone meanwhile
    const mode_t mode = st.st_mode & 07777;
    if (S_ISREG(st.st_mode)) {
      ++files;
      if (mode != file_mode) {
        out << "\n    " << when << ": the file " << path.string() << " has mode " << mode_text(mode)
            << ", not the configured " << mode_text(file_mode);
      }
    } else if (S_ISDIR(st.st_mode) && mode != dir_mode) {
      out << "\n    " << when << ": the directory " << path.string() << " has mode "
          << mode_text(mode) << ", not the configured " << mode_text(dir_mode);
    }
  };
  check(top);
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(top, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    check(it->path());
  }
  if (ec) out << "\n    " << when << ": cannot list " << top.string() << ": " << ec.message();
  if (files == 0) out << "\n    " << when << ": no file under " << top.string();
  return out.str();
}

TEST_P(StoreConformance, FilesGetTheConfiguredModesWhateverTheUmask) {
  if (!takes_file_modes(uri())) GTEST_SKIP() << where() << " takes no file_mode and dir_mode";
  // Each store in a directory of its own that does not exist yet, so that
  // the store creates it (and whatever the config string puts below it).
  const std::filesystem::path configured = dir() / "configured";
  const std::filesystem::path defaults = dir() / "defaults";
  const std::string configured_uri =
      with_options(GetParam().uri_for_dir(configured), "file_mode=0640&dir_mode=0755");
  const std::string defaults_uri = GetParam().uri_for_dir(defaults);
  const bool reopen = GetParam().reopen;

  ChildOutcome outcome = run_in_child([&] {
    std::string problems;
    std::int64_t second = 1'700'000'000;
    // Two commits through one writer, or through two when reopening; the
    // files are looked at while the writer is open (a library's companion
    // files exist then) and after it closed.
    auto write = [&](const std::string& uri, mode_t file_mode, mode_t dir_mode,
                     const std::filesystem::path& top, const std::string& what) {
      auto store = Store::open(uri, {.mode = OpenMode::write});
      for (int i = 0; i < 2; ++i) {
        if (i == 1 && reopen) {
          store.reset();
          store = Store::open(uri, {.mode = OpenMode::write});
        }
        const EventLogState one[] = {state("stream-" + std::to_string(i), 7)};
        store->commit(Changes{Timestamp::from_unix(++second, 0), one, {}});
      }
      problems += wrong_modes(top, file_mode, dir_mode, what + ", the writer open");
      store.reset();
      problems += wrong_modes(top, file_mode, dir_mode, what + ", the writer closed");
    };

    // A umask that would take away what the options grant.
    ::umask(077);
    write(configured_uri, 0640, 0755, configured, "file_mode=0640&dir_mode=0755 under umask 077");
    // A umask that would add what the defaults deny.
    ::umask(0);
    write(defaults_uri, 0600, 0750, defaults, "default modes under umask 000");

    // A reader changes nothing, whatever modes its config string names.
    auto reader = Store::open(configured_uri, {.mode = OpenMode::read});
    reader->load();
    reader.reset();
    problems += wrong_modes(configured, 0640, 0755, "a reader with the store's modes");
    reader = Store::open(with_options(defaults_uri, "file_mode=0640"), {.mode = OpenMode::read});
    reader->load();
    reader.reset();
    problems += wrong_modes(defaults, 0600, 0750, "a reader with file_mode=0640");

    // A writer gives existing files the mode it is configured with; the
    // directories, which it did not create, stay as they are.
    ::umask(022);
    write(with_options(defaults_uri, "file_mode=0640&dir_mode=0700"), 0640, 0750, defaults,
          "file_mode=0640 on a store of 0600 files");
    return problems.empty() ? std::string("fine") : problems;
  });
  EXPECT_TRUE(outcome.finished && outcome.text == "fine") << where() << ":" << outcome.text;
}

}  // namespace
}  // namespace checkpoint::conformance
