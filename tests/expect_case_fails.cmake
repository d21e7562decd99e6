# ctest script: runs one conformance case (both its KeepOpen and Reopen
# runs) of a test program built on a deliberately broken store, and passes
# only if the program ran to its end (no crash) and every run of the case
# failed with a message holding PHRASE: the suite catches the defect where
# it should, for the reason it should.
# DEFECT is the program's CHECKPOINT_BROKEN_DEFECT (tests/broken_store.hpp).
#   cmake -DPROGRAM=... -DDEFECT=... -DCASE=... -DPHRASE=... -DOUTPUT=file.json -P this
foreach(var PROGRAM DEFECT CASE PHRASE OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

file(REMOVE ${OUTPUT})
execute_process(COMMAND ${CMAKE_COMMAND} -E env CHECKPOINT_BROKEN_DEFECT=${DEFECT}
                        ${PROGRAM} "--gtest_filter=*StoreConformance.${CASE}/*"
                        "--gtest_output=json:${OUTPUT}"
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT result STREQUAL "1")
  message(FATAL_ERROR "expected the case ${CASE} to fail (exit status 1); the program ended with "
                      "\"${result}\":\n${output}")
endif()
if(NOT EXISTS ${OUTPUT})
  message(FATAL_ERROR "the program wrote no report:\n${output}")
endif()

file(READ ${OUTPUT} report)
string(JSON suites LENGTH "${report}" testsuites)
set(runs 0)
math(EXPR last_suite "${suites} - 1")
foreach(s RANGE ${last_suite})
  string(JSON tests LENGTH "${report}" testsuites ${s} testsuite)
  math(EXPR last_test "${tests} - 1")
  foreach(t RANGE ${last_test})
    string(JSON name GET "${report}" testsuites ${s} testsuite ${t} name)
    math(EXPR runs "${runs} + 1")
    string(JSON failures ERROR_VARIABLE none LENGTH "${report}" testsuites ${s} testsuite ${t}
           failures)
    if(none OR failures EQUAL 0)
      message(FATAL_ERROR "${name} passed: the conformance suite did not catch the defect")
    endif()
    set(found FALSE)
    math(EXPR last_failure "${failures} - 1")
    foreach(f RANGE ${last_failure})
      string(JSON text GET "${report}" testsuites ${s} testsuite ${t} failures ${f} failure)
      string(FIND "${text}" "${PHRASE}" at)
      if(at GREATER -1)
        set(found TRUE)
      endif()
    endforeach()
    if(NOT found)
      message(FATAL_ERROR "${name} failed, but not with \"${PHRASE}\":\n${output}")
    endif()
    message(STATUS "${name} failed as it should: \"${PHRASE}\"")
  endforeach()
endforeach()
if(runs EQUAL 0)
  message(FATAL_ERROR "no test matched ${CASE}")
endif()
