# ctest script: the Debian packages of this build (CPack, as `make package`
# makes them), unpacked into a scratch root with dpkg -x (nothing is
# installed on the system), hold what they should, and a C program builds
# against them with `cc prog.c $(pkg-config --cflags --libs checkpoint)`
# and runs, as does the packaged checkpointctl.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCC=... -DCPACK=... -P this
cmake_minimum_required(VERSION 3.22)
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR CC CPACK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${CPACK} -G DEB --config ${BUILD_DIR}/CPackConfig.cmake -B ${WORK_DIR}/debs
                OUTPUT_VARIABLE cpack_output ERROR_VARIABLE cpack_output RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cpack failed:\n${cpack_output}")
endif()

file(GLOB debs ${WORK_DIR}/debs/*.deb)
set(packages)
set(root ${WORK_DIR}/root)
foreach(deb IN LISTS debs)
  execute_process(COMMAND dpkg-deb --field ${deb} Package OUTPUT_VARIABLE package
                  OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND dpkg-deb --field ${deb} Depends OUTPUT_VARIABLE depends_${package}
                  OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  list(APPEND packages ${package})
  execute_process(COMMAND dpkg -x ${deb} ${root} COMMAND_ERROR_IS_FATAL ANY)
endforeach()
list(SORT packages)
if(NOT packages MATCHES "^checkpointctl;libcheckpoint-dev;libcheckpoint[0-9]+$")
  message(FATAL_ERROR "packages made: ${packages}")
endif()
list(GET packages 2 runtime)
if(NOT depends_libcheckpoint-dev MATCHES "${runtime} \\(= ")
  message(FATAL_ERROR "libcheckpoint-dev depends on: ${depends_libcheckpoint-dev}")
endif()
# The system libraries of the backends, found by dpkg-shlibdeps.
if(NOT depends_${runtime} MATCHES "libyaml-cpp" OR NOT depends_${runtime} MATCHES "libsqlite3")
  message(FATAL_ERROR "${runtime} depends on: ${depends_${runtime}}")
endif()

# What each package holds, wherever the build put its prefix: one file named
# NAME (a glob) whose path matches WHERE.
function(find_one var name where)
  file(GLOB_RECURSE candidates LIST_DIRECTORIES false ${root}/${name})
  set(found)
  foreach(candidate IN LISTS candidates)
    if(candidate MATCHES "${where}")
      list(APPEND found ${candidate})
    endif()
  endforeach()
  list(LENGTH found count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "the packages hold ${count} files ${name} in ${where}: ${found}")
  endif()
  set(${var} ${found} PARENT_SCOPE)
endfunction()
find_one(soname "libcheckpoint.so.[0-9]" "/lib/")
find_one(static_library "libcheckpoint.a" "/lib/")
find_one(pc "checkpoint.pc" "/lib/.*pkgconfig/")
find_one(config "checkpointConfig.cmake" "/lib/.*cmake/checkpoint/")
find_one(header "checkpoint.h" "/include/checkpoint/")
find_one(version_header "version.h" "/include/checkpoint/")
find_one(ctl "checkpointctl" "/bin/")
find_one(man_page "checkpointctl.1.gz" "/share/man/man1/")
find_one(bash_completion "checkpointctl" "/share/bash-completion/completions/")
find_one(zsh_completion "_checkpointctl" "/share/zsh/vendor-completions/")
find_one(fish_completion "checkpointctl.fish" "/share/fish/vendor_completions.d/")
get_filename_component(libdir ${soname} DIRECTORY)
get_filename_component(pc_dir ${pc} DIRECTORY)

# The user's command, with pkg-config reading only the unpacked packages.
set(program ${WORK_DIR}/c_program)
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${pc_dir} PKG_CONFIG_PATH=
          sh -c "${CC} -std=c11 -Wall -Wextra -pedantic -Werror \"$0\" -o \"$1\" \$(pkg-config --cflags --libs checkpoint)"
          ${SOURCE_DIR}/tests/packaging/c_program.c ${program}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cc prog.c $(pkg-config --cflags --libs checkpoint) failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir}
                        ${program} ${WORK_DIR}/state.yml
                OUTPUT_VARIABLE output RESULT_VARIABLE result)
if(NOT result EQUAL 0 OR NOT output MATCHES "ok")
  message(FATAL_ERROR "the C program built against the packages failed: ${output}")
endif()
# It runs with the packaged library, not this build's.
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ldd ${program}
                OUTPUT_VARIABLE ldd)
if(NOT ldd MATCHES "libcheckpoint.so.[0-9]+ => ${libdir}/")
  message(FATAL_ERROR "the C program does not load the packaged library:\n${ldd}")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${ctl} --version
                OUTPUT_VARIABLE version RESULT_VARIABLE result)
if(NOT result EQUAL 0 OR NOT version MATCHES "^checkpointctl [0-9]+\\.[0-9]+\\.[0-9]+")
  message(FATAL_ERROR "the packaged checkpointctl --version: ${version}")
endif()
execute_process(COMMAND gzip -dc ${man_page} OUTPUT_VARIABLE page)
if(NOT page MATCHES "\\.TH CHECKPOINTCTL \"1\"" OR NOT page MATCHES "convert")
  message(FATAL_ERROR "the man page is not checkpointctl's:\n${page}")
endif()
file(READ ${bash_completion} script)
if(NOT script MATCHES "complete -o default -F _checkpointctl checkpointctl")
  message(FATAL_ERROR "the packaged bash completion is not checkpointctl's:\n${script}")
endif()
message(STATUS "${packages}: ok; ${output}")
