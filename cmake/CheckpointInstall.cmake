# cmake --install: the headers, the libraries and a package config, so that
# find_package(checkpoint CONFIG REQUIRED) gives checkpoint::checkpoint and
# (when GoogleTest is found) checkpoint::conformance.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CHECKPOINT_CONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/checkpoint)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/checkpoint
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS checkpoint EXPORT checkpointTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT checkpointTargets NAMESPACE checkpoint:: DESTINATION ${CHECKPOINT_CONFIG_DIR})

# The suite in an export set of its own: it needs GoogleTest, which users of
# the library alone need not have.
if(TARGET checkpoint_conformance)
  install(TARGETS checkpoint_conformance EXPORT checkpointConformanceTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT checkpointConformanceTargets NAMESPACE checkpoint::
          DESTINATION ${CHECKPOINT_CONFIG_DIR})
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/CheckpointConformance.cmake
          DESTINATION ${CHECKPOINT_CONFIG_DIR})
endif()

# Find modules of our own, for dependencies without a CMake config.
file(GLOB checkpoint_find_modules ${PROJECT_SOURCE_DIR}/cmake/Find*.cmake)
if(checkpoint_find_modules)
  install(FILES ${checkpoint_find_modules} DESTINATION ${CHECKPOINT_CONFIG_DIR})
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/checkpointConfig.cmake.in
  ${PROJECT_BINARY_DIR}/checkpointConfig.cmake
  INSTALL_DESTINATION ${CHECKPOINT_CONFIG_DIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/checkpointConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/checkpointConfig.cmake
              ${PROJECT_BINARY_DIR}/checkpointConfigVersion.cmake
        DESTINATION ${CHECKPOINT_CONFIG_DIR})
