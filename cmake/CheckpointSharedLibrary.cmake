# libcheckpoint.so.MAJOR: the objects of the static library `checkpoint`
# (compiled once, with -fvisibility=hidden), linked with what it links. It
# exports the public C and C++ API only: what the headers mark CHECKPOINT_API
# (checkpoint/export.h). Included once every source and dependency of
# `checkpoint` is known (core/, backends/).
#
# Targets: checkpoint::shared (this), checkpoint::static (`checkpoint`), and
# checkpoint::checkpoint, the one BUILD_SHARED_LIBS picks (static when it is
# off or unset), which checkpointctl and the examples link.
add_library(checkpoint_shared SHARED $<TARGET_OBJECTS:checkpoint>)
add_library(checkpoint::shared ALIAS checkpoint_shared)
# What `checkpoint` links, read when the build is generated, so that a
# backend added later (target_link_libraries(checkpoint PRIVATE ...)) is
# linked here too.
target_link_libraries(checkpoint_shared PRIVATE $<TARGET_PROPERTY:checkpoint,LINK_LIBRARIES>)
target_include_directories(checkpoint_shared
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
         $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include> $<INSTALL_INTERFACE:include>)
set_target_properties(checkpoint_shared PROPERTIES
  OUTPUT_NAME checkpoint
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  EXPORT_NAME shared)
# Every symbol the library uses must be defined by it or a library it links
# (a sanitizer's runtime is left undefined on purpose: the program brings it).
if(NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  target_link_options(checkpoint_shared PRIVATE LINKER:--no-undefined)
endif()

if(BUILD_SHARED_LIBS)
  add_library(checkpoint::checkpoint ALIAS checkpoint_shared)
  set(CHECKPOINT_DEFAULT_LIBRARY shared)
else()
  add_library(checkpoint::checkpoint ALIAS checkpoint)
  set(CHECKPOINT_DEFAULT_LIBRARY static)
endif()

# The pkg-config file of the build tree (the installed one is made by
# CheckpointInstall.cmake): for programs and bindings built and tested
# against this build without installing it (bindings/go's `go test`). It
# names the source and build directories, and the shared library's
# directory as a run path too.
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/pkgconfig/build-tree/checkpoint.pc CONTENT
"Name: checkpoint
Description: ${PROJECT_DESCRIPTION} (build tree)
Version: ${PROJECT_VERSION}
Cflags: -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_BINARY_DIR}/include
Libs: -L$<TARGET_FILE_DIR:checkpoint_shared> -Wl,-rpath,$<TARGET_FILE_DIR:checkpoint_shared> -lcheckpoint
")
