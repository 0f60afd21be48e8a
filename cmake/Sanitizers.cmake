# PLEXUS_SANITIZE=ON (the `asan` preset) builds everything with ASan + UBSan.
option(PLEXUS_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(PLEXUS_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# plexus_sanitizer_defaults(target): compiles the default sanitizer options
# (sanitizer_defaults.cpp says which and why) into an executable of a sanitized build; does
# nothing otherwise. Only an executable's definition of __asan_default_options counts.
function(plexus_sanitizer_defaults target)
  if(PLEXUS_SANITIZE)
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/sanitizer_defaults.cpp)
  endif()
endfunction()
