# find_package(Plexus) for out-of-tree plugins. Provides the imported target Plexus::core
# (SDK headers + libplexus_core.so) and plexus_add_plugin(<kind>-<name> SOURCES ...).
include(CMakeFindDependencyMacro)
find_dependency(Boost 1.74)
include(${CMAKE_CURRENT_LIST_DIR}/PlexusTargets.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/PlexusWarnings.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/PlexusPlugin.cmake)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
