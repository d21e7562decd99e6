# cmake --install: the headers, both libraries, a CMake package config and a
# pkg-config file, so that
#   find_package(checkpoint CONFIG REQUIRED)   gives checkpoint::checkpoint (and
#     checkpoint::shared, checkpoint::static; checkpoint::conformance when
#     GoogleTest is found), and
#   cc prog.c $(pkg-config --cflags --libs checkpoint)   builds a C program.
# Every rule names its component, which CPack makes a Debian package of
# (CheckpointPackaging.cmake): runtime (the shared library), dev (headers,
# static libraries, the shared library's link, CMake and pkg-config files)
# and tools (checkpointctl, its man page).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CHECKPOINT_CONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/checkpoint)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/checkpoint
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
        PATTERN "*.in" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/include/checkpoint/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/checkpoint COMPONENT dev)

# Each library in an export set of its own: a program that links the shared
# library needs none of the packages the static one links.
install(TARGETS checkpoint_shared EXPORT checkpointSharedTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
install(EXPORT checkpointSharedTargets NAMESPACE checkpoint::
        DESTINATION ${CHECKPOINT_CONFIG_DIR} COMPONENT dev)
install(TARGETS checkpoint EXPORT checkpointStaticTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(EXPORT checkpointStaticTargets NAMESPACE checkpoint::
        DESTINATION ${CHECKPOINT_CONFIG_DIR} COMPONENT dev)

# The suite in an export set of its own: it needs GoogleTest, which users of
# the library alone need not have. In this tree it links the static library,
# as the tests do; installed, it links the library checkpoint::checkpoint
# names (the export writes its name, checkpoint::shared or ::static), which
# its users link too: a program must hold one copy of the library (one
# registry, one table of system calls), not one of each kind.
if(TARGET checkpoint_conformance)
  get_target_property(conformance_links checkpoint_conformance INTERFACE_LINK_LIBRARIES)
  list(TRANSFORM conformance_links REPLACE "^checkpoint$"
       "$<BUILD_INTERFACE:checkpoint>;$<INSTALL_INTERFACE:checkpoint::checkpoint>")
  set_target_properties(checkpoint_conformance PROPERTIES
                        INTERFACE_LINK_LIBRARIES "${conformance_links}")
  install(TARGETS checkpoint_conformance EXPORT checkpointConformanceTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
  install(EXPORT checkpointConformanceTargets NAMESPACE checkpoint::
          DESTINATION ${CHECKPOINT_CONFIG_DIR} COMPONENT dev)
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/CheckpointConformance.cmake
          DESTINATION ${CHECKPOINT_CONFIG_DIR} COMPONENT dev)
endif()

# Find modules of our own, for dependencies without a CMake config.
file(GLOB checkpoint_find_modules ${PROJECT_SOURCE_DIR}/cmake/Find*.cmake)
if(checkpoint_find_modules)
  install(FILES ${checkpoint_find_modules} DESTINATION ${CHECKPOINT_CONFIG_DIR} COMPONENT dev)
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/checkpointConfig.cmake.in
  ${PROJECT_BINARY_DIR}/checkpointConfig.cmake
  INSTALL_DESTINATION ${CHECKPOINT_CONFIG_DIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/checkpointConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/checkpointConfig.cmake
              ${PROJECT_BINARY_DIR}/checkpointConfigVersion.cmake
        DESTINATION ${CHECKPOINT_CONFIG_DIR} COMPONENT dev)

# pkg-config: `-lcheckpoint` links the shared library. Libs.private lists
# what the static library needs besides (pkg-config --static), as plain
# flags: a Requires.private package would have to be installed even for
# the shared library, since pkg-config reads its Cflags either way.
set(CHECKPOINT_PC_LIBS_PRIVATE)
set(checkpoint_pc_flags_YAML -lyaml-cpp)
set(checkpoint_pc_flags_SQLITE -lsqlite3)
set(checkpoint_pc_flags_LMDB -llmdb)
set(checkpoint_pc_flags_POSTGRESQL -lpq)
foreach(backend YAML JSON SQLITE LMDB POSTGRESQL)
  if(CHECKPOINT_WITH_${backend} AND DEFINED checkpoint_pc_flags_${backend})
    list(APPEND CHECKPOINT_PC_LIBS_PRIVATE ${checkpoint_pc_flags_${backend}})
  endif()
endforeach()
list(APPEND CHECKPOINT_PC_LIBS_PRIVATE -lstdc++ -lm -pthread)
list(JOIN CHECKPOINT_PC_LIBS_PRIVATE " " CHECKPOINT_PC_LIBS_PRIVATE)
# Relocatable: the prefix is found from the file's own place, so the file is
# right wherever the package is unpacked (dpkg -x, a staging directory).
file(RELATIVE_PATH CHECKPOINT_PC_PREFIX
     ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
file(RELATIVE_PATH CHECKPOINT_PC_LIBDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH CHECKPOINT_PC_INCLUDEDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_INCLUDEDIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/checkpoint.pc.in ${PROJECT_BINARY_DIR}/checkpoint.pc
               @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/checkpoint.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# CPack's settings are a whole build's: not when checkpoint is a part of another.
if(PROJECT_IS_TOP_LEVEL)
  include(${PROJECT_SOURCE_DIR}/cmake/CheckpointPackaging.cmake)
endif()
