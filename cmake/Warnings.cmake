# -Wall -Wextra on our own targets; warnings in our code are bugs to fix, not to silence.
function(plexus_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wno-unused-parameter)
endfunction()
