// A SQLite VFS that wraps the default one and asks fault_plan's next_call()
// before each of SQLite's I/O calls: xOpen, xDelete, xAccess, xRead,
// xWrite, xTruncate, xSync, xFileSize and xShmMap. A failed call returns
// the SQLITE_IOERR_* code for it (SQLITE_FULL for a write when the planned
// errno is ENOSPC). Locking calls are left alone: they are not I/O, and
// SQLite reports their failure as "busy".
#pragma once

namespace checkpoint::fault {

// Registers the VFS as SQLite's default, so every connection opened
// afterwards goes through it.
void install_in_sqlite();

}  // namespace checkpoint::fault
