# checkpoint_conformance_test(NAME SOURCES... [WILL_FAIL])
#
# A test program running the conformance suite: SOURCES hold one
# CHECKPOINT_CONFORMANCE_SUITE line (and, for a backend of your own, its
# code and registration). Each case becomes a ctest test. With WILL_FAIL the
# program is one ctest test that must fail: for stores that are broken on
# purpose. Link more libraries with target_link_libraries(NAME ...).
include_guard(GLOBAL)
include(GoogleTest)

function(checkpoint_conformance_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "WILL_FAIL" "" "")
  add_executable(${name} ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE checkpoint::conformance)
  if(COMMAND checkpoint_warnings)
    checkpoint_warnings(${name})
  endif()
  if(arg_WILL_FAIL)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES WILL_FAIL TRUE)
  else()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 NO_PRETTY_VALUES)
  endif()
endfunction()
