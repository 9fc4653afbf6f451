# Every third-party library the project links, found once for all parts (DESIGN.md §5).
# All come from Debian packages installed by scripts/install-deps.sh.
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG COMPONENTS json url)
find_package(OpenSSL REQUIRED)
find_package(RocksDB REQUIRED CONFIG)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(GTest REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(LibArchive REQUIRED)
find_package(ZLIB REQUIRED)
# Intel ISA-L: the table's response checksum (CRC-32 with the CPU's carry-less multiply).
find_package(PkgConfig REQUIRED)
pkg_check_modules(ISAL REQUIRED IMPORTED_TARGET libisal)
# jemalloc: mysfits-table's allocator in builds without sanitizers (which bring their own).
if(NOT MYSFITS_SANITIZE)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()
find_package(benchmark QUIET)

# Boost headers are third-party: include them as SYSTEM so our warning flags do not apply.
set_target_properties(Boost::headers PROPERTIES SYSTEM TRUE)

if(NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(CCACHE_PROGRAM ccache)
  if(CCACHE_PROGRAM)
    # Precompiled headers need these sloppiness settings to be cacheable; BASEDIR and NOHASHDIR
    # let a clone in another folder (CI's) reuse the objects of this one.
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
        CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
        CCACHE_BASEDIR=${CMAKE_SOURCE_DIR} CCACHE_NOHASHDIR=1
        ${CCACHE_PROGRAM})
    set(CMAKE_C_COMPILER_LAUNCHER ${CMAKE_CXX_COMPILER_LAUNCHER})
    # Clang stamps a precompiled header with the build time, so every object that uses it would
    # miss the cache in a fresh clone; without the stamp the header is the same for the same folder.
    if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
      add_compile_options("SHELL:-Xclang -fno-pch-timestamp")
    endif()
  endif()
endif()
