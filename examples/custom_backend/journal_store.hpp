// journal:PATH — an example of a backend kept outside the library.
//
// The store is one append-only file. Each commit appends one record that
// holds only what changed (Commit::upserted and Commit::removed) and the
// update_time, then fsyncs: a commit costs O(changes), like a database.
// Loading replays the records. When the log holds many more entries than
// there are states, a commit rewrites it as a single record instead.
//
// A record is
//
//   J <payload length> <crc32 of payload, 8 hex digits>\n<payload>\n
//
// and its payload a sequence of netstrings ("<length>:<bytes>,"): the
// update_time, then per change "+" name record_number timestamp bookmark,
// or "-" name. A crash mid-append leaves a torn last record, which loading
// ignores and the next commit cuts off; the file itself is only ever
// created or rewritten whole (write, fsync, rename, fsync the directory),
// so damage anywhere else is reported as Error{corrupt}.
#pragma once

namespace journal {

// Registers the "journal" scheme and the ".journal" extension with
// checkpoint. Call it once, before opening a journal: store.
void register_backend();

}  // namespace journal
