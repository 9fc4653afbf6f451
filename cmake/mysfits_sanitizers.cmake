# mysfits::sanitizers: sanitizer and fuzzing instrumentation, set on project targets only.
add_library(mysfits_sanitizers INTERFACE)
add_library(mysfits::sanitizers ALIAS mysfits_sanitizers)
if(MYSFITS_SANITIZE)
  target_compile_options(mysfits_sanitizers INTERFACE
    -fsanitize=${MYSFITS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(mysfits_sanitizers INTERFACE -fsanitize=${MYSFITS_SANITIZE})
  if(MYSFITS_SANITIZE MATCHES "undefined" AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # clang 14 cannot emit UBSan's -fsanitize=function checks in C++20 coroutines
    # ("Cannot represent a difference across sections"); every other UBSan check stays on.
    target_compile_options(mysfits_sanitizers INTERFACE -fno-sanitize=function)
  endif()
endif()
if(MYSFITS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MYSFITS_FUZZ needs clang (libFuzzer)")
  endif()
  # Libraries get coverage instrumentation; fuzz executables add -fsanitize=fuzzer themselves.
  target_compile_options(mysfits_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()

# mysfits::build_flags: what every project target links (warnings + sanitizers).
add_library(mysfits_build_flags INTERFACE)
add_library(mysfits::build_flags ALIAS mysfits_build_flags)
target_link_libraries(mysfits_build_flags INTERFACE mysfits::warnings mysfits::sanitizers)
