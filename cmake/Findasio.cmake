# Finds standalone Asio (Debian: libasio-dev), which ships neither a CMake config nor a .pc file.
# Defines asio::asio, a header-only target that builds Asio without Boost.
find_path(asio_INCLUDE_DIR NAMES asio.hpp)
if(asio_INCLUDE_DIR AND EXISTS "${asio_INCLUDE_DIR}/asio/version.hpp")
  file(STRINGS "${asio_INCLUDE_DIR}/asio/version.hpp" _asio_version_line
    REGEX "^#define ASIO_VERSION [0-9]+")
  string(REGEX REPLACE "^#define ASIO_VERSION ([0-9]+).*" "\\1" _asio_v "${_asio_version_line}")
  math(EXPR _asio_major "${_asio_v} / 100000")
  math(EXPR _asio_minor "${_asio_v} / 100 % 1000")
  math(EXPR _asio_patch "${_asio_v} % 100")
  set(asio_VERSION "${_asio_major}.${_asio_minor}.${_asio_patch}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(asio REQUIRED_VARS asio_INCLUDE_DIR VERSION_VAR asio_VERSION)
if(asio_FOUND AND NOT TARGET asio::asio)
  add_library(asio::asio INTERFACE IMPORTED)
  set(_asio_defs ASIO_STANDALONE ASIO_NO_DEPRECATED)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # Asio 1.22 enables co_await only for the compilers it knows; clang 14 with libstdc++ has
    # <coroutine> and works.
    list(APPEND _asio_defs ASIO_HAS_CO_AWAIT ASIO_HAS_STD_COROUTINE)
  endif()
  set_target_properties(asio::asio PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${asio_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "${_asio_defs}")
  find_package(Threads REQUIRED)
  set_property(TARGET asio::asio PROPERTY INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
mark_as_advanced(asio_INCLUDE_DIR)
