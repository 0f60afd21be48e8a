// Study files: [study] settings and the [space] a sampler searches, parsed line by line so
// every message names FILE:LINE (the format is the experiment files' INI dialect).
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "plexus/core/experiment/experiment.hpp"
#include "plexus/core/study/study.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

constexpr std::string_view kStudyKeys[] = {"name",      "experiment", "command", "objective",
                                           "direction", "sampler",    "pruner",  "trials",
                                           "parallel",  "seed",       "timeout", "storage"};
constexpr std::size_t kMaxStudyFile = 1 << 20;
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53: integers stay exact as doubles

/// Whitespace-separated words; "double quotes" keep spaces inside one word.
std::vector<std::string> words(const std::string& text,
                               const std::function<void(const std::string&)>& fail) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == ' ' || text[i] == '\t') {
            ++i;
            continue;
        }
        if (text[i] == '"') {
            const std::size_t end = text.find('"', i + 1);
            if (end == std::string::npos) fail("unterminated \" in '" + text + "'");
            out.push_back(text.substr(i + 1, end - i - 1));
            i = end + 1;
            continue;
        }
        const std::size_t end = text.find_first_of(" \t", i);
        out.push_back(text.substr(i, end == std::string::npos ? std::string::npos : end - i));
        i = end == std::string::npos ? text.size() : end;
    }
    return out;
}

bool parse_number(const std::string& s, double& out) {
    const char* begin = s.data();
    if (!s.empty() && s[0] == '+') ++begin;
    auto [p, ec] = std::from_chars(begin, s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

struct Line {
    const std::string& where;  // FILE:LINE
    [[noreturn]] void fail(const std::string& what) const {
        throw ConfigError(where + ": " + what);
    }
};

double number(const Line& line, const std::string& word, const std::string& what) {
    double v = 0;
    if (!parse_number(word, v)) line.fail(what + ": expected a number, found '" + word + "'");
    return v;
}

/// "uniform LOW HIGH [step=S]", "loguniform LOW HIGH", "int LOW HIGH [step=S] [log]",
/// "choice A B C".
SpaceParam parse_param(const std::string& name, const std::string& value, const Line& line) {
    const auto w = words(value, [&](const std::string& m) { line.fail(m); });
    SpaceParam p;
    p.name = name;
    const std::string usage =
        "expected uniform LOW HIGH [step=S], loguniform LOW HIGH, int LOW "
        "HIGH [step=S] [log] or choice A B …";
    if (w.empty()) line.fail("parameter '" + name + "': " + usage);
    const std::string& kind = w[0];
    if (kind == "choice") {
        if (w.size() < 2) line.fail("parameter '" + name + "': choice needs at least one value");
        std::set<std::string> seen;
        for (std::size_t i = 1; i < w.size(); ++i) {
            if (!seen.insert(w[i]).second)
                line.fail("parameter '" + name + "': choice value '" + w[i] + "' is listed twice");
            p.choices.push_back(w[i]);
        }
        p.kind = SpaceKind::choice;
        p.high = static_cast<double>(p.choices.size() - 1);
        return p;
    }
    if (kind == "uniform" || kind == "float")
        p.kind = SpaceKind::uniform;
    else if (kind == "loguniform" || kind == "log_uniform")
        p.kind = SpaceKind::log_uniform;
    else if (kind == "int")
        p.kind = SpaceKind::integer;
    else
        line.fail("parameter '" + name + "': unknown distribution '" + kind + "' (" + usage + ")");
    if (w.size() < 3) line.fail("parameter '" + name + "': " + usage);
    p.low = number(line, w[1], "parameter '" + name + "' low");
    p.high = number(line, w[2], "parameter '" + name + "' high");
    for (std::size_t i = 3; i < w.size(); ++i) {
        if (w[i] == "log" || w[i] == "log=true") {
            if (p.kind != SpaceKind::integer)
                line.fail("parameter '" + name +
                          "': 'log' applies to int (use loguniform for reals)");
            p.log = true;
        } else if (w[i].rfind("step=", 0) == 0) {
            if (p.kind == SpaceKind::log_uniform)
                line.fail("parameter '" + name +
                          "': loguniform takes no step (use choice for a "
                          "fixed set of rates)");
            p.step = number(line, w[i].substr(5), "parameter '" + name + "' step");
            if (!(p.step > 0)) line.fail("parameter '" + name + "': step must be positive");
        } else {
            line.fail("parameter '" + name + "': unexpected '" + w[i] + "' (" + usage + ")");
        }
    }
    if (p.low > p.high)
        line.fail("parameter '" + name + "': low " + w[1] + " is above high " + w[2]);
    if ((p.kind == SpaceKind::log_uniform || p.log) && !(p.low > 0))
        line.fail("parameter '" + name + "': a log scale needs low > 0, found " + w[1]);
    if (p.kind == SpaceKind::integer) {
        if (p.step == 0) p.step = 1;
        for (double v : {p.low, p.high, p.step})
            if (v != std::floor(v) || std::fabs(v) > kMaxExactInteger)
                line.fail("parameter '" + name +
                          "': int bounds and step must be whole numbers "
                          "below 2^53");
        if (p.log && p.step != 1) line.fail("parameter '" + name + "': int with log takes no step");
    }
    if (p.step > 0) {
        const double n = (p.high - p.low) / p.step;
        if (std::fabs(n - std::round(n)) > 1e-9 * std::max(1.0, n))
            line.fail(
                fmt::format("parameter '{}': high - low ({}) is not a whole number of steps "
                            "of {}",
                            name, p.high - p.low, p.step));
    }
    return p;
}

bool is_study_key(const std::string& key) {
    for (auto k : kStudyKeys)
        if (k == key) return true;
    return false;
}

std::vector<std::string> study_keys() {
    return {std::begin(kStudyKeys), std::end(kStudyKeys)};
}

std::uint64_t count(const Line& line, const std::string& key, const std::string& value,
                    std::uint64_t min, std::uint64_t max) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || v < min || v > max)
        line.fail(fmt::format("{} must be a whole number from {} to {}, found '{}'", key, min, max,
                              value));
    return v;
}

/// minimize for losses and errors, maximize for scores; empty when the name does not say.
std::string direction_of(const std::string& objective) {
    for (const char* word : {"loss", "error", "mae", "mse", "rmse", "mape"})
        if (objective.find(word) != std::string::npos) return "minimize";
    for (const char* word : {"accuracy", "f1", "auc", "precision", "recall", "r2"})
        if (objective.find(word) != std::string::npos) return "maximize";
    return "";
}

}  // namespace

std::string read_small_text(const fs::path& file, const std::string& what) {
    std::error_code ec;
    if (fs::is_directory(file, ec))
        throw ConfigError(file.string() + ": cannot read (expected " + what +
                          ", found a directory)");
    if (fs::exists(file, ec) && !fs::is_regular_file(file, ec))
        throw ConfigError(file.string() + ": cannot read (expected a regular file)");
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw ConfigError(file.string() + ": cannot read (" +
                          (fs::exists(file, ec) ? "permission denied?" : "no such file") + ")");
    std::string text(kMaxStudyFile + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxStudyFile)
        throw ConfigError(file.string() + ": larger than 1 MiB; is this " + what + "?");
    return text;
}

StudySpec load_study(const fs::path& file) {
    const std::string text = read_small_text(file, "a study file");
    StudySpec spec;
    spec.file = file;
    std::map<std::string, std::pair<std::string, std::string>> settings;  // key -> value, where
    std::istringstream in(text);
    std::string raw, section;
    int line_no = 0;
    while (std::getline(in, raw)) {
        ++line_no;
        if (line_no == 1 && raw.compare(0, 3, "\xEF\xBB\xBF") == 0) raw.erase(0, 3);
        const std::string where = file.string() + ":" + std::to_string(line_no);
        const Line line{where};
        const std::string l = strip_comment(raw);
        if (l.empty()) continue;
        if (l.front() == '[') {
            if (l.back() != ']') line.fail("syntax error: expected 'key = value' or '[section]'");
            section = support::trim(std::string_view(l).substr(1, l.size() - 2));
            if (section != "study" && section != "space")
                line.fail("unknown section [" + section + "] (valid: study, space)");
            continue;
        }
        const auto eq = l.find('=');
        const std::string key = eq == std::string::npos ? "" : support::trim(l.substr(0, eq));
        const std::string value = eq == std::string::npos ? "" : support::trim(l.substr(eq + 1));
        if (key.empty()) line.fail("syntax error: expected 'key = value' or '[section]'");
        if (section.empty()) line.fail("key '" + key + "' before any section ([study] or [space])");
        if (value.empty()) line.fail("empty value for '" + key + "'");
        if (section == "study") {
            if (!is_study_key(key))
                line.fail("unknown key '" + key +
                          "' in [study] (valid: " + support::join(study_keys()) +
                          support::did_you_mean(key, study_keys()) + ")");
            if (settings.count(key))
                line.fail("duplicate key '" + key + "' in [study] (first set at " +
                          settings[key].second + ")");
            settings[key] = {value, where};
            continue;
        }
        bool valid =
            !key.empty() && (std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_');
        for (char c : key) valid &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        if (!valid)
            line.fail("parameter name '" + key +
                      "' must be letters, digits and '_' (it is used "
                      "as ${" +
                      key + "})");
        for (const auto& p : spec.space)
            if (p.name == key) line.fail("parameter '" + key + "' is defined twice");
        spec.space.push_back(parse_param(key, value, line));
        spec.space_where.push_back(where);
    }

    const std::string fname = file.string();
    auto get = [&](const std::string& key) -> const std::string* {
        const auto it = settings.find(key);
        return it == settings.end() ? nullptr : &it->second.first;
    };
    auto at = [&](const std::string& key) { return Line{settings.at(key).second}; };
    if (spec.space.empty())
        throw ConfigError(fname + ": no [space] parameters (add e.g. 'lr = loguniform 1e-4 1e-1')");
    spec.name = get("name") ? *get("name") : file.stem().string();
    if (spec.name.empty() || spec.name == "." || spec.name == ".." ||
        spec.name.find_first_of("/\\") != std::string::npos)
        throw ConfigError(fname + ": study name '" + spec.name + "' cannot name a folder");
    spec.dir = file.parent_path() / spec.name;
    if (get("experiment") && get("command"))
        at("command").fail("set either experiment or command, not both");
    if (!get("experiment") && !get("command"))
        throw ConfigError(fname + ": [study] needs experiment = FILE.ini (or command = PROGRAM)");
    if (get("experiment")) {
        fs::path exp = *get("experiment");
        spec.experiment = exp.is_relative() ? file.parent_path() / exp : exp;
    } else {
        spec.command = *get("command");
    }
    spec.objective = get("objective") ? *get("objective") : (get("command") ? "value" : "");
    if (spec.objective.empty())
        throw ConfigError(fname +
                          ": [study] needs objective = a validation value (val_loss, "
                          "val_accuracy, …)");
    if (get("experiment")) {
        if (spec.objective.rfind("test_", 0) == 0)
            at("objective")
                .fail("objective '" + spec.objective +
                      "' is a test-set value: a study "
                      "must never choose on the test set (use val_" +
                      spec.objective.substr(5) + ")");
        if (spec.objective.rfind("val_", 0) != 0)
            at("objective")
                .fail("objective '" + spec.objective +
                      "' is not a validation value; "
                      "tune on val_" +
                      spec.objective + " (training values overfit)");
    }
    std::string direction = get("direction") ? *get("direction") : direction_of(spec.objective);
    if (direction.empty())
        throw ConfigError(fname + ": cannot tell whether '" + spec.objective +
                          "' should be high or low: set direction = minimize or maximize");
    if (direction != "minimize" && direction != "maximize")
        at("direction").fail("direction must be minimize or maximize, found '" + direction + "'");
    spec.maximize = direction == "maximize";
    if (get("sampler")) spec.sampler = *get("sampler");
    if (get("pruner")) spec.pruner = *get("pruner");
    if (get("trials")) spec.trials = count(at("trials"), "trials", *get("trials"), 1, 1000000);
    if (get("parallel"))
        spec.parallel = count(at("parallel"), "parallel", *get("parallel"), 1, 256);
    spec.seed =
        get("seed") ? count(at("seed"), "seed", *get("seed"), 0, 4000000000000000000ull) : 42;
    if (get("timeout")) {
        if (!parse_number(*get("timeout"), spec.timeout) || spec.timeout < 0 || spec.timeout > 1e7)
            at("timeout").fail("timeout must be seconds from 0 (none) to 1e7, found '" +
                               *get("timeout") + "'");
    }
    if (get("storage")) spec.storage = *get("storage");
    return spec;
}

std::filesystem::path StudySpec::trial_dir(std::uint64_t number) const {
    return dir / "trials" / fmt::format("{:04}", number);
}

std::string StudySpec::definition() const {
    std::string out =
        "objective = " + objective + "\ndirection = " + (maximize ? "maximize" : "minimize") + "\n";
    out += experiment.empty() ? "command = " + command + "\n"
                              : "experiment = " + experiment.filename().string() + "\n";
    for (const auto& p : space) {
        out += p.name + " = ";
        switch (p.kind) {
            case SpaceKind::uniform:
                out += "uniform";
                break;
            case SpaceKind::log_uniform:
                out += "loguniform";
                break;
            case SpaceKind::integer:
                out += "int";
                break;
            case SpaceKind::choice:
                out += "choice";
                break;
        }
        if (p.kind == SpaceKind::choice) {
            for (const auto& c : p.choices) out += " \"" + c + "\"";
        } else {
            out += fmt::format(" {} {}", p.low, p.high);
            if (p.step > 0) out += fmt::format(" step={}", p.step);
            if (p.log) out += " log";
        }
        out += "\n";
    }
    return out;
}

std::string param_text(const SpaceParam& param, double value) {
    switch (param.kind) {
        case SpaceKind::choice: {
            const double i = std::round(value);
            if (!(i >= 0 && i < static_cast<double>(param.choices.size())))
                throw Error(fmt::format("parameter '{}': choice index {} is out of range",
                                        param.name, value));
            return param.choices[static_cast<std::size_t>(i)];
        }
        case SpaceKind::integer:
            if (!std::isfinite(value) || std::fabs(value) > kMaxExactInteger)
                throw Error(fmt::format("parameter '{}': {} is not an integer", param.name, value));
            return fmt::format("{}", static_cast<long long>(std::llround(value)));
        default:
            if (!std::isfinite(value))
                throw Error(fmt::format("parameter '{}': {} is not finite", param.name, value));
            if (param.step > 0) {
                // A lattice value carries the noise of low + k·step; 12 digits drop it.
                double clean = 0;
                const std::string s = fmt::format("{:.12g}", value);
                if (parse_number(s, clean)) return fmt::format("{}", clean);
            }
            return fmt::format("{}", value);
    }
}

}  // namespace plexus::core
