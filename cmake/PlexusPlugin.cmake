# plexus_add_plugin(<kind>-<name> SOURCES src... [LIBRARIES lib...])
#
# Builds libplexus-<kind>-<name>.so as a module loaded at run time: hidden visibility (only
# the manifest symbol is exported), -z defs (an unresolved symbol fails the link, not the
# load), linked against Plexus::sdk: the SDK headers and libplexus_core.so for the SDK's
# exported classes, never the core's own headers. Used both in this tree and, through
# find_package(Plexus), by out-of-tree plugins.
function(plexus_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES;DEFINITIONS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "plexus_add_plugin(${name}): SOURCES is required")
  endif()
  set(target plexus-${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE Plexus::sdk ${ARG_LIBRARIES})
  target_compile_definitions(${target} PRIVATE BOOST_DLL_USE_STD_FS ${ARG_DEFINITIONS})
  target_compile_options(${target} PRIVATE -fvisibility=hidden -fvisibility-inlines-hidden)
  target_link_options(${target} PRIVATE -Wl,-z,defs)
  set_target_properties(${target} PROPERTIES PREFIX "lib" CXX_STANDARD 20
                                             CXX_STANDARD_REQUIRED ON)
  if(COMMAND plexus_warnings)
    plexus_warnings(${target})
  endif()
  if(PLEXUS_IN_TREE)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY
                                               ${PLEXUS_PLUGIN_OUTPUT_DIR})
    add_dependencies(plexus_all_plugins ${target})
    # The core lies two folders up both here (lib/plexus/plugins) and installed
    # (<libdir>/plexus/plugins). Linking with that final RUNPATH also keeps CMake from padding
    # the build RUNPATH with a trailing ':' for install-time editing: an empty entry, which
    # the loader reads as the current folder (libstdc++ would be looked up there first).
    set_target_properties(${target} PROPERTIES BUILD_WITH_INSTALL_RPATH ON
                                               INSTALL_RPATH "$ORIGIN/../..")
    install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/plexus/plugins)
    # plugins/<kind>/<name>/test_<name>.cpp is the plugin's own test.
    get_filename_component(short ${CMAKE_CURRENT_SOURCE_DIR} NAME)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_${short}.cpp)
      plexus_add_test(test_${name} SDK_ONLY ${CMAKE_CURRENT_SOURCE_DIR}/test_${short}.cpp)
      add_dependencies(test_${name} ${target})
    endif()
  endif()
endfunction()
