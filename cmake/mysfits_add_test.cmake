# Helpers to register tests with CTest.
include(GoogleTest)

# mysfits_add_unit_tests(<name> SOURCES ... LIBS ...): one gtest binary per part, label "unit".
function(mysfits_add_unit_tests name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
                                        mysfits::build_flags)
  gtest_discover_tests(${name} PROPERTIES LABELS unit TIMEOUT 120 DISCOVERY_TIMEOUT 60)
endfunction()

# mysfits_add_fuzz_target(<name> SOURCES ... LIBS ... CORPUS dir SECONDS n):
# a libFuzzer binary, run in the test suite for a bounded time over its corpus (label "fuzz").
function(mysfits_add_fuzz_target name)
  cmake_parse_arguments(ARG "" "CORPUS;SECONDS" "SOURCES;LIBS" ${ARGN})
  if(NOT MYSFITS_FUZZ)
    return()
  endif()
  if(NOT ARG_SECONDS)
    set(ARG_SECONDS 20)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} mysfits::build_flags)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set(work ${CMAKE_CURRENT_BINARY_DIR}/${name}_corpus)
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
                   sh -c "mkdir -p '${work}' && exec \"$0\" -max_total_time=${ARG_SECONDS} -timeout=10 -rss_limit_mb=4096 '${work}' '${ARG_CORPUS}'"
                   $<TARGET_FILE:${name}>)
  math(EXPR limit "${ARG_SECONDS} * 4 + 60")
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT ${limit})
endfunction()
