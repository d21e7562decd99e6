# ctest script: installs checkpoint into a prefix under the build tree, then
# builds against it with find_package(), as a user outside this repository
# would: examples/custom_backend (and runs its tests, the conformance suite
# among them, also through its plugin), examples/c_plugin (headers only),
# and checkpointctl's sources, which use the public headers only (and runs
# it on a store, and with both plugins).
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... [-DCXX=...] [-DBUILD_TYPE=...] -P this
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${prefix})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
                OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)

set(example_build ${WORK_DIR}/build)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/custom_backend -B ${example_build}
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
                        -DCMAKE_CXX_COMPILER=${CXX}
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${example_build} --parallel 2
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${example_build} --parallel 2
                        --output-on-failure
                COMMAND_ERROR_IS_FATAL ANY)

# The plugin written in C, against the installed headers.
set(c_plugin_build ${WORK_DIR}/c_plugin)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/c_plugin -B ${c_plugin_build}
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${c_plugin_build} COMMAND_ERROR_IS_FATAL ANY)

# checkpointctl from its sources, against the installed headers and library.
set(ctl_build ${WORK_DIR}/checkpointctl)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tools/checkpointctl -B ${ctl_build}
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
                        -DCMAKE_CXX_COMPILER=${CXX}
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${ctl_build} --parallel 2
                COMMAND_ERROR_IS_FATAL ANY)
set(store ${WORK_DIR}/state.yml)
file(REMOVE ${store} ${store}.lock ${WORK_DIR}/state.db ${WORK_DIR}/state.db.lock)
execute_process(COMMAND ${ctl_build}/checkpointctl set ${store} Application --record-number 7
                        --timestamp 2017-12-05T15:16:02Z
                COMMAND_ERROR_IS_FATAL ANY OUTPUT_QUIET)
execute_process(COMMAND ${ctl_build}/checkpointctl convert ${store} sqlite:${WORK_DIR}/state.db
                COMMAND_ERROR_IS_FATAL ANY OUTPUT_QUIET)
execute_process(COMMAND ${ctl_build}/checkpointctl get sqlite:${WORK_DIR}/state.db Application
                OUTPUT_VARIABLE got COMMAND_ERROR_IS_FATAL ANY)
if(NOT got MATCHES "record_number: 7")
  message(FATAL_ERROR "checkpointctl built against the installed package printed:\n${got}")
endif()

# Both plugins, built against the installed package, in checkpointctl built
# against it too: a store copied through each and compared.
file(REMOVE ${WORK_DIR}/state.lines ${WORK_DIR}/state.lines.lock ${WORK_DIR}/state.journal
     ${WORK_DIR}/state.journal.lock)
execute_process(COMMAND ${ctl_build}/checkpointctl --plugin ${c_plugin_build}/liblines_plugin.so
                        --plugin ${example_build}/libjournal_plugin.so
                        convert ${store} lines:${WORK_DIR}/state.lines
                COMMAND_ERROR_IS_FATAL ANY OUTPUT_QUIET)
execute_process(COMMAND ${ctl_build}/checkpointctl --plugin ${c_plugin_build}/liblines_plugin.so
                        --plugin ${example_build}/libjournal_plugin.so
                        convert lines:${WORK_DIR}/state.lines journal:${WORK_DIR}/state.journal
                COMMAND_ERROR_IS_FATAL ANY OUTPUT_QUIET)
execute_process(COMMAND ${ctl_build}/checkpointctl --plugin ${example_build}/libjournal_plugin.so
                        get journal:${WORK_DIR}/state.journal Application
                OUTPUT_VARIABLE got COMMAND_ERROR_IS_FATAL ANY)
if(NOT got MATCHES "record_number: 7")
  message(FATAL_ERROR "a state copied through both plugins reads back as:\n${got}")
endif()
