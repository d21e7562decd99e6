// A check of an existing file before LMDB maps it.
//
// LMDB trusts its data file. It refuses a file whose meta pages are wrong
// (MDB_INVALID), but it maps the file and follows page numbers without
// checking them against the file's size, so a truncated environment kills
// the process with SIGBUS at the first read past the end. This check reads
// the two meta pages and every branch page with pread() (never through a
// mapping) and verifies that each page the trees reach lies inside the file
// and looks like the page it should be. Leaf pages of the named databases
// are not read here (that would read the whole file twice on every open);
// their page numbers are checked, and the store checks each value's bytes
// against the file's size before touching them.
//
// A writer in another process may commit while the check runs and reuse
// pages of the snapshot being walked; a failed walk is therefore retried
// while the newest meta page keeps changing.
#pragma once

#include <filesystem>
#include <string_view>

namespace checkpoint::backends::lmdb {

// Returns if `path` looks like an intact LMDB environment (data file, as
// with MDB_NOSUBDIR). Otherwise throws Error{corrupt} naming `store` and
// what is wrong, or Error{unsupported} for another LMDB data format
// version, or Error{io} if the file cannot be read.
void check_lmdb_file(const std::filesystem::path& path, std::string_view store);

}  // namespace checkpoint::backends::lmdb
