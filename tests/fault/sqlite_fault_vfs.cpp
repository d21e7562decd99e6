#include "tests/fault/sqlite_fault_vfs.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tests/fault/fault_plan.hpp"

namespace checkpoint::fault {
namespace {

sqlite3_vfs* real_vfs = nullptr;

// Our file object, with the real VFS's file object right after it.
struct File {
  sqlite3_file base;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

File* of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

// The code a failed call returns: `code`, or SQLITE_FULL for a full disk.
int failed(int err, int code, bool can_be_full = false) {
  return can_be_full && err == ENOSPC ? SQLITE_FULL : code;
}

int x_close(sqlite3_file* f) { return of(f)->real()->pMethods->xClose(of(f)->real()); }

int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 offset) {
  if (int err = next_call("xRead")) return failed(err, SQLITE_IOERR_READ);
  return of(f)->real()->pMethods->xRead(of(f)->real(), buf, n, offset);
}

int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 offset) {
  if (int err = next_call("xWrite")) return failed(err, SQLITE_IOERR_WRITE, true);
  return of(f)->real()->pMethods->xWrite(of(f)->real(), buf, n, offset);
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int err = next_call("xTruncate")) return failed(err, SQLITE_IOERR_TRUNCATE);
  return of(f)->real()->pMethods->xTruncate(of(f)->real(), size);
}

int x_sync(sqlite3_file* f, int flags) {
  if (int err = next_call("xSync")) return failed(err, SQLITE_IOERR_FSYNC);
  return of(f)->real()->pMethods->xSync(of(f)->real(), flags);
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  if (int err = next_call("xFileSize")) return failed(err, SQLITE_IOERR_FSTAT);
  return of(f)->real()->pMethods->xFileSize(of(f)->real(), size);
}

int x_lock(sqlite3_file* f, int level) {
  return of(f)->real()->pMethods->xLock(of(f)->real(), level);
}

int x_unlock(sqlite3_file* f, int level) {
  return of(f)->real()->pMethods->xUnlock(of(f)->real(), level);
}

int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return of(f)->real()->pMethods->xCheckReservedLock(of(f)->real(), out);
}

int x_file_control(sqlite3_file* f, int op, void* arg) {
  return of(f)->real()->pMethods->xFileControl(of(f)->real(), op, arg);
}

int x_sector_size(sqlite3_file* f) { return of(f)->real()->pMethods->xSectorSize(of(f)->real()); }

int x_device_characteristics(sqlite3_file* f) {
  return of(f)->real()->pMethods->xDeviceCharacteristics(of(f)->real());
}

int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** p) {
  if (int err = next_call("xShmMap")) return failed(err, SQLITE_IOERR_SHMMAP);
  return of(f)->real()->pMethods->xShmMap(of(f)->real(), region, size, extend, p);
}

int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return of(f)->real()->pMethods->xShmLock(of(f)->real(), offset, n, flags);
}

void x_shm_barrier(sqlite3_file* f) { of(f)->real()->pMethods->xShmBarrier(of(f)->real()); }

int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  return of(f)->real()->pMethods->xShmUnmap(of(f)->real(), delete_flag);
}

int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** p) {
  return of(f)->real()->pMethods->xFetch(of(f)->real(), offset, n, p);
}

int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return of(f)->real()->pMethods->xUnfetch(of(f)->real(), offset, p);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  f->pMethods = nullptr;  // SQLite calls xClose only if this is set
  if (int err = next_call("xOpen")) return failed(err, SQLITE_CANTOPEN);
  int rc = real_vfs->xOpen(real_vfs, name, of(f)->real(), flags, out_flags);
  if (rc == SQLITE_OK) f->pMethods = &kMethods;
  return rc;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  if (int err = next_call("xDelete")) return failed(err, SQLITE_IOERR_DELETE);
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}

int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  if (int err = next_call("xAccess")) return failed(err, SQLITE_IOERR_ACCESS);
  return real_vfs->xAccess(real_vfs, name, flags, out);
}

int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}

void* x_dl_open(sqlite3_vfs*, const char* name) { return real_vfs->xDlOpen(real_vfs, name); }
void x_dl_error(sqlite3_vfs*, int n, char* out) { real_vfs->xDlError(real_vfs, n, out); }
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) { real_vfs->xDlClose(real_vfs, handle); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return real_vfs->xRandomness(real_vfs, n, out); }
int x_sleep(sqlite3_vfs*, int micros) { return real_vfs->xSleep(real_vfs, micros); }
int x_current_time(sqlite3_vfs*, double* out) { return real_vfs->xCurrentTime(real_vfs, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xGetLastError(real_vfs, n, out);
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

sqlite3_vfs vfs;

}  // namespace

void install_in_sqlite() {
  if (real_vfs != nullptr) return;
  real_vfs = sqlite3_vfs_find(nullptr);
  if (real_vfs == nullptr || real_vfs->iVersion < 2)
    throw std::runtime_error("no usable SQLite VFS");
  std::memset(&vfs, 0, sizeof vfs);
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(File)) + real_vfs->szOsFile;
  vfs.mxPathname = real_vfs->mxPathname;
  vfs.zName = "checkpoint-faults";
  vfs.xOpen = x_open;
  vfs.xDelete = x_delete;
  vfs.xAccess = x_access;
  vfs.xFullPathname = x_full_pathname;
  vfs.xDlOpen = x_dl_open;
  vfs.xDlError = x_dl_error;
  vfs.xDlSym = x_dl_sym;
  vfs.xDlClose = x_dl_close;
  vfs.xRandomness = x_randomness;
  vfs.xSleep = x_sleep;
  vfs.xCurrentTime = x_current_time;
  vfs.xGetLastError = x_get_last_error;
  vfs.xCurrentTimeInt64 = x_current_time_int64;
  if (sqlite3_vfs_register(&vfs, 1) != SQLITE_OK)
    throw std::runtime_error("cannot register the VFS");
}

}  // namespace checkpoint::fault
