// The targets of the fuzz test and the bench they start from: seed files, three trained
// models, a real plugin. The texts that get mutated hold no absolute path and no timing, so
// a seed and a case number give the same input in any work folder (on the same machine:
// the trained weights may differ elsewhere).
#include "bench.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace fs = std::filesystem;

namespace plexus::fuzz {
namespace {

enum class Family { cls, npy, idx, series };

const char* kPlugin = "libplexus-callbacks-step_decay.so";

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("fuzz: cannot read " + p.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("fuzz: cannot write " + p.string());
}

bool starts_with(const std::string& s, const char* prefix) {
    return s.rfind(prefix, 0) == 0;
}

Family family_of(const std::string& target) {
    if (starts_with(target, "npy")) return Family::npy;
    if (starts_with(target, "idx") || target == "model-idx") return Family::idx;
    if (target == "series" || target == "model-series") return Family::series;
    return Family::cls;
}

std::string csv_spec(const fs::path& p) {
    return "csv:" + p.string() + " label=species";
}
std::string npy_spec(const fs::path& dir) {
    return "npy:" + (dir / "x.npy").string() + " labels=" + (dir / "y.npy").string();
}
std::string idx_spec(const fs::path& dir) {
    return "idx:" + (dir / "d").string();
}
std::string series_spec(const fs::path& p) {
    return "series:" + p.string() + " target=value window=4 time=time";
}

// Small but complete experiments: a validation split, a scaler or batch norm whose state
// goes into the model file, a callback; two epochs.
std::string experiment_text(Family f, const std::string& train) {
    const std::string data = "[data]\ntrain = " + train + "\nseed = 3\n";
    const std::string fit = "[train]\nbatch_size = 8\nepochs = 2\nverbose = 0\n";
    switch (f) {
        case Family::idx:
            return "[experiment]\nname = fuzz_idx\n" + data +
                   "split = 60:20:20 stratified\n[model]\nlayer = dense units=4\n"
                   "layer = batchnorm\nlayer = relu\nlayer = dense units=2\n" +
                   fit + "optimizer = sgd lr=0.1\nmetric = accuracy\n";
        case Family::series:
            return "[experiment]\nname = fuzz_series\n" + data +
                   "split = 70:15:15 chronological\ntarget_transform = standardize\n"
                   "[model]\nlayer = lstm units=4\nlayer = dense units=1\nloss = mse\n" +
                   fit + "optimizer = adam lr=0.01\nmetric = mae\n";
        default:
            return "[experiment]\nname = fuzz_cls\n" + data +
                   "split = 60:20:20 stratified\ntransform = standardize\n[model]\n"
                   "layer = dense units=6\nlayer = relu\nlayer = dense units=3\n"
                   "loss = softmax_cross_entropy\n" +
                   fit +
                   "optimizer = adam lr=0.05\nmetric = accuracy\nmetric = f1 average=macro\n"
                   "callback = early_stopping monitor=val_loss patience=3 restore_best=true\n";
    }
}

// The timings of a run folder (history.csv's last column, metrics.json's speeds) set to
// fixed values, so its files are the same bytes on every run of the test.
void steady_timings(const fs::path& run) {
    std::string history = read_file(run / "history.csv"), steady;
    for (std::size_t from = 0, line = 0; from < history.size(); ++line) {
        const std::size_t end = history.find('\n', from);
        const std::string row = history.substr(from, end - from);
        steady += (line == 0 ? row : row.substr(0, row.rfind(',') + 1) + "0.1") + "\n";
        from = end == std::string::npos ? history.size() : end + 1;
    }
    write_file(run / "history.csv", steady);
    auto metrics = nlohmann::json::parse(read_file(run / "metrics.json"));
    for (const char* key : {"seconds_per_epoch", "train_samples_per_second"})
        if (metrics.contains(key)) metrics[key] = 100;
    write_file(run / "metrics.json", metrics.dump(2) + "\n");
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

}  // namespace

const std::vector<Target>& targets() {
    static const std::vector<std::string> data = {"evaluate", "predict", "train"};
    static const std::vector<std::string> model = {"evaluate", "predict"};
    static const std::vector<std::string> run = {"diagnose", "report"};
    static const std::vector<Target> all = {
        {"experiment", "exp.ini", {"train"}},
        {"csv", "data.csv", data},
        {"series", "series.csv", data},
        {"npy-features", "x.npy", data},
        {"npy-labels", "y.npy", data},
        {"idx-images", "d-images-idx3-ubyte", data},
        {"idx-labels", "d-labels-idx1-ubyte", data},
        {"idx.gz-images", "d-images-idx3-ubyte.gz", data},
        {"idx.gz-labels", "d-labels-idx1-ubyte.gz", data},
        {"model-cls", "model.safetensors", model},
        {"model-idx", "model.safetensors", model},
        {"model-series", "model.safetensors", model},
        {"run-history", "run/history.csv", run},
        {"run-metrics", "run/metrics.json", run},
        {"study", "study.ini", {"study", "tune"}},
        {"plugin", std::string("plugins/") + kPlugin, {"plugins", "plugins-name", "evaluate"}},
        // The same file grown to 3 GiB (sparse): a plugin check reads what it needs, in
        // milliseconds, never the whole file; a fifth of the time limit is plenty.
        {"plugin-huge", std::string("plugins/") + kPlugin, {"plugins"}, 1.0 / 5},
        // The plugin catalog a warm start lists and validates from: a lie must be caught when
        // evaluate loads the library, anything unreadable ignored. Its file is named after the
        // build tree's plugin folder (Bench::catalog_file_, found when the seeds are made).
        {"catalog", "cache/plexus/plugin-catalogs/", {"plugins", "plugins-name", "evaluate"}},
        // A data source that is no regular file (a FIFO, a folder, /dev/zero, a bad link) or
        // an empty one: refused at once, never read, so a fifth of the time limit too.
        {"special", "", data, 1.0 / 5},
    };
    return all;
}

const Target* find_target(const std::string& name) {
    for (const Target& t : targets())
        if (t.name == name) return &t;
    return nullptr;
}

Bench::Bench(const fs::path& root, double timeout_s)
    : root_(root), seeds_(root / "seeds"), timeout_s_(timeout_s) {
    const std::string idx_img = idx_images(), idx_lab = idx_labels();
    const std::map<std::string, std::string> files = {
        {"cls.csv", classes_csv()},           {"x.npy", features_npy()},
        {"y.npy", labels_npy()},              {"series.csv", series_csv()},
        {"d-images-idx3-ubyte", idx_img},     {"d-labels-idx1-ubyte", idx_lab},
        {"d-images-idx3-ubyte.gz", gzip(idx_img)}, {"d-labels-idx1-ubyte.gz", gzip(idx_lab)}};
    for (const auto& [name, bytes] : files) write_file(seeds_ / name, bytes);
    // Relative to a folder beside seeds/: the case folder, or train/ for the seed models.
    const fs::path rel = fs::path("..") / "seeds";
    experiments_ = {experiment_text(Family::cls, csv_spec(rel / "cls.csv")),
                    experiment_text(Family::npy, npy_spec(rel)),
                    experiment_text(Family::idx, idx_spec(rel)),
                    experiment_text(Family::series, series_spec(rel / "series.csv"))};
    auto train = [&](const std::string& name, const std::string& text) {
        const fs::path ini = root_ / "train" / (name + ".ini");
        write_file(ini, text);
        const fs::path out = root_ / "base" / name;
        const Outcome o = run({{PLEXUS_TEST_BINARY, "train", ini.string(), "--out", out.string()},
                               root_,
                               timeout_s_ * 4},
                              root_);
        if (o.exit_code != 0)
            throw std::runtime_error("fuzz: the seed model " + name + " did not train: " + o.err);
        return fs::directory_iterator(out)->path();  // the one run folder
    };
    cls_run_ = train("cls", experiments_[0]);
    cls_model_ = cls_run_ / "model.safetensors";
    steady_timings(cls_run_);
    idx_model_ = train("idx", experiments_[2]) / "model.safetensors";
    series_model_ = train("series", experiments_[3]) / "model.safetensors";

    const std::string base = replace_all(experiments_[0], "units=6", "units=${units}");
    write_file(seeds_ / "study_base.ini", replace_all(base, "lr=0.05", "lr=${lr}"));
    seed_ = {{"csv", files.at("cls.csv")},
             {"series", files.at("series.csv")},
             {"npy-features", files.at("x.npy")},
             {"npy-labels", files.at("y.npy")},
             {"idx-images", idx_img},
             {"idx-labels", idx_lab},
             {"idx.gz-images", idx_img},
             {"idx.gz-labels", idx_lab},
             {"model-cls", read_file(cls_model_)},
             {"model-idx", read_file(idx_model_)},
             {"model-series", read_file(series_model_)},
             {"run-history", read_file(cls_run_ / "history.csv")},
             {"run-metrics", read_file(cls_run_ / "metrics.json")},
             {"study", "[study]\nexperiment = " + (rel / "study_base.ini").string() +
                           "\nobjective = val_loss\ndirection = minimize\nsampler = random\n"
                           "pruner = median\ntrials = 2\nseed = 5\n[space]\n"
                           "lr = loguniform 0.001 0.1\nunits = choice 4 8\n"},
             {"plugin", read_file(fs::path(PLEXUS_TEST_PLUGIN_DIR) / kPlugin)}};
    seed_["plugin-huge"] = seed_["plugin"];
    // The build tree's catalog, from a first `plexus plugins` with seeds/cache as the cache
    // folder; indented, so the line mutations of mutate_text apply to it.
    const Outcome listed = run({{"/usr/bin/env", "XDG_CACHE_HOME=" + (seeds_ / "cache").string(),
                                 PLEXUS_TEST_BINARY, "plugins"},
                                root_,
                                timeout_s_ * 4},
                               root_);
    std::error_code ec;
    int catalogs = 0;  // one: the default search path is the build tree's plugin folder
    for (const auto& entry :
         fs::directory_iterator(seeds_ / "cache" / "plexus" / "plugin-catalogs", ec))
        catalog_file_ = fs::relative(entry.path(), seeds_), ++catalogs;
    if (catalogs != 1) catalog_file_.clear();
    const auto catalog =
        catalog_file_.empty() ? nlohmann::json()
                              : nlohmann::json::parse(read_file(seeds_ / catalog_file_), nullptr, false);
    if (listed.exit_code != 0 || !catalog.is_object())
        throw std::runtime_error("fuzz: plexus plugins wrote no plugin catalog: " + listed.err);
    seed_["catalog"] = catalog.dump(1) + "\n";
}

std::string Bench::make_input(const Target& t, Rng& rng, Notes& notes) const {
    if (t.name == "special") {  // the input names the kind of file and the format it stands for
        static const std::vector<std::string> kinds = {"fifo",  "directory",     "dev-zero",
                                                       "empty", "dangling-link", "link-loop"};
        static const std::vector<std::string> formats = {"csv", "series", "npy", "idx"};
        const std::string kind = rng.pick(kinds), format = rng.pick(formats);
        notes.push_back("!the " + format + " source is " + kind);
        return kind + " " + format;
    }
    if (t.name == "experiment") {
        std::string text = rng.pick(experiments_);
        mutate_text(text, rng, notes);
        return text;
    }
    std::string bytes = seed_.at(t.name);
    if (starts_with(t.name, "npy")) {
        mutate_npy(bytes, rng, notes);
    } else if (starts_with(t.name, "idx.gz")) {
        bytes = mutate_gzip(bytes, rng, notes);
    } else if (starts_with(t.name, "idx")) {
        mutate_bytes(bytes, rng, notes, 16);  // magic, type, rank and up to 3 dimensions
    } else if (starts_with(t.name, "model")) {
        mutate_safetensors(bytes, rng, notes);
    } else if (starts_with(t.name, "plugin")) {
        mutate_elf(bytes, rng, notes);
    } else {
        mutate_text(bytes, rng, notes);
    }
    return bytes;
}

Command Bench::place(const Target& t, const std::string& command, const std::string& input,
                     const fs::path& dir, std::set<fs::path>& inputs) const {
    auto put = [&](const std::string& name, const std::string& bytes) {
        write_file(dir / name, bytes);
        inputs.insert(dir / name);
    };
    Family f = family_of(t.name);
    std::string file = t.file;
    if (t.name == "special") {
        const std::string kind = input.substr(0, input.find(' '));
        const std::string format = input.substr(std::min(input.size(), kind.size() + 1));
        f = format == "series" ? Family::series : format == "npy" ? Family::npy
          : format == "idx"    ? Family::idx    : Family::cls;
        file = f == Family::series ? "series.csv" : f == Family::npy ? "x.npy"
             : f == Family::idx    ? "d-images-idx3-ubyte" : "data.csv";
        if (f == Family::npy) put("y.npy", read_file(seeds_ / "y.npy"));
        if (f == Family::idx) put("d-labels-idx1-ubyte", read_file(seeds_ / "d-labels-idx1-ubyte"));
        const fs::path p = dir / file;
        if (kind == "fifo") ::mkfifo(p.c_str(), 0600);
        else if (kind == "directory") fs::create_directory(p);
        else if (kind == "dev-zero") fs::create_symlink("/dev/zero", p);
        else if (kind == "dangling-link") fs::create_symlink(dir / "missing", p);
        else if (kind == "link-loop") fs::create_symlink(p, p);
        else put(file, "");
        inputs.insert(p);
    } else {
        if (starts_with(t.name, "run-")) fs::copy(cls_run_, dir / "run", fs::copy_options::recursive);
        put(t.name == "catalog" ? catalog_file_.string() : t.file, input);
    }
    // The unmutated other half of a pair.
    if (t.name == "npy-features") put("y.npy", read_file(seeds_ / "y.npy"));
    if (t.name == "npy-labels") put("x.npy", read_file(seeds_ / "x.npy"));
    for (const char* half : {"images-idx3-ubyte", "labels-idx1-ubyte"}) {
        const std::string suffix = starts_with(t.name, "idx.gz") ? ".gz" : "";
        const std::string name = std::string("d-") + half + suffix;
        if (starts_with(t.name, "idx") && name != t.file) put(name, read_file(seeds_ / name));
    }
    if (starts_with(t.name, "plugin"))  // the loader trusts only folders no one else may write to
        fs::permissions(dir / "plugins", fs::perms::owner_all, fs::perm_options::replace);
    if (t.name == "plugin-huge") fs::resize_file(dir / t.file, std::uintmax_t{3} << 30);
    if (t.name == "catalog")  // the scan verdicts too, so the case spends no time scanning
        put("cache/plexus/plugin-scan", read_file(seeds_ / "cache" / "plexus" / "plugin-scan"));

    const bool own_data = !starts_with(t.name, "model") && !starts_with(t.name, "plugin") &&
                          t.name != "catalog";
    const fs::path data_dir = own_data ? dir : seeds_;
    std::string spec;
    fs::path model;
    switch (f) {
        case Family::npy: spec = npy_spec(data_dir), model = cls_model_; break;
        case Family::idx: spec = idx_spec(data_dir), model = idx_model_; break;
        case Family::series:
            spec = series_spec(own_data ? dir / file : seeds_ / "series.csv");
            model = series_model_;
            break;
        default:
            spec = csv_spec(own_data ? dir / file : seeds_ / "cls.csv");
            model = cls_model_;
    }
    if (starts_with(t.name, "model")) model = dir / t.file;

    const std::string plexus = PLEXUS_TEST_BINARY;
    Command c{{plexus, command}, dir, timeout_s_ * t.time_factor};
    if (command == "train") {
        if (t.name != "experiment") put("train.ini", experiment_text(f, spec));
        c.args.push_back((dir / (t.name == "experiment" ? t.file : "train.ini")).string());
        c.args.insert(c.args.end(), {"--out", (dir / "runs").string()});
        c.timeout_s *= 2;
    } else if (command == "evaluate" || command == "predict") {
        c.args.insert(c.args.end(), {model.string(), "--data", spec});
        if (command == "predict") c.args.insert(c.args.end(), {"--out", (dir / "pred.csv").string()});
    } else if (command == "diagnose" || command == "report") {
        c.args.push_back((dir / "run").string());
    } else if (command == "study") {
        c.args.push_back((dir / t.file).string());
    } else if (command == "tune") {
        c.args.insert(c.args.end(), {(dir / t.file).string(), "--trials", "1"});
        c.timeout_s *= 2;
    } else if (command == "plugins-name") {
        c.args = {plexus, "plugins", "step_decay"};
    }
    if (starts_with(t.name, "plugin"))
        c.args.insert(c.args.end(), {"--plugin-path", (dir / "plugins").string()});
    if (t.name == "catalog")
        c.args.insert(c.args.begin(),
                      {"/usr/bin/env", "XDG_CACHE_HOME=" + (dir / "cache").string()});
    return c;
}

}  // namespace plexus::fuzz
