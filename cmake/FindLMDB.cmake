# FindLMDB: the LMDB library (liblmdb; Debian: liblmdb-dev), as the imported
# target LMDB::LMDB. pkg-config's lmdb.pc, when present, gives hints; the
# header and library are then searched for as usual, so CMAKE_PREFIX_PATH
# or LMDB_ROOT point elsewhere.
#
# Sets LMDB_FOUND, LMDB_INCLUDE_DIR, LMDB_LIBRARY and LMDB_VERSION.
# Installed beside checkpoint's package configuration, which finds LMDB
# again for users of the static library.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_LMDB QUIET lmdb)
endif()

find_path(LMDB_INCLUDE_DIR NAMES lmdb.h HINTS ${PC_LMDB_INCLUDE_DIRS})
find_library(LMDB_LIBRARY NAMES lmdb HINTS ${PC_LMDB_LIBRARY_DIRS})

if(LMDB_INCLUDE_DIR AND EXISTS "${LMDB_INCLUDE_DIR}/lmdb.h")
  file(STRINGS "${LMDB_INCLUDE_DIR}/lmdb.h" _lmdb_version_lines
       REGEX "^#define[ \t]+MDB_VERSION_(MAJOR|MINOR|PATCH)[ \t]+[0-9]+")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*#define[ \t]+MDB_VERSION_${_part}[ \t]+([0-9]+).*" "\\1"
           _lmdb_${_part} "${_lmdb_version_lines}")
  endforeach()
  set(LMDB_VERSION "${_lmdb_MAJOR}.${_lmdb_MINOR}.${_lmdb_PATCH}")
  unset(_lmdb_version_lines)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LMDB
  REQUIRED_VARS LMDB_LIBRARY LMDB_INCLUDE_DIR
  VERSION_VAR LMDB_VERSION)

if(LMDB_FOUND AND NOT TARGET LMDB::LMDB)
  add_library(LMDB::LMDB UNKNOWN IMPORTED)
  set_target_properties(LMDB::LMDB PROPERTIES
    IMPORTED_LOCATION "${LMDB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LMDB_INCLUDE_DIR}")
endif()
mark_as_advanced(LMDB_INCLUDE_DIR LMDB_LIBRARY)
