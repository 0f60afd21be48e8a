// Experiment files. Boost.Program_options does the parsing proper, but it reports no line
// numbers and knows neither ';' comments nor inline comments, so a line-by-line pre-scan
// first validates each line, records where every key occurs, and hands Program_options a
// normalized copy of the text (comments stripped, one line per original line).
#include "plexus/core/experiment/experiment.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <sstream>

#include "plexus/core/experiment/keys.hpp"
#include "plexus/error.hpp"
#include "plexus/support/input_file.hpp"
#include "plexus/support/text.hpp"

namespace po = boost::program_options;

namespace plexus::core {
namespace {

// An experiment is a page of settings; a bigger file is a wrong path (or a data file).
constexpr std::uint64_t kMaxExperimentBytes = std::uint64_t{1} << 20;

std::vector<std::string> sorted_sections() {
    std::vector<std::string> s;
    for (const auto section : experiment_sections()) s.emplace_back(section);
    std::sort(s.begin(), s.end());
    return s;
}

bool is_section(const std::string& name) {
    const auto sections = experiment_sections();
    return std::find(sections.begin(), sections.end(), name) != sections.end();
}

// Keys of one section without the prefix, sorted.
std::vector<std::string> section_keys(const std::string& section) {
    std::vector<std::string> out;
    for (const auto& k : experiment_keys()) {
        const std::string key(k.key);
        if (key.compare(0, section.size() + 1, section + ".") == 0)
            out.push_back(key.substr(section.size() + 1));
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> list_keys() {
    std::vector<std::string> out;
    for (const auto& k : experiment_keys())
        if (k.list) out.emplace_back(k.key);
    return out;
}

std::string shorten(std::string s) {
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

po::options_description make_description() {
    po::options_description desc("experiment file");
    for (const auto& k : experiment_keys()) {
        const std::string key(k.key);
        if (k.list)
            desc.add_options()(key.c_str(), po::value<std::vector<std::string>>()->composing());
        else
            desc.add_options()(key.c_str(), po::value<std::string>());
    }
    return desc;
}

struct PreScan {
    std::string normalized;                         // what Program_options reads
    std::map<std::string, std::vector<int>> lines;  // full key -> line of each occurrence
};

PreScan pre_scan(const std::string& text, const std::string& name) {
    PreScan out;
    std::istringstream in(text);
    std::string raw;
    std::string section;
    int line_no = 0;
    auto fail = [&](const std::string& what) {
        throw ConfigError(name + ":" + std::to_string(line_no) + ": " + what);
    };
    while (std::getline(in, raw)) {
        ++line_no;
        if (line_no == 1 && raw.compare(0, 3, "\xEF\xBB\xBF") == 0) raw.erase(0, 3);  // BOM
        const std::string line = strip_comment(raw);
        if (line.empty()) {
            out.normalized += '\n';
            continue;
        }
        if (line.front() == '[') {
            if (line.back() != ']')
                fail("syntax error: expected 'key = value' or '[section]', found '" +
                     shorten(support::trim(raw)) + "'");
            section = support::trim(std::string_view(line).substr(1, line.size() - 2));
            if (!is_section(section)) {
                const std::string best = support::closest_match(section, sorted_sections());
                fail("unknown section [" + support::printable(section) +
                     "] (valid: " + support::join(sorted_sections()) +
                     (best.empty() ? "" : "; did you mean [" + best + "]?") + ")");
            }
            out.normalized += "[" + section + "]\n";
            continue;
        }
        const auto eq = line.find('=');
        const std::string key = eq == std::string::npos ? "" : support::trim(line.substr(0, eq));
        if (key.empty())
            fail("syntax error: expected 'key = value' or '[section]', found '" +
                 shorten(support::trim(raw)) + "'");
        if (section.empty())
            fail("key " + support::quote_for_message(key) +
                 " before any section (expected a section line first: [" +
                 support::join(sorted_sections(), "], [") + "])");
        const std::string full = section + "." + key;
        const ExperimentKey* spec = find_experiment_key(full);
        if (!spec) {
            const auto valid = section_keys(section);
            const std::string best = support::closest_match(key, valid);
            fail("unknown key " + support::quote_for_message(key) + " in [" + section +
                 "] (valid: " + support::join(valid) +
                 (best.empty() ? "" : "; did you mean '" + best + "'?") + ")");
        }
        const std::string value = support::trim(line.substr(eq + 1));
        if (value.empty())
            fail("empty value for " + support::quote_for_message(key) + " in [" + section + "]");
        auto& seen = out.lines[full];
        if (!spec->list && !seen.empty())
            fail("duplicate key " + support::quote_for_message(key) + " in [" + section +
                 "] (first set at " + name + ":" + std::to_string(seen.front()) + "; only " +
                 support::join(list_keys()) + " may repeat)");
        seen.push_back(line_no);
        out.normalized += key + " = " + value + "\n";
    }
    return out;
}

// The line Program_options most likely complained about: the last occurrence of its key.
std::string where_of(const po::error& e, const PreScan& scan, const std::string& name) {
    if (const auto* with_name = dynamic_cast<const po::error_with_option_name*>(&e)) {
        const auto it = scan.lines.find(with_name->get_option_name());
        if (it != scan.lines.end() && !it->second.empty())
            return name + ":" + std::to_string(it->second.back());
    }
    return name;
}

}  // namespace

std::string strip_comment(const std::string& line) {
    std::size_t cut = line.find('#');
    for (std::size_t i = 0; i < line.size() && i < cut; ++i) {
        if (line[i] == ';' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
            cut = i;
            break;
        }
    }
    return support::trim(std::string_view(line).substr(0, cut));
}

Experiment Experiment::load(const std::filesystem::path& file) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        throw ConfigError(file.string() + ": cannot read (expected a file, found a directory)");
    // A FIFO or device would block or never end; experiments are regular files.
    if (std::filesystem::exists(file, ec) && !std::filesystem::is_regular_file(file, ec))
        throw ConfigError(file.string() + ": cannot read (expected a regular file)");
    if (!std::filesystem::exists(file, ec))
        throw ConfigError(file.string() + ": cannot read (no such file)");
    std::string text;
    try {
        // Opened without blocking and checked again with fstat: a FIFO swapped in after the
        // checks above must not hang the command either.
        text = support::read_input_file(file, kMaxExperimentBytes);
    } catch (const DataError& e) {
        throw ConfigError(e.what());
    }
    Experiment exp = parse(text, file.string());
    exp.path_ = file;
    return exp;
}

Experiment Experiment::parse(const std::string& text, const std::string& name) {
    const PreScan scan = pre_scan(text, name);
    po::variables_map vm;
    try {
        std::istringstream in(scan.normalized);
        po::store(po::parse_config_file(in, make_description(), false), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw ConfigError(where_of(e, scan, name) + ": " + e.what());
    }

    Experiment exp;
    exp.path_ = name;
    exp.display_name_ = name;
    for (const auto& spec : experiment_keys()) {
        const std::string key(spec.key);
        if (!vm.count(key)) continue;
        std::vector<std::string> values;
        if (spec.list)
            values = vm[key].as<std::vector<std::string>>();
        else
            values.push_back(vm[key].as<std::string>());
        const auto it = scan.lines.find(key);
        auto& settings = exp.values_[key];
        for (std::size_t i = 0; i < values.size(); ++i) {
            const bool known = it != scan.lines.end() && i < it->second.size();
            settings.push_back(
                {values[i], known ? name + ":" + std::to_string(it->second[i]) : name});
        }
    }
    return exp;
}

void Experiment::apply_override(const std::string& assignment) {
    const std::string where = "--set " + assignment;
    const auto eq = assignment.find('=');
    const std::string key = eq == std::string::npos ? "" : support::trim(assignment.substr(0, eq));
    const std::string value =
        eq == std::string::npos ? "" : support::trim(assignment.substr(eq + 1));
    if (key.empty() || value.empty())
        throw ConfigError(where + ": expected section.key=value (e.g. --set train.epochs=2)");
    // The first --set of a list key replaces the file's list, later ones append to it, so
    // repeated --set model.layer=... spell a whole new list in order (Keras and argparse
    // users expect append).
    if (is_list_key(key) && !list_overrides_.insert(key).second) {
        check_value(key, value, where);
        values_[key].push_back(Setting{value, where});
        return;
    }
    set(key, value, where);
}

void Experiment::set(const std::string& key, const std::string& value, const std::string& where) {
    check_value(key, value, where);
    values_[key] = {Setting{value, where}};
}

void Experiment::check_value(const std::string& key, const std::string& value,
                             const std::string& where) {
    if (!find_experiment_key(key)) {
        // Name the keys of the section when it is right, else the sections.
        const auto dot = key.find('.');
        const std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
        std::vector<std::string> valid;
        for (const auto& k : section_keys(section)) valid.push_back(section + "." + k);
        const std::string best = support::closest_match(key, known_keys());
        throw ConfigError(where + ": unknown key " + support::quote_for_message(key) + " (valid " +
                          (is_section(section) ? "keys: " + support::join(valid)
                                               : "sections: " + support::join(sorted_sections())) +
                          (best.empty() ? "" : "; did you mean '" + best + "'?") + ")");
    }
    if (value.empty())
        throw ConfigError(where + ": empty value for " + support::quote_for_message(key));
    // Such values could not be written back by resolved_text().
    if (value.find_first_of("#\n\r") != std::string::npos ||
        strip_comment(value).size() != value.size())
        throw ConfigError(where + ": value for " + support::quote_for_message(key) +
                          " contains a comment marker or line break (expected plain text)");
}

std::optional<Setting> Experiment::get(const std::string& key) const {
    const auto it = values_.find(key);
    if (it == values_.end() || it->second.empty()) return std::nullopt;
    return it->second.front();
}

std::vector<Setting> Experiment::get_all(const std::string& key) const {
    const auto it = values_.find(key);
    return it == values_.end() ? std::vector<Setting>{} : it->second;
}

std::string Experiment::get_or(const std::string& key, const std::string& fallback) const {
    const auto s = get(key);
    return s ? s->value : fallback;
}

std::string Experiment::name() const {
    if (const auto n = get("experiment.name")) return n->value;
    return std::filesystem::path(display_name_).stem().string();
}

std::string Experiment::resolved_text() const {
    std::string out;
    for (const auto section : experiment_sections()) {
        const std::string prefix = std::string(section) + ".";
        std::string body;
        for (const auto& k : experiment_keys()) {
            const std::string key(k.key);
            if (key.compare(0, prefix.size(), prefix) != 0) continue;
            for (const auto& s : get_all(key))
                body += key.substr(prefix.size()) + " = " + s.value + "\n";
            // Record the name even when it came from the file's stem, so the copy in a run
            // folder names the same experiment.
            if (key == "experiment.name" && !get(key)) body += "name = " + name() + "\n";
        }
        if (body.empty()) continue;
        if (!out.empty()) out += "\n";
        out += "[" + std::string(section) + "]\n" + body;
    }
    return out;
}

std::vector<std::string> Experiment::known_keys() {
    std::vector<std::string> out;
    for (const auto& k : experiment_keys()) out.emplace_back(k.key);
    std::sort(out.begin(), out.end());
    return out;
}

bool Experiment::is_list_key(const std::string& key) {
    const ExperimentKey* spec = find_experiment_key(key);
    return spec && spec->list;
}

}  // namespace plexus::core
