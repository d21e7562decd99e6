# ctest script: `go test` in bindings/go, offline, against this build: cgo
# finds the library through the build tree's checkpoint.pc, and Go's caches
# stay inside the build directory.
#   cmake -DGO=... -DSOURCE_DIR=... -DBUILD_DIR=... -DWORK_DIR=... -P this
foreach(var GO SOURCE_DIR BUILD_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

# Go's build cache does not look into headers outside the package: a
# changed checkpoint.h must still rebuild the cgo code that includes it.
file(SHA256 ${SOURCE_DIR}/include/checkpoint/checkpoint.h header_hash)
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env
          GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local CGO_ENABLED=1
          GOCACHE=${WORK_DIR}/cache GOPATH=${WORK_DIR}/path
          "CGO_CFLAGS=-O2 -g -DCHECKPOINT_HEADER_SHA256=${header_hash}"
          PKG_CONFIG_PATH=${BUILD_DIR}/pkgconfig/build-tree
          ${GO} test -count=1 -v ./...
  WORKING_DIRECTORY ${SOURCE_DIR}/bindings/go
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "go test failed: ${result}")
endif()
