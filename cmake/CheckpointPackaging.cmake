# Debian packages with CPack (`make package`, or `cpack -G DEB` in a build
# directory), one per install component (CheckpointInstall.cmake):
#   libcheckpoint<MAJOR>  the shared library
#   libcheckpoint-dev     headers, static libraries (the library and the
#                         conformance suite), the shared library's link, the
#                         CMake package config and checkpoint.pc
#   checkpointctl         the command-line tool and its man page
# Package dependencies on system libraries come from dpkg-shlibdeps.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME checkpoint)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CHECKPOINT_PACKAGE_MAINTAINER "checkpoint maintainers <checkpoint@localhost>"
    CACHE STRING "The Maintainer field of the Debian packages")
set(CPACK_PACKAGE_CONTACT "${CHECKPOINT_PACKAGE_MAINTAINER}")
# The packages install where the build was configured to (make package: /usr).
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(checkpoint_runtime_package libcheckpoint${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${checkpoint_runtime_package})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
list(JOIN CHECKPOINT_BACKENDS ", " checkpoint_backend_names)
# Each description follows the synopsis CPack takes from the project's
# description.
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "The shared library of checkpoint, which lets log and event
shippers remember where they stopped reading each stream: its C and C++
API, and the backends ${checkpoint_backend_names}.")
# A shlibs file, so that packages built against this one depend on it.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libcheckpoint-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS runtime)
set(CPACK_DEBIAN_DEV_DESCRIPTION "The development files of checkpoint: the headers of its C and
C++ API, the static library, the conformance suite for backends, the CMake
package (find_package(checkpoint)) and the pkg-config file (checkpoint.pc).")
# The static library links the backends' libraries: their -dev packages are
# needed only to link it.
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS
    "libyaml-cpp-dev, nlohmann-json3-dev, libsqlite3-dev, liblmdb-dev, libpq-dev, libgtest-dev")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME checkpointctl)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION "checkpointctl dumps, gets, sets, removes, verifies, converts
and salvages the states of checkpoint stores (Winlogbeat's .winlogbeat.yml
files among them).")
if(CHECKPOINT_DEFAULT_LIBRARY STREQUAL "shared")
  # checkpointctl links libcheckpoint.so.MAJOR: it depends on the runtime
  # package, and dpkg-shlibdeps reads the library where it was built.
  set(CPACK_COMPONENT_TOOLS_DEPENDS runtime)
  if(CMAKE_LIBRARY_OUTPUT_DIRECTORY)
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_LIBRARY_OUTPUT_DIRECTORY})
  else()
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR})
  endif()
endif()

include(CPack)
