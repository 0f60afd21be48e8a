# -Wall -Wextra on our own targets; warnings in our code are bugs to fix, not to silence.
function(plexus_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wno-unused-parameter)
  # GCC 12 reports false -Wrestrict positives inside libstdc++'s std::string operator+
  # (GCC bug 105329); they are not in our code.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()
