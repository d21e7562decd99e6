# Winlogbeat reads the YAML files checkpoint writes, per-state update_time
# keys included (yaml.v2 ignores unknown keys): checkpointctl converts a
# file Winlogbeat wrote into checkpoint's layout, and Winlogbeat's own
# struct and reader (fixtures/yaml/winlogbeat.go, yaml.v2 from Debian) load
# both; they must read the same update time and the same states (in name
# order, which checkpoint writes).
#
#   cmake -DGO=... -DCTL=... -DFIXTURES=... -DWORK_DIR=... -P winlogbeat_reads_ours.cmake
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(ours ${WORK_DIR}/ours.yml)
execute_process(COMMAND ${CTL} convert ${FIXTURES}/winlogbeat_tricky.yml yaml:${ours}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "checkpointctl convert failed (${rc}): ${out}${err}")
endif()
file(READ ${ours} text)
string(FIND "${text}" "  update_time: " at)
if(at EQUAL -1)
  message(FATAL_ERROR "the converted file has no per-state update_time:\n${text}")
endif()

set(go_env GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOTOOLCHAIN=local
           GOCACHE=${WORK_DIR}/cache GOFLAGS=)
foreach(which winlogbeat ours)
  if(which STREQUAL "winlogbeat")
    set(file ${FIXTURES}/winlogbeat_tricky.yml)
  else()
    set(file ${ours})
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${go_env} ${GO} run winlogbeat.go load ${file}
                  WORKING_DIRECTORY ${FIXTURES}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE read_${which} ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "Winlogbeat's reader failed on ${file} (${rc}): ${read_${which}}${err}")
  endif()
endforeach()
# checkpoint writes the states sorted by name: compare the lines sorted.
foreach(which winlogbeat ours)
  string(REPLACE ";" "\\;" escaped "${read_${which}}")
  string(REPLACE "\n" ";" lines_${which} "${escaped}")
  list(SORT lines_${which})
endforeach()
if(NOT lines_winlogbeat STREQUAL lines_ours)
  message(FATAL_ERROR "Winlogbeat reads checkpoint's file differently from its own:\n"
                      "its own:\n${read_winlogbeat}\ncheckpoint's:\n${read_ours}")
endif()
string(REGEX MATCHALL "\n" lines "${read_ours}")
list(LENGTH lines count)
message(STATUS "Winlogbeat's reader reads the same ${count} lines from both files")
