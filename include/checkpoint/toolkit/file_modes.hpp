// The permissions of a store's files and of the directories it creates,
// for backends that keep their data in files. The built-in ones take them
// from the config-string options file_mode and dir_mode
// (file_modes_option() in options.hpp), so that another user, such as a
// monitoring agent in the store's group, can be allowed to read a store:
//
//   yaml:/var/lib/app/state.yml?file_mode=0640&dir_mode=0750
//
// A mode is applied whatever the umask: a file or directory is created
// and then chmod()ed to it. It applies to every file the store makes or
// has a library make (data file, PATH.lock, FILE.new, SQLite's -wal, -shm
// and -journal, LMDB's -lock) and to the directories it creates; a
// directory that exists already is left as it is (it may be shared, such
// as /var/lib). A writer, when it opens the store, also gives the store's
// existing files the mode (so changing the option takes effect at the next
// start); a reader changes nothing.
//
// No mode may let the group or others write (any of 0022), and the owner
// must be able to read and write a file (0600) and read, write and enter a
// directory (0700): the store would not be safe, or not usable, otherwise.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "checkpoint/export.h"

namespace checkpoint::toolkit {

struct FileModes {
  mode_t file = 0600;  // data, lock, temporary and companion files
  mode_t dir = 0750;   // directories the store creates
  bool operator==(const FileModes&) const = default;
};

enum class ModeOf { file, directory };

// The mode that `text` spells in octal: "0640", "640" or "0o640". Not an
// octal number, bits beyond 0777 (setuid, setgid, sticky), a mode that
// lets the group or others write (0022), or one that the owner could not
// use (see above): Error{invalid_config} "option OPTION="TEXT" is invalid;
// WHY", with WHY alone in ErrorDetails::reason.
CHECKPOINT_API mode_t parse_mode(std::string_view option, std::string_view text, ModeOf of);

// A mode as the options spell it: "0640".
CHECKPOINT_API std::string mode_text(mode_t mode);

// Gives the file at `path` the permission bits `mode` if it is a regular
// file with other bits; never through a symbolic link, and nothing happens
// if it is missing or is not a regular file (the store refuses such files
// in its own words). For a writer opening a store whose files exist. A
// failure (another user's file): Error{io} naming `store` and the file.
CHECKPOINT_API void apply_file_mode(const std::filesystem::path& path, mode_t mode,
                                    std::string_view store);

}  // namespace checkpoint::toolkit
