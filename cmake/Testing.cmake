# plexus_add_test(name [SDK_ONLY] source...): one Boost.Test executable registered with CTest.
# Tests find the build's plugins, binary and sources through these definitions. A plugin's own
# test is SDK_ONLY: like the plugin, it sees the SDK (Plexus::sdk) and no core header.
function(plexus_add_test name)
  cmake_parse_arguments(ARG "SDK_ONLY" "" "" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  if(ARG_SDK_ONLY)
    target_link_libraries(${name} PRIVATE plexus_sdk Boost::unit_test_framework)
  else()
    target_link_libraries(${name} PRIVATE plexus_core Boost::unit_test_framework)
  endif()
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_compile_definitions(${name} PRIVATE
    BOOST_TEST_DYN_LINK BOOST_DLL_USE_STD_FS
    PLEXUS_TEST_PLUGIN_DIR="${PLEXUS_PLUGIN_OUTPUT_DIR}"
    PLEXUS_TEST_BINARY="${PROJECT_BINARY_DIR}/bin/plexus"
    PLEXUS_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    PLEXUS_TEST_BUILD_DIR="${PROJECT_BINARY_DIR}"
    PLEXUS_TEST_FIXTURE_DIR="${PROJECT_BINARY_DIR}/tests/fixtures")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  plexus_warnings(${name})
  plexus_sanitizer_defaults(${name})
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  if(PLEXUS_SANITIZE)
    # Any test may load the opencl device (the fused-key and conformance tests load every
    # device plugin); PoCL and its LLVM never free some process-lifetime allocations. Child
    # plexus processes inherit this.
    set_tests_properties(${name} PROPERTIES ENVIRONMENT
      "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/plugins/devices/opencl/lsan_suppressions.txt")
  endif()
  # Every test may need every plugin and the app; build them first.
  if(TARGET plexus_all_plugins)
    add_dependencies(${name} plexus_all_plugins)
  endif()
endfunction()
