// A check of an existing file before LMDB maps it.
//
// LMDB trusts its data file. It refuses a file whose meta pages are wrong
// (MDB_INVALID), but it maps the file and follows page numbers without
// checking them against the file's size, so a truncated environment kills
// the process with SIGBUS at the first read past the end, and it asserts
// (aborting the process) when a page is not of the kind it expects. This
// check reads the two meta pages and every branch and leaf page with
// pread() (never through a mapping) and verifies that each page the trees
// reach lies inside the file and looks like the page it should be, with
// its nodes and values inside it, and that overflow pages are where their
// values say. A store reads all its leaves at every load anyway; the check
// reads them once more when a process opens the file. The bytes of values
// are not checked here: each value carries its own checksum.
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
