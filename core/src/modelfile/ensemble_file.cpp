// ensemble.json: read as hostile input (every field bounded and checked), written last.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "plexus/core/modelfile/ensemble.hpp"
#include "plexus/plexus.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/text.hpp"

namespace fs = std::filesystem;

namespace plexus::core {

namespace {

constexpr const char* kFormat = "plexus-ensemble";

std::string read_bounded(const fs::path& file, const std::string& name) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw DataError(name + ": cannot be read");
    std::string text(kMaxEnsembleFileBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxEnsembleFileBytes)
        throw DataError(name + ": larger than " + std::to_string(kMaxEnsembleFileBytes) +
                        " bytes; not an ensemble file");
    return text;
}

// A member file is a plain name in the ensemble's own folder: nothing the file says can make
// plexus read elsewhere.
bool plain_member_name(const std::string& s) {
    if (s.size() < 13 || s.size() > 255 || s.front() == '.') return false;
    if (s.compare(s.size() - 12, 12, ".safetensors") != 0) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

std::unique_ptr<Ensemble> load_ensemble_file(const fs::path& file, const Registry& registry,
                                             const std::string& device_spec, std::size_t batch) {
    const std::string name = support::printable(file.string(), support::kMaxShownPathBytes);
    const nlohmann::json j = nlohmann::json::parse(read_bounded(file, name), nullptr, false);
    const auto bad = [&](const std::string& what) {
        throw DataError(name + ": " + what +
                        " (an ensemble file written by plexus ensemble --out)");
    };
    if (j.is_discarded() || !j.is_object()) bad("not a JSON object");
    for (const auto& [key, value] : j.items())
        if (key != "format" && key != "version" && key != "method" && key != "members")
            bad("unknown key " + support::quote_for_message(key, 40));
    if (!j.contains("format") || j["format"] != kFormat)
        bad("\"format\" is not \"" + std::string(kFormat) + "\"");
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"] != 1)
        bad("\"version\" is not 1 (a newer plexus wrote it?)");
    if (!j.contains("method") || !j["method"].is_string()) bad("\"method\" is missing");
    const std::string method = j["method"].get<std::string>();
    if (method != "average" && method != "vote" && method != "weighted")
        bad("\"method\" " + support::quote_for_message(method, 40) +
            " is not average, vote or weighted");
    if (!j.contains("members") || !j["members"].is_array() || j["members"].empty() ||
        j["members"].size() > kMaxEnsembleMembers)
        bad("\"members\" is not a list of 1 to " + std::to_string(kMaxEnsembleMembers) +
            " members");
    std::vector<std::unique_ptr<SavedModel>> members;
    std::vector<std::string> names;
    std::vector<double> weights;
    const fs::path dir = file.parent_path();
    for (std::size_t i = 0; i < j["members"].size(); ++i) {
        const auto& m = j["members"][i];
        const std::string at = "member " + std::to_string(i + 1);
        if (!m.is_object() || !m.contains("file") || !m["file"].is_string() ||
            !m.contains("weight") || !m["weight"].is_number())
            bad(at + " is not {\"file\": NAME, \"weight\": NUMBER}");
        const std::string f = m["file"].get<std::string>();
        if (!plain_member_name(f))
            bad(at + ": file " + support::quote_for_message(f, 60) +
                " is not a plain NAME.safetensors in the ensemble's folder");
        const double w = m["weight"].get<double>();
        if (!std::isfinite(w) || w < 0.0 || w > 1e6)
            bad(at + ": weight is not a finite number in [0, 1e6]");
        names.push_back((dir / f).string());
        members.push_back(load_model(dir / f, registry, device_spec, batch));
        weights.push_back(w);
    }
    try {
        auto e = make_ensemble(std::move(members), std::move(names), method,
                               method == "weighted" ? weights : std::vector<double>{});
        e->file = file;
        return e;
    } catch (const ConfigError& err) {
        throw DataError(name + ": " + err.what());
    }
}

}  // namespace

bool is_ensemble_path(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) return fs::exists(path / "ensemble.json", ec);
    return path.extension() == ".json";
}

std::unique_ptr<Ensemble> load_any_model(const fs::path& path, const Registry& registry,
                                         const std::string& device_spec, std::size_t batch) {
    if (is_ensemble_path(path)) {
        std::error_code ec;
        const fs::path file = fs::is_directory(path, ec) ? path / "ensemble.json" : path;
        return load_ensemble_file(file, registry, device_spec, batch);
    }
    std::vector<std::unique_ptr<SavedModel>> one;
    one.push_back(load_model(path, registry, device_spec, batch));
    const std::string name = one.front()->file.string();
    return make_ensemble(std::move(one), {name}, "average", {});
}

void check_ensemble_folder(const fs::path& dir) {
    std::error_code ec;
    // A folder that holds something else (a training run, a study) is not taken over: its
    // model would be shadowed by ensemble.json (predict RUN would load the ensemble).
    if (fs::is_directory(dir, ec) && !fs::exists(dir / "ensemble.json", ec) &&
        fs::directory_iterator(dir, ec) != fs::directory_iterator())
        throw Error(support::printable(dir.string(), support::kMaxShownPathBytes) +
                    ": is a folder that holds other files, not an ensemble; save the ensemble "
                    "in a new or empty folder");
}

fs::path save_ensemble(const Ensemble& ensemble, const fs::path& dir) {
    check_ensemble_folder(dir);
    std::error_code ec;
    const std::string shown = support::printable(dir.string(), support::kMaxShownPathBytes);
    // Every member is read before anything is written: members may come from this very folder
    // (re-saving an ensemble), and member_1 must not be replaced before member_2 is read.
    std::vector<std::string> bytes(ensemble.members.size());
    for (std::size_t i = 0; i < ensemble.members.size(); ++i) {
        std::ifstream in(ensemble.members[i]->file, std::ios::binary);
        std::ostringstream content;
        content << in.rdbuf();
        if (!in)
            throw DataError(ensemble.members[i]->file.string() + ": cannot be read to copy it");
        bytes[i] = std::move(content).str();
    }
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir, ec)) throw Error(shown + ": cannot create the ensemble's folder");
    nlohmann::json j;
    j["format"] = kFormat;
    j["version"] = 1;
    j["method"] = ensemble.method;
    j["members"] = nlohmann::json::array();
    for (std::size_t i = 0; i < ensemble.members.size(); ++i) {
        const std::string f = "member_" + std::to_string(i + 1) + ".safetensors";
        support::write_file_atomic(dir / f, bytes[i]);
        j["members"].push_back({{"file", f}, {"weight", ensemble.weights[i]}});
    }
    const fs::path file = dir / "ensemble.json";
    support::write_file_atomic(file, j.dump(2) + "\n");
    return file;
}

}  // namespace plexus::core
