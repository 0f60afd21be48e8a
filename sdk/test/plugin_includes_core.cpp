// Must NOT compile: plugins link Plexus::sdk, which exposes no core header. The test
// sdk_plugins_cannot_include_core_headers builds this file and expects the compiler to
// report this include as missing.
#include "plexus/core/registry/registry.hpp"
#include "plexus/plexus.hpp"
