# find_package(Plexus) for out-of-tree plugins. Provides the imported targets Plexus::sdk
# (SDK headers + libplexus_core.so: what plugins and their tests link) and Plexus::core (the
# same, kept for older projects), plexus_add_plugin(<kind>-<name> SOURCES ...),
# plexus_warnings(<target>), and Plexus_PLUGIN_DIR: the folder holding this Plexus's own
# plugins (the cpu device, ...), for tests that load them.
include(CMakeFindDependencyMacro)
find_dependency(Boost 1.74)
find_dependency(fmt 9)
include(${CMAKE_CURRENT_LIST_DIR}/PlexusTargets.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/PlexusWarnings.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/PlexusPlugin.cmake)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)

# An install keeps this file in <libdir>/cmake/Plexus and the plugins in <libdir>/plexus/plugins;
# a build tree keeps it in <build>/sdk/cmake and the plugins in <build>/lib/plexus/plugins.
get_filename_component(Plexus_PLUGIN_DIR "${CMAKE_CURRENT_LIST_DIR}/../../plexus/plugins"
                       ABSOLUTE)
if(NOT IS_DIRECTORY "${Plexus_PLUGIN_DIR}")
  get_filename_component(Plexus_PLUGIN_DIR "${CMAKE_CURRENT_LIST_DIR}/../../lib/plexus/plugins"
                         ABSOLUTE)
endif()
