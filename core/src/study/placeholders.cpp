// ${name} placeholders in a study's base experiment or command, and moving an experiment's
// text to another folder without breaking its relative data paths.
#include <set>
#include <sstream>

#include "plexus/core/experiment/experiment.hpp"
#include "plexus/core/study/study.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

/// Calls `on(name, begin, end)` for every ${name} in `line` ([begin, end) spans the whole
/// placeholder); stops at a malformed one after calling `fail` (which may throw).
template <class On, class Fail>
void scan_line(const std::string& line, On on, Fail fail) {
    std::size_t i = 0;
    while ((i = line.find("${", i)) != std::string::npos) {
        const std::size_t end = line.find('}', i + 2);
        if (end == std::string::npos) return fail("'${' without its closing '}'");
        const std::string name = line.substr(i + 2, end - i - 2);
        bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
        for (char c : name) valid &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        if (!valid)
            return fail("'${" + name + "}' is not a placeholder (use ${name}: letters, digits, _)");
        on(name, i, end + 1);
        i = end + 1;
    }
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

bool is_section_line(const std::string& stripped) {
    return !stripped.empty() && stripped.front() == '[' && stripped.back() == ']';
}

std::string key_of(const std::string& stripped) {
    const auto eq = stripped.find('=');
    return eq == std::string::npos ? "" : support::trim(stripped.substr(0, eq));
}

}  // namespace

void check_placeholders(const std::string& text, const StudySpec& spec, const std::string& where) {
    std::set<std::string> used;
    std::istringstream in(text);
    int line_no = 0;
    for (std::string raw; std::getline(in, raw);) {
        ++line_no;
        const std::string at = where + ":" + std::to_string(line_no) + ": ";
        // A command is one shell line, where '#' is not a comment.
        const std::string line = spec.command.empty() ? strip_comment(raw) : raw;
        scan_line(
            line,
            [&](const std::string& name, std::size_t, std::size_t) {
                bool defined = false;
                std::vector<std::string> names;
                for (const auto& p : spec.space) {
                    defined |= p.name == name;
                    names.push_back(p.name);
                }
                if (!defined)
                    throw ConfigError(at + "placeholder ${" + name + "} is not a parameter of " +
                                      spec.file.string() +
                                      " [space] (defined: " + support::join(names) +
                                      support::did_you_mean(name, names) + ")");
                used.insert(name);
            },
            [&](const std::string& what) { throw ConfigError(at + what); });
    }
    for (std::size_t i = 0; i < spec.space.size(); ++i)
        if (!used.count(spec.space[i].name))
            throw ConfigError(
                spec.space_where.size() > i
                    ? spec.space_where[i] + ": parameter '" + spec.space[i].name +
                          "' is never used as ${" + spec.space[i].name + "} in " + where
                    : "parameter '" + spec.space[i].name + "' is never used in " + where);
}

std::string substitute(const std::string& text, const SearchSpace& space,
                       const std::vector<double>& values, bool quote) {
    if (values.size() != space.size())
        throw Error("substitute: " + std::to_string(values.size()) + " values for " +
                    std::to_string(space.size()) + " parameters");
    std::string out;
    std::size_t done = 0;
    scan_line(
        text,
        [&](const std::string& name, std::size_t begin, std::size_t end) {
            for (std::size_t i = 0; i < space.size(); ++i) {
                if (space[i].name != name) continue;
                const std::string v = param_text(space[i], values[i]);
                out += text.substr(done, begin - done) + (quote ? shell_quote(v) : v);
                done = end;
                return;
            }
            // Not a parameter: only possible in a comment (check_placeholders refuses it
            // anywhere else), so it stays as written.
        },
        [](const std::string&) {});  // only in comments: check_placeholders saw the rest
    return out + text.substr(done);
}

std::string relocate_experiment(const std::string& text, const fs::path& from_dir,
                                const fs::path& to_dir) {
    const fs::path from = fs::weakly_canonical(fs::absolute(from_dir));
    const fs::path to = fs::weakly_canonical(fs::absolute(to_dir));
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string raw; std::getline(in, raw);) lines.push_back(raw);

    // Where the [experiment] section is and whether it already sets base_dir.
    std::size_t section = lines.size(), base_line = lines.size();
    std::string current;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string s = strip_comment(lines[i]);
        if (is_section_line(s)) {
            current = support::trim(std::string_view(s).substr(1, s.size() - 2));
            if (current == "experiment" && section == lines.size()) section = i;
        } else if (current == "experiment" && key_of(s) == "base_dir") {
            base_line = i;
        }
    }
    fs::path base = from;
    if (base_line < lines.size()) {
        const std::string s = strip_comment(lines[base_line]);
        base = (from / support::trim(s.substr(s.find('=') + 1))).lexically_normal();
        if (!base.has_filename()) base = base.parent_path();  // "a/b/" names "a/b"
    }
    std::string rel = base.lexically_relative(to).generic_string();
    if (rel.empty()) rel = base.generic_string();  // different roots: keep it absolute
    const std::string entry = "base_dir = " + rel + "  ; data paths start here";

    std::string out;
    if (section == lines.size()) out = "[experiment]\n" + entry + "\n\n";
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out += i == base_line ? entry : lines[i];
        out += "\n";
        if (i == section && base_line == lines.size()) out += entry + "\n";
    }
    return out;
}

}  // namespace plexus::core
