# ctest script: libcheckpoint.so has the SONAME libcheckpoint.so.MAJOR and
# exports the public API and nothing else of its own:
# - every function the C headers declare CHECKPOINT_API, and the C++ API's
#   classes (with their type_info, so that a program catches
#   checkpoint::Error thrown inside the library);
# - no other strong symbol: what it defines outside the public headers
#   (checkpoint::detail, the backends, its copies of anything) stays hidden.
#   A symbol of namespace checkpoint must be named in the public headers.
#   cmake -DLIBRARY=... -DSONAME=... -DNM=... -DOBJDUMP=... -DINCLUDE_DIR=...
#         -DVERSION_HEADER=... -P this
cmake_minimum_required(VERSION 3.22)
foreach(var LIBRARY SONAME NM OBJDUMP INCLUDE_DIR VERSION_HEADER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

execute_process(COMMAND ${OBJDUMP} -p ${LIBRARY} OUTPUT_VARIABLE headers
                COMMAND_ERROR_IS_FATAL ANY)
if(NOT headers MATCHES "SONAME +${SONAME}\n")
  message(FATAL_ERROR "${LIBRARY}: no SONAME ${SONAME}")
endif()

execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY} OUTPUT_VARIABLE listing
                COMMAND_ERROR_IS_FATAL ANY)
string(REPLACE "\n" ";" lines "${listing}")
set(exported)
set(ours)  # symbols of namespace checkpoint
set(stray)
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^[0-9a-f]* ([A-Za-z]) (.+)$")
    continue()
  endif()
  set(type ${CMAKE_MATCH_1})
  set(symbol ${CMAKE_MATCH_2})
  list(APPEND exported ${symbol})
  if(symbol MATCHES "^checkpoint_[a-z_]+$")
    continue()  # the C API
  endif()
  # checkpoint::..., its vtables (_ZTV), type_info (_ZTI) and their names (_ZTS).
  if(symbol MATCHES "^_Z(TV|TI|TS)?NK?10checkpoint")
    list(APPEND ours ${symbol})
    continue()
  endif()
  # A weak symbol is a template or inline function that every object
  # instantiates for itself (the standard library's, some for types of ours).
  if(type MATCHES "^[WVuvw]$" AND NOT symbol MATCHES "10checkpoint6detail")
    continue()
  endif()
  list(APPEND stray "${type} ${symbol}")
endforeach()

# Those of namespace checkpoint must be declared in the public headers: each
# name in them (checkpoint::toolkit::read_file, checkpoint::Checkpoint::Impl)
# appears there. An internal one (checkpoint::detail::..., a backend's
# class) does not.
file(GLOB_RECURSE headers ${INCLUDE_DIR}/checkpoint/*.h ${INCLUDE_DIR}/checkpoint/*.hpp)
set(public_words)
foreach(header IN LISTS headers)
  file(READ ${header} text)
  string(REGEX MATCHALL "[A-Za-z_][A-Za-z0-9_]*" words "${text}")
  list(APPEND public_words ${words})
endforeach()
list(REMOVE_DUPLICATES public_words)
list(REMOVE_ITEM public_words detail)  # checkpoint::detail is the internals' namespace
string(REPLACE ";" "\n" ours_text "${ours}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/exported_symbols.txt "${ours_text}\n")
execute_process(COMMAND c++filt INPUT_FILE ${CMAKE_CURRENT_BINARY_DIR}/exported_symbols.txt
                OUTPUT_VARIABLE demangled COMMAND_ERROR_IS_FATAL ANY)
string(REPLACE "\n" ";" demangled "${demangled}")
foreach(name IN LISTS demangled)
  if(name STREQUAL "")
    continue()
  endif()
  # "typeinfo for checkpoint::Store", "checkpoint::Store::open(...) const":
  # the qualified name before the parameters.
  string(REGEX REPLACE "^(vtable|typeinfo|typeinfo name) for " "" qualified "${name}")
  string(REGEX REPLACE "[(<[].*$" "" qualified "${qualified}")
  string(REPLACE "::" ";" parts "${qualified}")
  foreach(part IN LISTS parts)
    string(REGEX MATCH "[A-Za-z_][A-Za-z0-9_]*" word "${part}")
    if(NOT word IN_LIST public_words)
      list(APPEND stray "${name}")
      break()
    endif()
  endforeach()
endforeach()

if(stray)
  list(LENGTH stray count)
  list(JOIN stray "\n  " stray)
  message(FATAL_ERROR "${LIBRARY} exports ${count} symbols outside the public API:\n  ${stray}\n"
                      "(compiled without -fvisibility=hidden? a declaration not in include/?)")
endif()

# Every C function the headers declare.
set(declared)
foreach(header ${INCLUDE_DIR}/checkpoint/checkpoint.h ${VERSION_HEADER})
  file(READ ${header} text)
  string(REGEX MATCHALL "CHECKPOINT_API[^;(]*[ *](checkpoint_[a-z_]+)\\(" declarations "${text}")
  foreach(declaration IN LISTS declarations)
    string(REGEX REPLACE ".*[ *](checkpoint_[a-z_]+)\\($" "\\1" function "${declaration}")
    list(APPEND declared ${function})
  endforeach()
endforeach()
list(LENGTH declared declared_count)
if(declared_count LESS 20)
  message(FATAL_ERROR "found only ${declared_count} declarations in the C headers: ${declared}")
endif()
# And the C++ API: a class, its type_info, a free function, the toolkit.
list(APPEND declared
  _ZN10checkpoint10Checkpoint7persistESt17basic_string_viewIcSt11char_traitsIcEEmNS_9TimestampES4_
  _ZTIN10checkpoint5ErrorE _ZTIN10checkpoint5StoreE _ZN10checkpoint5Store4openESt17basic_string_viewIcSt11char_traitsIcEENS_11OpenOptionsE
  _ZN10checkpoint19registered_backendsEv _ZN10checkpoint7toolkit16set_system_callsERKNS0_11SystemCallsE)
set(missing)
foreach(symbol IN LISTS declared)
  if(NOT symbol IN_LIST exported)
    list(APPEND missing ${symbol})
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "${LIBRARY} does not export: ${missing}")
endif()
message(STATUS "${LIBRARY}: ${declared_count} C functions and the C++ API exported, nothing else")
