// The data-source dispatcher: parses `SCHEME:PATH [key=value ...]`, checks every option
// against the scheme's list before reading anything, then hands typed options to a reader.
#include "plexus/core/data/readers/sources.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "plexus/core/data/readers/idx.hpp"
#include "plexus/core/data/readers/series.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

constexpr const char* kSchemes =
    "idx:PREFIX, csv:PATH, npy:PATH labels=PATH|targets=PATH, dir:PATH or "
    "series:PATH target=NAME window=W";

struct Scheme {
    const char* name;
    std::vector<std::string> keys;
};

const std::vector<Scheme>& schemes() {
    static const std::vector<Scheme> all = {
        {"idx", {}},
        {"csv", {"label", "delimiter", "header", "target", "columns"}},
        {"npy", {"labels", "targets"}},
        {"dir", {"size", "channels"}},
        {"series",
         {"columns", "target", "window", "horizon", "stride", "relative", "time", "delimiter"}}};
    return all;
}

struct Spec {
    std::string scheme, path;
    std::vector<std::pair<std::string, std::string>> options;
};

bool blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

Spec parse_spec(const std::string& spec, const std::string& at) {
    std::vector<std::string> words;
    for (std::size_t i = 0; i < spec.size();) {
        while (i < spec.size() && blank(spec[i])) ++i;
        const std::size_t start = i;
        while (i < spec.size() && !blank(spec[i])) ++i;
        if (i > start) words.push_back(spec.substr(start, i - start));
    }
    if (words.empty()) throw ConfigError(at + "empty data source (expected " + kSchemes + ")");
    const std::size_t colon = words[0].find(':');
    if (colon == std::string::npos)
        throw ConfigError(at + "data source " + support::quote_for_message(words[0]) +
                          " has no scheme (expected " + kSchemes + ", e.g. csv:data/iris.csv)");
    Spec out{words[0].substr(0, colon), words[0].substr(colon + 1), {}};
    std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::vector<std::string> names;
    const Scheme* scheme = nullptr;
    for (const Scheme& s : schemes()) {
        names.push_back(s.name);
        if (out.scheme == s.name) scheme = &s;
    }
    if (!scheme)
        throw ConfigError(
            at + "unknown data source scheme " + support::quote_for_message(out.scheme + ":") +
            support::did_you_mean(out.scheme, names) + " (expected " + kSchemes + ")");
    if (out.path.empty())
        throw ConfigError(at + "missing path after '" + out.scheme + ":' (expected " + kSchemes +
                          ")");
    const std::string valid = scheme->keys.empty()
                                  ? out.scheme + ": takes no options"
                                  : "valid for " + out.scheme + ": " + support::join(scheme->keys);
    for (std::size_t i = 1; i < words.size(); ++i) {
        const std::size_t eq = words[i].find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == words[i].size())
            throw ConfigError(at + "expected key=value after the data path, found " +
                              support::quote_for_message(words[i]) + " (" + valid +
                              "; paths cannot contain blanks)");
        std::string key = words[i].substr(0, eq);
        if (std::find(scheme->keys.begin(), scheme->keys.end(), key) == scheme->keys.end())
            throw ConfigError(at + "unknown option " + support::quote_for_message(key) +
                              support::did_you_mean(key, scheme->keys) + " (" + valid + ")");
        for (const auto& [k, v] : out.options)
            if (k == key)
                throw ConfigError(at + "option " + support::quote_for_message(key) +
                                  " is given twice");
        out.options.emplace_back(std::move(key), words[i].substr(eq + 1));
    }
    return out;
}

[[noreturn]] void bad_value(const std::string& at, const std::string& key, const std::string& value,
                            const std::string& expected) {
    throw ConfigError(at + "bad value for " + key + ": " + support::quote_for_message(value) +
                      " (expected " + expected + ")");
}

bool parse_size(std::string_view s, std::size_t& out) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// A comma-separated list of column names or indices, none empty.
std::vector<std::string> column_list(const std::string& at, const std::string& key,
                                     const std::string& value) {
    std::vector<std::string> out = support::split(value, ',');
    for (const auto& name : out)
        if (name.empty())
            bad_value(at, key, value, "column names or 0-based indices separated by commas");
    return out;
}

char delimiter(const std::string& at, const std::string& value) {
    static const std::vector<std::pair<std::string, char>> named = {
        {"comma", ','},     {"tab", '\t'},  {"\\t", '\t'},
        {"semicolon", ';'}, {"space", ' '}, {"pipe", '|'}};
    const auto it =
        std::find_if(named.begin(), named.end(), [&](const auto& n) { return n.first == value; });
    if (it != named.end()) return it->second;
    if (value.size() != 1 || value[0] == '"')
        bad_value(at, "delimiter", value,
                  "one character other than '\"', or comma, tab, semicolon, space, pipe");
    return value[0];
}

CsvOptions csv_options(const Spec& spec, const std::string& at, const Dataset* reference,
                       bool allow_unlabeled) {
    CsvOptions o;
    for (const auto& [key, value] : spec.options) {
        if (key == "label") {
            o.label = value;
        } else if (key == "target") {
            o.targets = column_list(at, key, value);
        } else if (key == "columns") {
            o.columns = column_list(at, key, value);
        } else if (key == "delimiter") {
            o.delimiter = delimiter(at, value);
        } else if (key == "header") {
            if (value != "true" && value != "false") bad_value(at, key, value, "true or false");
            o.header = value == "true";
        }
    }
    if (allow_unlabeled && o.label == "none" && o.targets.empty()) {
        o.label.clear();
        o.no_label = true;
        return o;
    }
    if (allow_unlabeled && reference && o.label.empty() && o.targets.empty() &&
        reference->sample_shape.rank() == 1)
        o.unlabeled_columns = reference->features();
    // A test set (or a saved model's data) of a regression set reads the same target columns.
    if (reference && reference->has_targets() && o.label.empty() && o.targets.empty() && o.header)
        o.targets = reference->target_names;
    return o;
}

SeriesOptions series_options(const Spec& spec, const std::string& at) {
    SeriesOptions o;
    const auto step = [&](const std::string& key, const std::string& value) {
        std::size_t n = 0;
        if (!parse_size(value, n) || n < 1 || n > kMaxSeriesStep)
            bad_value(at, key, value,
                      "a whole number of rows from 1 to " + std::to_string(kMaxSeriesStep));
        return n;
    };
    for (const auto& [key, value] : spec.options) {
        if (key == "columns") {
            o.columns = column_list(at, key, value);
        } else if (key == "target") {
            o.targets = column_list(at, key, value);
        } else if (key == "window") {
            o.window = step(key, value);
        } else if (key == "horizon") {
            o.horizon = step(key, value);
        } else if (key == "stride") {
            o.stride = step(key, value);
        } else if (key == "relative") {
            if (value != "true" && value != "false") bad_value(at, key, value, "true or false");
            o.relative = value == "true";
        } else if (key == "time") {
            o.time = value;
        } else if (key == "delimiter") {
            o.delimiter = delimiter(at, value);
        }
    }
    if (o.targets.empty() || o.window == 0)
        throw ConfigError(at + "series:" + support::printable(spec.path) + " needs " +
                          (o.targets.empty() ? "target=NAME (the column to forecast)"
                                             : "window=W (rows per window)") +
                          ", e.g. series:co2.csv target=co2 window=52 horizon=1");
    return o;
}

/// The image shape (channels, height, width) that a folder must be brought to for `reference`:
/// its [C, H, W] with C of 1 or 3, or [H, W] as one channel; nothing for other references.
std::optional<std::array<std::size_t, 3>> image_shape_of(const Dataset* reference) {
    if (!reference) return std::nullopt;
    const Shape& s = reference->sample_shape;
    if (s.rank() == 2) return std::array<std::size_t, 3>{1, s[0], s[1]};
    if (s.rank() == 3 && (s[0] == 1 || s[0] == 3))
        return std::array<std::size_t, 3>{s[0], s[1], s[2]};
    return std::nullopt;
}

ImageFolderOptions dir_options(const Spec& spec, const std::string& at, const Dataset* reference) {
    ImageFolderOptions o;
    for (const auto& [key, value] : spec.options) {
        if (key == "size") {
            const std::size_t x = value.find_first_of("xX");
            if (x == std::string::npos ||
                !parse_size(std::string_view(value).substr(0, x), o.height) ||
                !parse_size(std::string_view(value).substr(x + 1), o.width) || o.height == 0 ||
                o.width == 0 || o.height > kMaxImageSide || o.width > kMaxImageSide)
                bad_value(
                    at, key, value,
                    "HxW, each from 1 to " + std::to_string(kMaxImageSide) + ", e.g. size=32x32");
        } else if (key == "channels") {
            if (value != "1" && value != "3") bad_value(at, key, value, "1 or 3");
            o.channels = value == "1" ? 1 : 3;
        }
    }
    // A test or validation folder (or one given to a saved model) takes the training images'
    // shape, whatever its own is: [C, H, W] with C of 1 or 3, or [H, W] (IDX images) as one
    // channel.
    if (const auto shape = image_shape_of(reference)) {
        const auto [c, h, w] = *shape;
        if ((o.height && (o.height != h || o.width != w)) || (o.channels && o.channels != c)) {
            const std::string given =
                (o.height ? "size=" + std::to_string(o.height) + "x" + std::to_string(o.width)
                          : "") +
                (o.height && o.channels ? " " : "") +
                (o.channels ? "channels=" + std::to_string(o.channels) : "");
            throw ConfigError(at + given + " differs from the training images " +
                              reference->sample_shape.str() + " (size=" + std::to_string(h) + "x" +
                              std::to_string(w) + " channels=" + std::to_string(c) +
                              "); images are brought to the training shape, so drop these "
                              "options");
        }
        o.channels = c;
        o.height = h;
        o.width = w;
    }
    return o;
}

// A folder of images with class subfolders is labelled; one of images alone is new data.
// Anything else (no folder there) is left to the labelled reader's messages.
bool has_subfolders(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return true;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] != '.' && it->is_directory(ec)) return true;
    }
    return false;
}

// Float targets of another kind, width or name than the training data's cannot be compared.
void match_targets(const Dataset& data, const Dataset& reference, const std::string& at) {
    const auto kind = [](const Dataset& d) {
        return d.has_targets() ? "float targets (" + support::join_for_message(d.target_names) + ")"
                               : std::string("class labels");
    };
    // A reference that knows neither classes nor targets (e.g. a saved model's card without
    // target names) cannot be checked against.
    const bool known =
        reference.has_targets() || reference.classes > 0 || !reference.class_names.empty();
    if (!known) return;
    if (data.has_targets() != reference.has_targets() ||
        (data.has_targets() && data.target_names != reference.target_names))
        throw DataError(at + data.source + ": has " + kind(data) + ", the training data " +
                        kind(reference) + "; give both the same label= or target= columns");
    // Windows [W, F] of another W and F can hold as many values and still mean nothing.
    if (data.chronological && reference.chronological &&
        data.sample_shape != reference.sample_shape)
        throw DataError(at + data.source + ": windows are " + data.sample_shape.str() +
                        " (window x columns), the training windows " +
                        reference.sample_shape.str() + "; give both the same window= and columns=");
    if (data.chronological && reference.chronological &&
        data.target_base.empty() != reference.target_base.empty())
        throw DataError(
            at + data.source + ": relative=" + (data.target_base.empty() ? "false" : "true") +
            ", the training series relative=" + (reference.target_base.empty() ? "false" : "true") +
            "; a model reads windows one way only, so give both the same relative=");
}

}  // namespace

void match_classes(Dataset& data, const Dataset& reference, const ClassOrigins& origins) {
    // A reference without classes (a model of float targets) says nothing about labels.
    if (reference.classes == 0 && reference.class_names.empty()) return;
    std::vector<std::string> ref_names;
    std::unordered_map<std::string, std::uint32_t> ref_id;
    const std::size_t ref_classes = std::max(reference.classes, reference.class_names.size());
    for (std::size_t c = 0; c < ref_classes; ++c) {
        ref_names.push_back(c < reference.class_names.size() ? reference.class_names[c]
                                                             : std::to_string(c));
        ref_id.emplace(ref_names.back(), static_cast<std::uint32_t>(c));
    }
    const std::size_t classes = std::max(data.classes, data.class_names.size());
    const auto name = [&](std::size_t k) {
        return k < data.class_names.size() ? data.class_names[k] : std::to_string(k);
    };
    std::vector<bool> used(classes, false);
    for (std::uint32_t l : data.labels) {
        if (l >= classes)
            throw DataError(data.source + ": class id " + std::to_string(l) + " out of range (" +
                            std::to_string(classes) + " classes)");
        used[l] = true;
    }

    std::vector<std::uint32_t> to(classes, 0);
    std::size_t missing = classes;
    for (std::size_t k = 0; k < classes && missing == classes; ++k) {
        if (!used[k]) continue;
        const auto it = ref_id.find(name(k));
        if (it == ref_id.end())
            missing = k;
        else
            to[k] = it->second;
    }
    if (missing != classes) {
        // Plain ids ("0", "1", ...) keep their meaning against a reference with named classes.
        bool plain_ids = true;
        for (std::size_t k = 0; k < classes && plain_ids; ++k)
            plain_ids = name(k) == std::to_string(k);
        if (plain_ids) {
            missing = classes;
            for (std::size_t k = 0; k < classes && missing == classes; ++k) {
                if (!used[k]) continue;
                if (k < ref_classes)
                    to[k] = static_cast<std::uint32_t>(k);
                else
                    missing = k;
            }
        }
    }
    if (missing != classes) {
        std::vector<std::string> shown(ref_names);
        if (ref_classes > 20) {  // as before: the first 20, then "..."
            shown.resize(20);
            shown.push_back("...");
        }
        const std::string origin = missing < origins.size() ? origins[missing] : data.source;
        throw DataError(support::printable(origin, support::kMaxShownPathBytes) + ": label " +
                        support::quote_for_message(name(missing)) +
                        " is not a class of the training data (training classes: " +
                        support::join_for_message(shown, 21) + ")");
    }
    for (std::uint32_t& l : data.labels) l = to[l];
    data.classes = ref_classes;
    data.class_names = std::move(ref_names);
}

Dataset load_dataset(const std::string& spec, const fs::path& base_dir, const std::string& where,
                     const Dataset* reference, bool allow_unlabeled) {
    const std::string at = where.empty() ? "" : where + ": ";
    const Spec s = parse_spec(spec, at);
    const auto resolve = [&](const std::string& p) {
        fs::path path = p;
        if (path.is_relative() && !base_dir.empty()) path = base_dir / path;
        return path;
    };
    const fs::path path = resolve(s.path);
    ClassOrigins origins;
    Dataset ds;
    if (s.scheme == "idx") {
        ds = load_idx_dataset(path);
        origins.assign(ds.classes, ds.source);
    } else if (s.scheme == "npy") {
        NpyOptions o;
        for (const auto& [key, value] : s.options)
            (key == "labels" ? o.labels : o.targets) = resolve(value);
        o.unlabeled = allow_unlabeled && o.labels.empty() && o.targets.empty();
        if (o.labels.empty() == o.targets.empty() && !o.unlabeled)
            throw ConfigError(at + "npy:" + support::printable(s.path) +
                              (o.labels.empty() ? " needs labels=PATH (a .npy of class ids, one "
                                                  "per sample) or targets=PATH (float targets)"
                                                : " has both labels= and targets=; keep one "
                                                  "(class ids or float targets)"));
        ds = load_npy(path, o, &origins);
    } else if (s.scheme == "series") {
        const SeriesOptions o = series_options(s, at);
        try {
            ds = load_series(path, o);
        } catch (const ConfigError& e) {
            throw ConfigError(at + e.what());
        }
    } else {
        const CsvOptions csv =
            s.scheme == "csv" ? csv_options(s, at, reference, allow_unlabeled) : CsvOptions{};
        const ImageFolderOptions images =
            s.scheme == "dir" ? dir_options(s, at, reference) : ImageFolderOptions{};
        try {
            ds = s.scheme == "csv" ? load_csv(path, csv, &origins)
                 : allow_unlabeled && !has_subfolders(path)
                     ? load_unlabeled_images(path, images)
                     : load_image_folder(path, images, &origins);
            // Same pixels, in the training samples' own shape ([1, H, W] read as [H, W]).
            if (s.scheme == "dir" && image_shape_of(reference))
                ds.sample_shape = reference->sample_shape;
        } catch (const ConfigError& e) {  // an option that does not fit the file
            throw ConfigError(at + e.what());
        }
    }
    if (reference && !ds.unlabeled) {
        match_targets(ds, *reference, at);
        if (!ds.has_targets()) match_classes(ds, *reference, origins);
    }
    return ds;
}

}  // namespace plexus::core
