# agentcore_embed_migrations(<target> DIR <dir> FUNCTION <name> OUTPUT <file.cpp> NAMES <NNNN_name>...)
# Adds a build step that turns <dir>/<NNNN_name>.{up,down}.sql into <file.cpp> defining
# `std::span<const Migration> <name>()` (migration.hpp), and adds that file to <target>.
# Editing a .sql file regenerates the source; the names are listed by hand (no glob).
function(agentcore_embed_migrations target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DIR;FUNCTION;OUTPUT" "NAMES")
  set(deps "")
  foreach(name IN LISTS arg_NAMES)
    list(APPEND deps "${arg_DIR}/${name}.up.sql" "${arg_DIR}/${name}.down.sql")
  endforeach()
  string(REPLACE ";" "," names_arg "${arg_NAMES}")  # a list cannot cross -D intact
  set(script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_migrations.cmake")
  add_custom_command(
    OUTPUT "${arg_OUTPUT}"
    COMMAND ${CMAKE_COMMAND} "-DDIR=${arg_DIR}" "-DNAMES=${names_arg}"
            "-DFUNCTION=${arg_FUNCTION}" "-DOUTPUT=${arg_OUTPUT}" -P "${script}"
    DEPENDS ${deps} "${script}"
    COMMENT "Embedding migrations ${arg_FUNCTION}()"
    VERBATIM)
  target_sources(${target} PRIVATE "${arg_OUTPUT}")
endfunction()
