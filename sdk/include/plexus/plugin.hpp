// The plugin boundary: a plain-data Manifest, exported as data (PLEXUS_MANIFEST_DATA_SYMBOL).
//
//   PLEXUS_PLUGIN(plexus::component<Dense>("dense", "0.1.0", "Fully connected layer",
//                                          kDenseParams))
//
// The host reads the manifest's head from the file before loading it, so a plugin refused for
// its ABI or build tag never runs; only the noexcept factories point into plugin code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <vector>  // Boost.DLL 1.74 needs <vector> before its headers

#include <boost/dll/alias.hpp>

#include "plexus/export.hpp"
#include "plexus/params.hpp"
#include "plexus/plugin_kind.hpp"

namespace plexus {

/// Creates a component from validated params. Returns a pointer to the kind's interface
/// (Layer*, Device*, ...) as void*, or nullptr with a one-line message in `error`.
using FactoryFn = void* (*)(const Params& params, char* error, std::size_t error_size) noexcept;

struct ComponentInfo {
    Kind kind;
    const char* name;
    const char* version;
    const char* summary;  // one line
    const ParamSpec* params;
    std::size_t param_count;
    FactoryFn create;
};

struct Manifest {  // the first three fields keep their place in every ABI
    std::uint32_t abi_version;  // PLEXUS_ABI_VERSION the plugin was built with
    std::uint32_t struct_size;  // sizeof(Manifest) in the plugin
    const char* build_tag;      // PLEXUS_BUILD_TAG the plugin was built with
    const ComponentInfo* components;
    std::size_t component_count;
};

/// A function returning the manifest, also exported for hosts older than the data symbol.
inline constexpr const char* kManifestSymbol = "plexus_manifest_v1";

namespace detail {
template <class Impl>
void* create(const Params& params, char* error, std::size_t error_size) noexcept {
    auto fail = [&](const char* message) -> void* {
        if (error && error_size) {
            std::strncpy(error, message, error_size - 1);
            error[error_size - 1] = '\0';
        }
        return nullptr;
    };
    try {
        return static_cast<typename Impl::Interface*>(new Impl(params));
    } catch (const std::exception& e) {
        return fail(e.what());
    } catch (...) {
        return fail("unknown exception");
    }
}
}  // namespace detail

/// Describes one component. Impl derives from an interface and is constructible from
/// `const Params&`.
template <class Impl, std::size_t N>
constexpr ComponentInfo component(const char* name, const char* version, const char* summary,
                                  const ParamSpec (&params)[N]) {
    return {Impl::kKind, name, version, summary, params, N, &detail::create<Impl>};
}
template <class Impl>
constexpr ComponentInfo component(const char* name, const char* version, const char* summary) {
    return {Impl::kKind, name, version, summary, nullptr, 0, &detail::create<Impl>};
}

// ---- optional: the devices a device plugin can run on, for `plexus devices`

/// One device a device plugin can create, as plain data (fixed-size, NUL-terminated text).
struct DeviceListing {
    char component[32];   // the device component's name, e.g. "opencl"
    char spec[48];        // what selects it in train.device / --device, e.g. "opencl:0"
    char platform[96];    // driver or platform, e.g. "Portable Computing Language"
    char name[128];       // the hardware, e.g. "NVIDIA GeForce RTX 4090"
    char type[16];        // "gpu", "cpu", "accelerator", ...
    std::uint64_t memory_bytes;    // global memory; 0 when unknown
    std::uint32_t compute_units;   // 0 when unknown
};

/// Fills `out` with up to `capacity` listings and returns how many devices there are (call
/// again with a larger buffer when that exceeds `capacity`). When the plugin cannot
/// enumerate (no driver, no hardware) it returns -1 with a one-line message in `error`, the
/// same message creating the device would give. Must not throw.
using ListDevicesFn = long (*)(DeviceListing* out, std::size_t capacity, char* error,
                               std::size_t error_size) noexcept;

/// The optional symbol a device plugin library exports (via PLEXUS_DEVICE_LIST). A plugin
/// without it is still listed, as the one device its default parameters create.
inline constexpr const char* kDeviceListSymbol = "plexus_devices_v1";

/// Copies `text` into a fixed-size field, truncating and NUL-terminating it.
template <std::size_t N>
void copy_field(char (&field)[N], const char* text) {
    std::strncpy(field, text ? text : "", N - 1);
    field[N - 1] = '\0';
}

}  // namespace plexus

/// The manifest as data: a `const plexus::Manifest` with C linkage. The host finds it in the
/// file's dynamic symbol table and reads abi_version, struct_size and build_tag from the file
/// (following the pointer's relocation), then loads only a plugin whose three match its own.
#define PLEXUS_MANIFEST_DATA_SYMBOL "plexus_manifest_data_v1"

/// Exports the manifest of a plugin library; use once per library, at namespace scope. The
/// plexus_manifest_v1 function lets a host from before the data symbol refuse the plugin by
/// its ABI number instead of calling into data.
#define PLEXUS_PLUGIN(...)                                                                  \
    namespace plexus_plugin_detail {                                                        \
    static const ::plexus::ComponentInfo kComponents[] = {__VA_ARGS__};                     \
    }                                                                                       \
    extern "C" PLEXUS_API const ::plexus::Manifest plexus_manifest_data_v1;                 \
    const ::plexus::Manifest plexus_manifest_data_v1 = {                                    \
        PLEXUS_ABI_VERSION, static_cast<std::uint32_t>(sizeof(::plexus::Manifest)),        \
        PLEXUS_BUILD_TAG, plexus_plugin_detail::kComponents,                                \
        sizeof(plexus_plugin_detail::kComponents) / sizeof(::plexus::ComponentInfo)};       \
    namespace plexus_plugin_detail {                                                        \
    const ::plexus::Manifest* manifest() { return &plexus_manifest_data_v1; }               \
    }                                                                                       \
    BOOST_DLL_ALIAS(plexus_plugin_detail::manifest, plexus_manifest_v1)

/// Exports a device plugin's enumerator (a plexus::ListDevicesFn); at most once per library,
/// at namespace scope, beside PLEXUS_PLUGIN.
#define PLEXUS_DEVICE_LIST(fn)                                                              \
    namespace plexus_plugin_detail {                                                        \
    ::plexus::ListDevicesFn device_list() { return &(fn); }                                 \
    }                                                                                       \
    BOOST_DLL_ALIAS(plexus_plugin_detail::device_list, plexus_devices_v1)
