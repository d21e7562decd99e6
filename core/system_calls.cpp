#include "checkpoint/toolkit/system_calls.hpp"

#include <fcntl.h>
#include <stdio.h>  // rename
#include <sys/file.h>
#include <unistd.h>

namespace checkpoint::toolkit {
namespace {

const SystemCalls kReal = {
    [](const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); },
    ::read,
    ::write,
    ::fsync,
    ::close,
    ::rename,
    ::unlink,
    ::mkdir,
    ::chmod,
    ::fchmod,
    [](const char* path, struct stat* st) { return ::stat(path, st); },
    ::flock,
    ::ftruncate,
    [](int fd, struct stat* st) { return ::fstat(fd, st); },
    [](const char* path, struct stat* st) { return ::lstat(path, st); },
};

SystemCalls current = kReal;

}  // namespace

const SystemCalls& sys() noexcept { return current; }

const SystemCalls& real_system_calls() noexcept { return kReal; }

void set_system_calls(const SystemCalls& calls) noexcept { current = calls; }

}  // namespace checkpoint::toolkit
