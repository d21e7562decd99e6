// journal:PATH — an example of a backend kept outside the library.
//
// The store is one append-only file. Each commit appends one record that
// holds only what changed (Changes::upserted and Changes::removed) and the
// update_time, then fsyncs: a commit costs O(changes), like a database.
// Loading replays the records. When the log has grown to many times the
// size it had when last written whole, a commit replays it and rewrites it
// as a single record instead.
//
// It is written against the public contract and toolkit only
// (checkpoint/store.hpp, checkpoint/toolkit/): the writer lock is taken
// when the store is opened for writing, before anything is read; a store
// opened for reading creates and locks nothing; every file operation goes
// through the toolkit's system calls, so the conformance suite can cut the
// power in the middle of a commit and check what is left.
//
// A record is
//
//   J <payload length> <crc32 of payload, 8 hex digits>\n<payload>\n
//
// and its payload a sequence of netstrings ("<length>:<bytes>,"): the
// update_time, then per change "*" name record_number timestamp bookmark
// update_time (the state's; "+" without it, as journals written before
// states had one, reads with the record's), or "-" name. A crash mid-append leaves a torn last
// record, which loading ignores and the next commit cuts off; the file itself is only ever created
// or rewritten whole (toolkit::write_file_atomically: write, fsync, rename, fsync the directory),
// so damage anywhere else is reported as Error{corrupt}.
#pragma once

#include <checkpoint/registry.hpp>
#include <memory>

namespace journal {

// The "journal" scheme and the ".journal" extension.
checkpoint::BackendInfo backend_info();

// Opens a journal store: the backend's factory.
std::unique_ptr<checkpoint::Store> open(const checkpoint::StoreUri& uri,
                                        const checkpoint::OpenOptions& options);

// Registers the backend with checkpoint, compiled into the program. Call it
// once, before opening a journal: store. (journal_plugin.cpp serves the
// same backend as a plugin instead.)
void register_backend();

}  // namespace journal
