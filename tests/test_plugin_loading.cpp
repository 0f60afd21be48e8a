// The registry judges a plugin from its file before loading it: a plugin refused for its ABI,
// its build tag or an SDK that predates the data manifest never runs (its static constructor
// leaves a marker file when it does), and any file, however large or sparse, is judged in
// milliseconds with bounded memory.
#define BOOST_TEST_MODULE plugin_loading
#include <elf.h>
#include <sys/resource.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "plexus/core/registry/registry.hpp"
#include "plexus/plexus.hpp"
#include "registry_fixtures.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::Kind;
using plexus::core::Registry;
using plexus::test::contains;
using plexus::test::only;
using plexus::test::only_error;

namespace {

const fs::path kFixtures = PLEXUS_TEST_FIXTURE_DIR;
constexpr std::uintmax_t kHuge = std::uintmax_t{3} << 30;

/// A temporary folder and PLEXUS_TEST_MARKER naming a file in it, which the marker
/// fixtures' static constructor creates whenever it runs.
struct Marker {
    plexus::test::TempDir dir{"loading"};
    fs::path file = dir.path / "constructor-ran";
    Marker() { ::setenv("PLEXUS_TEST_MARKER", file.c_str(), 1); }
    ~Marker() { ::unsetenv("PLEXUS_TEST_MARKER"); }
    bool ran() const { return fs::exists(file); }
};

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

long max_rss_kib() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

/// Builds a registry over `folder` and checks it took under a second and under 64 MiB more
/// peak memory (reading a 3 GB file whole takes seconds and gigabytes).
std::string judged_quickly(const fs::path& folder, std::size_t expected_errors) {
    const long rss_before = max_rss_kib();
    const auto start = std::chrono::steady_clock::now();
    Registry r(only({folder}));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST(seconds < 1.0);
    BOOST_TEST(max_rss_kib() - rss_before < 64 * 1024);
    BOOST_REQUIRE_EQUAL(r.errors().size(), expected_errors);
    return expected_errors ? r.errors()[0].message : std::string();
}

/// Applies `edit` to each header of type H in the table of `count` at `offset` of the ELF
/// image `bytes`; `edit` returns whether it changed that header. Returns how many it changed.
template <class H, class Edit>
std::size_t edit_headers(std::string& bytes, std::uint64_t offset, std::size_t count, Edit edit) {
    std::size_t changed = 0;
    for (std::size_t i = 0; i < count; ++i) {
        H h;
        const std::size_t at = offset + i * sizeof h;
        BOOST_TEST_REQUIRE(at + sizeof h <= bytes.size());
        std::memcpy(&h, bytes.data() + at, sizeof h);
        if (!edit(h)) continue;
        std::memcpy(bytes.data() + at, &h, sizeof h);
        ++changed;
    }
    return changed;
}

Elf64_Ehdr elf_header(const std::string& bytes) {
    Elf64_Ehdr eh;
    BOOST_TEST_REQUIRE(bytes.size() > sizeof eh);
    std::memcpy(&eh, bytes.data(), sizeof eh);
    return eh;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_marker_shows_when_a_plugin_runs) {
    // The control: using the same source built for this ABI runs its constructor (at the
    // registry's start, or, when the plugin catalog stands in for it, when a layer is made).
    Marker marker;
    Registry r(only({kFixtures / "marker"}));
    BOOST_TEST(r.errors().empty());
    BOOST_TEST(r.find(Kind::layer, "fixture_gain") != nullptr);
    BOOST_TEST(r.create_as<plexus::Layer>("fixture_gain") != nullptr);
    BOOST_TEST(marker.ran());
}

BOOST_AUTO_TEST_CASE(a_plugin_for_another_abi_never_runs) {
    Marker marker;
    Registry r(only({kFixtures / "marker_abi"}));
    const std::string m = only_error(r);
    BOOST_TEST(
        contains(m, "libplexus-layers-fixture_marker_abi.so: built for Plexus plugin ABI 99"));
    BOOST_TEST(contains(m, "rebuild"));
    BOOST_TEST(!marker.ran());
}

BOOST_AUTO_TEST_CASE(a_plugin_with_another_build_tag_never_runs) {
    Marker marker;
    const fs::path copy = marker.dir / "libplexus-layers-fixture_marker.so";
    std::string bytes = read_bytes(kFixtures / "marker" / "libplexus-layers-fixture_marker.so");
    const std::string tag = std::string(PLEXUS_BUILD_TAG) + '\0';
    std::size_t patched = 0;
    for (auto at = bytes.find(tag); at != std::string::npos;
         at = bytes.find(tag, at + 1), ++patched)
        bytes[at] = 'x';
    BOOST_TEST_REQUIRE(patched >= 1u);
    write_bytes(copy, bytes);
    Registry r(only({marker.dir.path}));
    const std::string m = only_error(r);
    BOOST_TEST(contains(m, "built with 'x" + std::string(PLEXUS_BUILD_TAG).substr(1) + "'"));
    BOOST_TEST(!marker.ran());
}

BOOST_AUTO_TEST_CASE(a_plugin_from_an_older_sdk_never_runs) {
    Marker marker;
    Registry r(only({kFixtures / "legacy"}));
    const std::string m = only_error(r);
    BOOST_TEST(contains(m, "older Plexus SDK"));
    BOOST_TEST(contains(m, "rebuild it against this SDK"));
    BOOST_TEST(!marker.ran());
}

BOOST_AUTO_TEST_CASE(a_huge_sparse_file_is_judged_in_milliseconds) {
    plexus::test::TempDir dir("loading");
    const fs::path huge = dir / "libplexus-layers-huge.so";
    std::ofstream(huge).close();
    fs::resize_file(huge, kHuge);  // sparse: no disk space, 3 GB to whoever reads it whole
    BOOST_TEST(contains(judged_quickly(dir.path, 1), "not an ELF shared library"));
}

BOOST_AUTO_TEST_CASE(a_plugin_grown_to_3_gb_still_loads_quickly) {
    plexus::test::TempDir dir("loading");
    const fs::path copy = dir / "libplexus-layers-fixture_good.so";
    fs::copy_file(kFixtures / "good" / "libplexus-layers-fixture_good.so", copy);
    fs::resize_file(copy, kHuge);
    judged_quickly(dir.path, 0);
}

BOOST_AUTO_TEST_CASE(a_symbol_table_claiming_gigabytes_is_refused_unread) {
    plexus::test::TempDir dir("loading");
    const fs::path copy = dir / "libplexus-layers-fixture_good.so";
    std::string bytes = read_bytes(kFixtures / "good" / "libplexus-layers-fixture_good.so");
    const Elf64_Ehdr eh = elf_header(bytes);
    const std::size_t patched =
        edit_headers<Elf64_Shdr>(bytes, eh.e_shoff, eh.e_shnum, [](Elf64_Shdr& sh) {
            if (sh.sh_type != SHT_DYNSYM) return false;
            sh.sh_size = std::uint64_t{5} << 29;  // 2.5 GB of symbols, inside the grown file
            return true;
        });
    BOOST_TEST_REQUIRE(patched == 1u);
    write_bytes(copy, bytes);
    fs::resize_file(copy, kHuge);
    const std::string m = judged_quickly(dir.path, 1);
    BOOST_TEST(contains(m, "dynamic symbol table claims 2684354560 bytes, more than the 64 MiB"));
}

// ld.so follows the dynamic table's addresses before any check of its own: a corrupt one
// crashed dlopen inside plexus (SIGSEGV; the fuzz test flipped one bit of PT_DYNAMIC's
// p_vaddr). It is refused from the file instead.
BOOST_AUTO_TEST_CASE(a_dynamic_table_outside_the_image_is_refused_not_loaded) {
    plexus::test::TempDir dir("loading");
    std::string bytes = read_bytes(kFixtures / "good" / "libplexus-layers-fixture_good.so");
    const Elf64_Ehdr eh = elf_header(bytes);
    const std::size_t patched =
        edit_headers<Elf64_Phdr>(bytes, eh.e_phoff, eh.e_phnum, [](Elf64_Phdr& ph) {
            if (ph.p_type != PT_DYNAMIC) return false;
            ph.p_vaddr += std::uint64_t{1} << 40;
            return true;
        });
    BOOST_TEST_REQUIRE(patched == 1u);
    write_bytes(dir / "libplexus-layers-fixture_good.so", bytes);
    BOOST_TEST(contains(only_error(Registry(only({dir.path}))), "its dynamic table is malformed"));
}

// The component's name pointer sent 1 TiB away through its relocation's addend: the
// registry (which compares names) or `plexus plugins NAME` (which prints them) read it.
BOOST_AUTO_TEST_CASE(a_manifest_pointing_outside_the_library_is_refused) {
    plexus::test::TempDir dir("loading");
    std::string bytes = read_bytes(kFixtures / "good" / "libplexus-layers-fixture_good.so");
    const std::size_t name_at = bytes.find(std::string("fixture_gain") + '\0');
    BOOST_TEST_REQUIRE(name_at != std::string::npos);
    // The relocated pointers of the library, by the address they fill in. The component's name
    // field is the one followed (8 bytes on) by its version's: a sanitized build also points
    // its global descriptors at the same string.
    std::map<std::uint64_t, std::int64_t> targets;
    for (std::size_t at = 0; at + sizeof(Elf64_Rela) <= bytes.size(); at += 8) {
        Elf64_Rela r;
        std::memcpy(&r, bytes.data() + at, sizeof r);
        if (ELF64_R_TYPE(r.r_info) == R_X86_64_RELATIVE) targets.emplace(r.r_offset, r.r_addend);
    }
    auto is_version = [&](std::uint64_t field) {
        const auto it = targets.find(field);
        return it != targets.end() && it->second >= 0 &&
               bytes.compare(std::size_t(it->second), 6, std::string("1.0.0") + '\0') == 0;
    };
    std::size_t patched = 0;
    for (std::size_t at = 0; at + sizeof(Elf64_Rela) <= bytes.size(); at += 8) {
        Elf64_Rela r;
        std::memcpy(&r, bytes.data() + at, sizeof r);
        // .rodata is mapped at its file offset in this library's first read-only segment.
        if (ELF64_R_TYPE(r.r_info) != R_X86_64_RELATIVE || r.r_addend != std::int64_t(name_at) ||
            !is_version(r.r_offset + 8))
            continue;
        r.r_addend += std::int64_t{1} << 40;
        std::memcpy(bytes.data() + at, &r, sizeof r);
        ++patched;
    }
    BOOST_TEST_REQUIRE(patched == 1u);
    write_bytes(dir / "libplexus-layers-fixture_good.so", bytes);
    BOOST_TEST(contains(only_error(Registry(only({dir.path}))),
                        "its manifest points outside the library (component #0)"));
}
