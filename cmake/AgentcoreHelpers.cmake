# Warnings, sanitizers and -Werror are applied to our own targets only, through this function,
# never through CMAKE_CXX_FLAGS (third-party headers must not break our build).
function(agentcore_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Wswitch-enum)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wthread-safety)
  elseif(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports impossible std::string memcpy overlaps at -O3 (GCC bug 105329).
    target_compile_options(${target} PRIVATE -Wno-restrict)
    if(AGENTCORE_SANITIZE)
      # Sanitizer instrumentation makes GCC 12 see uninitialized std::function members inside
      # libstdc++'s <regex> (used by tests as a reference implementation): false positives.
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
  endif()
  if(AGENTCORE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  agentcore_sanitize(${target})
endfunction()

# Sanitizer flags for a target (compile and link), from AGENTCORE_SANITIZE.
function(agentcore_sanitize target)
  if(AGENTCORE_SANITIZE)
    string(REPLACE ";" "," _san "${AGENTCORE_SANITIZE}")
    target_compile_options(${target} PRIVATE -fsanitize=${_san} -fno-omit-frame-pointer
      -fno-sanitize-recover=all)
    if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND "undefined" IN_LIST AGENTCORE_SANITIZE)
      # clang 14 cannot emit UBSan's function-type check for coroutines ("Cannot represent a
      # difference across sections"); the check only covers calls through C function pointers.
      target_compile_options(${target} PRIVATE -fno-sanitize=function)
    endif()
    target_link_options(${target} PRIVATE -fsanitize=${_san})
  endif()
endfunction()

# A benchmark program: links the library, prints JSON lines.
function(agentcore_add_bench name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE agentcore::agentcore)
  agentcore_warnings(${name})
endfunction()

# Coverage instrumentation for libFuzzer builds of the library and the fuzz targets.
function(agentcore_fuzz_instrument target)
  if(AGENTCORE_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()
