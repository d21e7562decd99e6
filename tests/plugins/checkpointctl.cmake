# ctest script: checkpointctl --plugin with the two example plugins. A yaml
# store with odd names and values is converted to each plugin's store and
# back, and the result compared with the original byte for byte; verify,
# dump and salvage read the plugin's store; CHECKPOINT_PLUGINS loads a
# plugin too, and names itself and the file when it cannot.
#   cmake -DCHECKPOINTCTL=... -DLINES_PLUGIN=... -DJOURNAL_PLUGIN=... -DWORK_DIR=... -P this
cmake_minimum_required(VERSION 3.22)
foreach(var CHECKPOINTCTL LINES_PLUGIN JOURNAL_PLUGIN WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# Runs checkpointctl ARGS...; fails unless it exits `expected`; its output
# in `out`, its errors in `err`.
function(ctl expected)
  execute_process(COMMAND ${CHECKPOINTCTL} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE o
                  ERROR_VARIABLE e)
  if(NOT rc STREQUAL expected)
    message(FATAL_ERROR "checkpointctl ${ARGN}: exit ${rc}, expected ${expected}\n${o}\n${e}")
  endif()
  set(out "${o}" PARENT_SCOPE)
  set(err "${e}" PARENT_SCOPE)
endfunction()

function(expect_match text pattern what)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: expected to match \"${pattern}\":\n${text}")
  endif()
endfunction()

# The source: names with spaces, slashes and non-ASCII letters, a bookmark
# of several lines, the extremes of the record number and of time.
set(source ${WORK_DIR}/source.yml)
ctl(0 set ${source} Application -r 250502 -t 2017-12-05T15:16:02.6721303Z)
ctl(0 set ${source} "Microsoft-Windows-Sysmon/Operational" -r 18446744073709551615
    -t 9999-12-31T23:59:59.999999999Z -b "<BookmarkList>\r\n  <Bookmark RecordId='204'/>\r\n</BookmarkList>")
ctl(0 set ${source} "Système ünïcode" -r 0 -t 0001-01-01T00:00:00Z -b "<b/>")
file(READ ${source} original)

set(plugin_variables LINES_PLUGIN JOURNAL_PLUGIN)
set(schemes lines journal)
foreach(plugin scheme IN ZIP_LISTS plugin_variables schemes)
  set(plugin_file ${${plugin}})
  set(store ${scheme}:${WORK_DIR}/state.${scheme})
  set(back ${WORK_DIR}/back-${scheme}.yml)

  # The backend is listed with the file it came from.
  ctl(0 --plugin ${plugin_file} backends)
  expect_match("${out}" "${scheme}\n  [^\n]*\n  options: [^\n]*\n  extensions: [^\n]*\n  from:       ${plugin_file}\n"
               "backends with ${scheme}")
  ctl(0 --plugin ${plugin_file} backends --format json)
  expect_match("${out}" "\"origin\": \"${plugin_file}\"" "backends --format json")
  # Without the plugin the scheme is unknown.
  ctl(2 dump ${store})
  expect_match("${err}" "unknown scheme \"${scheme}\"" "dump without --plugin")

  ctl(0 --plugin ${plugin_file} convert ${source} ${store})
  ctl(0 --plugin ${plugin_file} convert ${store} ${back})
  file(READ ${back} copy)
  if(NOT copy STREQUAL original)
    message(FATAL_ERROR "yaml -> ${scheme} -> yaml changed the store:\n${original}\n---\n${copy}")
  endif()

  ctl(0 --plugin ${plugin_file} verify ${store})
  expect_match("${out}" "3 states" "verify ${scheme}")
  ctl(0 --plugin ${plugin_file} dump ${store} --format yaml)
  set(plugin_dump "${out}")
  ctl(0 dump ${source} --format yaml)
  if(NOT plugin_dump STREQUAL out)
    message(FATAL_ERROR "dump of the ${scheme} store differs:\n${plugin_dump}\n---\n${out}")
  endif()
  ctl(0 --plugin ${plugin_file} salvage ${store} yaml:${WORK_DIR}/salvaged-${scheme}.yml)
  file(READ ${WORK_DIR}/salvaged-${scheme}.yml salvaged)
  if(NOT salvaged STREQUAL original)
    message(FATAL_ERROR "salvage of the ${scheme} store:\n${salvaged}")
  endif()
  # A store of the plugin is found by its extension too.
  ctl(0 --plugin ${plugin_file} get ${WORK_DIR}/state.${scheme} Application)
  expect_match("${out}" "record_number: 250502" "get by extension")
endforeach()

# Damage: verify reports it, salvage exits 3 (lost states).
file(READ ${WORK_DIR}/state.lines lines_text)
string(REPLACE "state " "stat! " damaged "${lines_text}")
file(WRITE ${WORK_DIR}/damaged.lines "${damaged}")
ctl(1 --plugin ${LINES_PLUGIN} verify lines:${WORK_DIR}/damaged.lines)
expect_match("${out}${err}" "lines store ${WORK_DIR}/damaged.lines" "verify of a damaged store")
ctl(3 --plugin ${LINES_PLUGIN} salvage lines:${WORK_DIR}/damaged.lines yaml:${WORK_DIR}/lost.yml)

# Both plugins at once; loading one twice is no error.
ctl(0 --plugin ${LINES_PLUGIN} --plugin ${JOURNAL_PLUGIN} --plugin ${LINES_PLUGIN}
    convert lines:${WORK_DIR}/state.lines journal:${WORK_DIR}/both.journal)

# Refused: a missing file, a bare name, the same scheme from two files.
ctl(2 --plugin ${WORK_DIR}/missing.so backends)
expect_match("${err}" "plugin ${WORK_DIR}/missing.so: no such file" "a missing plugin")
ctl(2 --plugin liblines_plugin.so backends)
expect_match("${err}" "\\./liblines_plugin.so" "a bare name")
file(COPY_FILE ${LINES_PLUGIN} ${WORK_DIR}/copy.so)
ctl(2 --plugin ${LINES_PLUGIN} --plugin ${WORK_DIR}/copy.so backends)
expect_match("${err}" "plugin ${WORK_DIR}/copy.so: scheme \"lines\" is already registered \\(${LINES_PLUGIN}\\)"
             "a scheme taken by another plugin")

# CHECKPOINT_PLUGINS: a colon-separated list, loaded at the first use.
execute_process(COMMAND ${CMAKE_COMMAND} -E env "CHECKPOINT_PLUGINS=${LINES_PLUGIN}:${JOURNAL_PLUGIN}"
                        ${CHECKPOINTCTL} dump ${WORK_DIR}/state.journal
                RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
if(NOT rc EQUAL 0 OR NOT o MATCHES "3 states")
  message(FATAL_ERROR "CHECKPOINT_PLUGINS: exit ${rc}\n${o}\n${e}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env "CHECKPOINT_PLUGINS=${WORK_DIR}/missing.so"
                        ${CHECKPOINTCTL} dump ${source}
                RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
if(rc EQUAL 0 OR NOT e MATCHES "CHECKPOINT_PLUGINS: plugin ${WORK_DIR}/missing.so: no such file")
  message(FATAL_ERROR "CHECKPOINT_PLUGINS with a missing file: exit ${rc}\n${o}\n${e}")
endif()
