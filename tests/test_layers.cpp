// The core's layering (docs/architecture.md): core/src/LAYER/ and core/include/plexus/core/LAYER/
// hold one layer each, and a file may include only its own layer and the layers below it. The order
// is declared here once; the scan reads every #include "..." line of the core.
#define BOOST_TEST_MODULE layers
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// Lowest first. "sdk" is core/src/sdk/, the out-of-line part of the SDK; its testing library
// loads plugins through the registry, so it sits just above it. SDK headers and anything outside
// the core count as "base", below every layer.
const std::vector<std::string> kLayers = {"base", "registry", "sdk",       "experiment",
                                          "data", "training", "modelfile", "reporting",
                                          "run",  "study"};

int rank_of(const std::string& layer) {
    const auto it = std::find(kLayers.begin(), kLayers.end(), layer);
    return it == kLayers.end() ? -1 : static_cast<int>(it - kLayers.begin());
}

// The "..." of every `#include "..."` line (spaces allowed around '#'). Parsed by hand: GCC 12's
// std::regex trips -Wmaybe-uninitialized in the sanitizer build.
std::vector<std::string> quoted_includes(const fs::path& file) {
    std::vector<std::string> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
        std::size_t i = line.find_first_not_of(" \t");
        if (i == std::string::npos || line[i] != '#') continue;
        i = line.find_first_not_of(" \t", i + 1);
        if (i == std::string::npos || line.compare(i, 7, "include") != 0) continue;
        i = line.find_first_not_of(" \t", i + 7);
        if (i == std::string::npos || line[i] != '"') continue;
        const std::size_t end = line.find('"', i + 1);
        if (end != std::string::npos) out.push_back(line.substr(i + 1, end - i - 1));
    }
    return out;
}

class LayerCheck {
public:
    explicit LayerCheck(const fs::path& core)
        : src_(core / "src"), include_(core / "include" / "plexus" / "core") {}

    /// One line per include that reaches a higher layer, per file in an undeclared folder, and
    /// per file outside any layer folder.
    std::vector<std::string> violations() {
        std::vector<std::string> out;
        for (const fs::path& root : {src_, include_}) {
            if (!fs::exists(root)) continue;
            for (const auto& e : fs::recursive_directory_iterator(root)) {
                if (!e.is_regular_file()) continue;
                const fs::path rel = e.path().lexically_relative(root);
                if (rel.begin() == std::prev(rel.end())) {
                    out.push_back(e.path().string() + ": not in a layer folder");
                    continue;
                }
                const std::string layer = rel.begin()->string();
                if (rank_of(layer) < 0 || layer == "base") {
                    out.push_back(e.path().string() + ": folder '" + layer +
                                  "' is not a declared layer");
                    continue;
                }
                for (const auto& inc : quoted_includes(e.path())) {
                    const std::string target = layer_of_include(inc, e.path().parent_path());
                    if (rank_of(target) > rank_of(layer))
                        out.push_back(e.path().string() + ": layer '" + layer + "' includes \"" +
                                      inc + "\" of the higher layer '" + target + "'");
                }
            }
        }
        return out;
    }

private:
    // The layer an include belongs to; "base" for SDK headers and anything outside the core.
    std::string layer_of_include(const std::string& inc, const fs::path& from) {
        fs::path file;
        if (inc.rfind("plexus/core/", 0) == 0) {
            file = include_ / inc.substr(12);
        } else if (fs::exists(from / inc)) {
            file = (from / inc).lexically_normal();
        } else {
            return "base";
        }
        for (const fs::path& root : {include_, src_}) {
            const fs::path rel = file.lexically_relative(root);
            if (rel.empty() || *rel.begin() == "..") continue;
            // A top-level file is reported by violations(); it belongs to no layer.
            return rel.begin() != std::prev(rel.end()) ? rel.begin()->string() : "base";
        }
        return "base";
    }

    fs::path src_, include_;
};

void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(no_lower_layer_includes_a_higher_one) {
    const fs::path core = fs::path(PLEXUS_TEST_SOURCE_DIR) / "core";
    BOOST_TEST_REQUIRE(fs::is_directory(core / "src" / "training"));
    const auto found = LayerCheck(core).violations();
    for (const auto& v : found) BOOST_TEST_MESSAGE(v);
    BOOST_TEST(found.empty(), found.size() << " layering violation(s), first: "
                                           << (found.empty() ? "" : found.front()));
}

BOOST_AUTO_TEST_CASE(every_declared_layer_has_sources_and_headers) {
    const fs::path core = fs::path(PLEXUS_TEST_SOURCE_DIR) / "core";
    for (const auto& layer : kLayers) {
        if (layer == "base" || layer == "sdk") continue;
        BOOST_TEST(fs::is_directory(core / "src" / layer), layer);
        BOOST_TEST(fs::is_directory(core / "include" / "plexus" / "core" / layer), layer);
    }
}

// The check itself, on a made-up core: an upward include (direct or relative), an undeclared
// folder and a file outside any layer folder are reported; downward includes are not.
BOOST_AUTO_TEST_CASE(the_check_reports_upward_includes) {
    plexus::test::TempDir dir("layers");
    const fs::path core = dir.path / "core";
    const fs::path inc = core / "include" / "plexus" / "core";
    write(inc / "training" / "trainer.hpp", "#include \"plexus/core/data/dataset.hpp\"\n");
    write(inc / "data" / "dataset.hpp",
          "#include \"plexus/shape.hpp\"\n#include \"plexus/support/text.hpp\"\n");
    write(inc / "text.hpp", "#pragma once\n");
    write(core / "src" / "data" / "pipeline.cpp",
          "#include \"plexus/core/training/trainer.hpp\"\n");
    write(core / "src" / "data" / "loader.cpp", "#include \"../run/helper.hpp\"\n");
    write(core / "src" / "run" / "helper.hpp", "\n");
    write(core / "src" / "run" / "run.cpp",
          "#include \"plexus/core/training/trainer.hpp\"\n#include \"helper.hpp\"\n");
    write(core / "src" / "misc" / "x.cpp", "\n");
    const auto found = LayerCheck(core).violations();
    for (const auto& v : found) BOOST_TEST_MESSAGE(v);
    const auto reported = [&](const std::string& what) {
        return std::count_if(found.begin(), found.end(), [&](const std::string& v) {
                   return v.find(what) != std::string::npos;
               }) == 1;
    };
    BOOST_TEST(found.size() == 4u);
    BOOST_TEST(reported(
        "loader.cpp: layer 'data' includes \"../run/helper.hpp\" of the higher layer 'run'"));
    BOOST_TEST(
        reported("pipeline.cpp: layer 'data' includes \"plexus/core/training/trainer.hpp\" "
                 "of the higher layer 'training'"));
    BOOST_TEST(reported("core/text.hpp: not in a layer folder"));
    BOOST_TEST(reported("x.cpp: folder 'misc' is not a declared layer"));
}
