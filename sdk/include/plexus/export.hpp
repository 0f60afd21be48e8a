// Visibility, ABI number and build tag shared by the host and every plugin.
#pragma once

#define PLEXUS_API __attribute__((visibility("default")))

#define PLEXUS_VERSION_MAJOR 0
#define PLEXUS_VERSION_MINOR 1
#define PLEXUS_VERSION_PATCH 0
#define PLEXUS_VERSION_STRING "0.1.0"

// The manifest layout and interface vtables are versioned by this number. A plugin is only
// loaded when its number equals the host's; bump it on any incompatible SDK change.
#ifndef PLEXUS_ABI_VERSION
#define PLEXUS_ABI_VERSION 9  // 4: transpose runs, batchnorm spatial; 5: samplers, pruners,
                              // conv2d fused keys; 6: target kinds, recurrent ops; 7: saved
                              // state of layers and callbacks (checkpoints, --resume); 8:
                              // Layer::set_trainable, ModelAccess layer trainability (freeze,
                              // unfreeze); 9: BuildContext::collective (MPI ranks:
                              // SyncBatchNorm), OptimizerBase's per-parameter update counts
                              // (Update::steps, "<name>.steps" state)
#endif

#define PLEXUS_DETAIL_STR2(x) #x
#define PLEXUS_DETAIL_STR(x) PLEXUS_DETAIL_STR2(x)

#if defined(__clang__)
#define PLEXUS_DETAIL_COMPILER "clang-" PLEXUS_DETAIL_STR(__clang_major__)
#elif defined(__GNUC__)
#define PLEXUS_DETAIL_COMPILER "gcc-" PLEXUS_DETAIL_STR(__GNUC__)
#else
#define PLEXUS_DETAIL_COMPILER "unknown"
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define PLEXUS_DETAIL_STDLIB "libstdc++-cxx11abi" PLEXUS_DETAIL_STR(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define PLEXUS_DETAIL_STDLIB "libc++"
#else
#define PLEXUS_DETAIL_STDLIB "stdlib-unknown"
#endif

// Compiler family, standard-library ABI and SDK major: everything that must match for
// std::string, std::vector and our vtables to mean the same thing on both sides.
// <version> (or any standard header) must be included before this one for the stdlib macros.
#define PLEXUS_BUILD_TAG                                                                  \
    PLEXUS_DETAIL_COMPILER ";" PLEXUS_DETAIL_STDLIB ";sdk-" PLEXUS_DETAIL_STR(            \
        PLEXUS_VERSION_MAJOR) "." PLEXUS_DETAIL_STR(PLEXUS_VERSION_MINOR)
