# ctest script: checkpoint with only its YAML backend, where GoogleTest and
# the other backends' packages cannot be found (CMAKE_DISABLE_FIND_PACKAGE_*):
# 1. built as a part of another project with FetchContent (parent/), whose
#    C program links it and finds sqlite: unknown; the conformance suite is
#    not built;
# 2. installed from there: its pkg-config file and CMake config name
#    yaml-cpp and none of the others;
# 3. found with find_package() (consumer/) and linked, the default library,
#    the shared one and the static one;
# 4. found where yaml-cpp cannot be found either: the shared library still
#    is (COMPONENTS shared), since only the static one links yaml-cpp.
#   cmake -DSOURCE_DIR=... -DWORK_DIR=... -DCC=... -DCXX=... -P this
cmake_minimum_required(VERSION 3.22)
foreach(var SOURCE_DIR WORK_DIR CC CXX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(unfindable)
foreach(package GTest SQLite3 LMDB nlohmann_json PostgreSQL)
  list(APPEND unfindable -DCMAKE_DISABLE_FIND_PACKAGE_${package}=ON)
endforeach()
# No build type: the quickest compile.
set(compilers -DCMAKE_C_COMPILER=${CC} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE output
                  ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "${command}\nfailed (${result}):\n${output}")
  endif()
endfunction()

# 1. A part of another project.
set(parent ${WORK_DIR}/parent)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/packaging/parent -B ${parent} ${compilers}
    -DCHECKPOINT_SOURCE_DIR=${SOURCE_DIR} -DCHECKPOINT_WITH_JSON=OFF -DCHECKPOINT_WITH_SQLITE=OFF
    -DCHECKPOINT_WITH_LMDB=OFF -DCHECKPOINT_WITH_POSTGRESQL=OFF ${unfindable}
    -DCHECKPOINT_INSTALL=ON -DCMAKE_INSTALL_PREFIX=${prefix})
run(${CMAKE_COMMAND} --build ${parent} --parallel 2)
run(${parent}/c_program ${WORK_DIR}/parent.yml sqlite:${WORK_DIR}/state.db)
file(GLOB_RECURSE conformance ${parent}/*checkpoint_conformance*.a)
if(conformance)
  message(FATAL_ERROR "the conformance suite was built without GoogleTest: ${conformance}")
endif()

# 2. Installed.
run(${CMAKE_COMMAND} --install ${parent})
file(GLOB_RECURSE pc ${prefix}/*/checkpoint.pc)
file(READ ${pc} pc_text)
if(NOT pc_text MATCHES "Libs.private: -lyaml-cpp -lstdc\\+\\+" OR pc_text MATCHES "sqlite|lmdb|-lpq")
  message(FATAL_ERROR "${pc}:\n${pc_text}")
endif()
file(GLOB_RECURSE config ${prefix}/*/checkpointConfig.cmake)
file(READ ${config} config_text)
if(NOT config_text MATCHES "IN ITEMS Threads;yaml-cpp\\)")
  message(FATAL_ERROR "${config} looks for other packages than Threads and yaml-cpp")
endif()

# 3. Found, each library linked.
set(consumer ${WORK_DIR}/consumer)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/packaging/consumer -B ${consumer} ${compilers}
    -DCMAKE_PREFIX_PATH=${prefix} -DCHECKPOINT_SOURCE_DIR=${SOURCE_DIR} ${unfindable}
    -DCHECKPOINT_COMPONENTS=shared,static -DCHECKPOINT_LIBRARIES=checkpoint,shared,static)
run(${CMAKE_COMMAND} --build ${consumer} --parallel 2)
foreach(library checkpoint shared static)
  run(${consumer}/c_program_${library} ${WORK_DIR}/${library}.yml sqlite:${WORK_DIR}/state.db)
endforeach()

# 4. Without yaml-cpp: the shared library only.
set(consumer ${WORK_DIR}/consumer_shared)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/packaging/consumer -B ${consumer} ${compilers}
    -DCMAKE_PREFIX_PATH=${prefix} -DCHECKPOINT_SOURCE_DIR=${SOURCE_DIR} ${unfindable}
    -DCMAKE_DISABLE_FIND_PACKAGE_yaml-cpp=ON -DCHECKPOINT_COMPONENTS=shared
    -DCHECKPOINT_LIBRARIES=shared)
run(${CMAKE_COMMAND} --build ${consumer} --parallel 2)
run(${consumer}/c_program_shared ${WORK_DIR}/without_yaml_cpp.yml)
message(STATUS "yaml-only: built as a part of a project, installed, found and linked")
