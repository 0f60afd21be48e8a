// Interruption and resume through the `plexus` binary: kill -9 at several moments and
// `train --resume` ends bit-identical to the run that was never interrupted; SIGTERM, Ctrl-C
// and a diverging loss leave a complete run folder that diagnose, report and predict read;
// --resume refuses a changed experiment; outputs stay where they belong.
#define BOOST_TEST_MODULE resume
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "support/child_run.hpp"

namespace fs = std::filesystem;
using namespace plexus::test;

namespace {

/// 3000 samples of 32 features in 4 classes that a small MLP learns in a few epochs, from a
/// fixed generator: the test needs no dataset installed.
fs::path write_data(const fs::path& dir) {
    std::uint64_t s = 12345;
    auto next = [&] {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<double>(s >> 11) / 9007199254740992.0;
    };
    std::ostringstream csv;
    for (int f = 0; f < 32; ++f) csv << "x" << f << ",";
    csv << "y\n";
    for (int i = 0; i < 3000; ++i) {
        double sum = 0;
        for (int f = 0; f < 32; ++f) {
            const double v = next() * 2 - 1;
            sum += f % 3 == 0 ? v : -0.3 * v;
            csv << v << ",";
        }
        const int y = sum < -1 ? 0 : sum < 0 ? 1 : sum < 1 ? 2 : 3;
        csv << (next() < 0.1 ? (y + 1) % 4 : y) << "\n";
    }
    const fs::path file = dir / "data.csv";
    std::ofstream(file) << csv.str();
    return file;
}

/// Dropout (a random counter), batchnorm (running statistics), adam (moments, steps), early
/// stopping with restore_best (best weights), a plateau schedule and a csv log: every piece of
/// state a resumed run must get back.
fs::path write_experiment(const fs::path& dir, const std::string& extra = "") {
    const fs::path file = dir / "exp.ini";
    std::ofstream(file) << "[experiment]\nname = resume\n[data]\ntrain = csv:" << write_data(dir).string()
                        << " label=y\nsplit = 70:15:15 stratified\ntransform = standardize\nseed = 3\n"
                        << "[model]\nlayer = dense units=128\nlayer = batchnorm\nlayer = relu\n"
                        << "layer = dropout rate=0.3\nlayer = dense units=64\nlayer = relu\n"
                        << "layer = dense units=4\nloss = softmax_cross_entropy\n"
                        << "[train]\noptimizer = adam lr=0.003\nbatch_size = 8\nepochs = 6\n"
                        << "metric = accuracy\n"
                        << "callback = early_stopping monitor=val_loss patience=3 restore_best=true\n"
                        << "callback = reduce_lr_on_plateau factor=0.5 patience=1 min_delta=0.01\n"
                        << "callback = csv_logger\n"
                        << extra;
    return file;
}

struct Finished {
    std::string history, log, model;
};

Finished read_finished(const fs::path& run) {
    return {without_seconds(slurp(run / "history.csv")), without_seconds(slurp(run / "log.csv")),
            slurp(run / "model.safetensors")};
}

void check_same(const Finished& got, const Finished& want, const std::string& what) {
    BOOST_TEST(got.history == want.history, what << ": history.csv differs\n" << got.history << "vs\n" << want.history);
    BOOST_TEST(got.log == want.log, what << ": log.csv differs");
    BOOST_TEST(!got.model.empty(), what);
    BOOST_TEST((got.model == want.model), what << ": model.safetensors is not bit-identical");
}

std::vector<std::string> train_args(const fs::path& exp, const fs::path& out) {
    return {"train", exp.string(), "--out", out.string()};
}

/// Trains to the end in `out`; returns the run folder.
fs::path train(const fs::path& exp, const fs::path& out, const std::string& set = "") {
    auto args = train_args(exp, out);
    if (!set.empty()) args.insert(args.end(), {"--set", set});
    const int code = wait_exit(spawn_plexus(args, out.string() + ".log"));
    BOOST_TEST_REQUIRE(code == 0, slurp(out.string() + ".log"));
    return only_run(out);
}

int resume(const fs::path& run, const std::string& set = "") {
    std::vector<std::string> args{"train", "--resume", run.string()};
    if (!set.empty()) args.insert(args.end(), {"--set", set});
    return wait_exit(spawn_plexus(args, run.string() + ".resume.log"));
}

bool no_temporaries(const fs::path& run) {
    for (const auto& e : fs::recursive_directory_iterator(run))
        if (e.path().filename().string().find(".tmp") != std::string::npos) return false;
    return true;
}

std::string ended(const fs::path& run) {
    const auto m = nlohmann::json::parse(slurp(run / "metrics.json"), nullptr, false);
    return m.is_object() && m.contains("ended") && m["ended"].is_string() ? m["ended"].get<std::string>() : "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(kill_9_at_several_moments_then_resume_is_bit_identical) {
    TempDir dir("resume-kill");
    const fs::path exp = write_experiment(dir.path);
    const Finished want = read_finished(train(exp, dir / "reference"));

    struct Moment {
        const char* name;
        std::function<bool(const fs::path& out)> reached;
    };
    auto run_file = [](const fs::path& out, const char* file) { return only_run(out) / file; };
    const std::vector<Moment> moments = {
        {"at the first checkpoint", [&](const fs::path& o) { return fs::exists(run_file(o, "resume.safetensors")); }},
        {"after epoch 1", [&](const fs::path& o) { return csv_rows(run_file(o, "history.csv")) >= 1; }},
        {"after epoch 3", [&](const fs::path& o) { return csv_rows(run_file(o, "history.csv")) >= 3; }},
        {"while writing the outputs", [&](const fs::path& o) { return fs::exists(run_file(o, "model.safetensors")); }},
    };
    int n = 0;
    for (const auto& m : moments) {
        const fs::path out = dir / ("killed" + std::to_string(n++));
        const pid_t child = spawn_plexus(train_args(exp, out), out.string() + ".log");
        const bool reached = wait_for(child, [&] { return !only_run(out).empty() && m.reached(out); });
        ::kill(child, SIGKILL);
        const int code = wait_exit(child);
        BOOST_TEST_REQUIRE(reached, m.name << ": the run ended before the moment (exit " << code << ")");
        const fs::path run = only_run(out);
        BOOST_TEST_REQUIRE(resume(run) == 0, m.name << ": " << slurp(run.string() + ".resume.log"));
        check_same(read_finished(run), want, m.name);
        BOOST_TEST(no_temporaries(run), m.name);
        BOOST_TEST(ended(run) == "completed", m.name);
    }
}

namespace {

/// The numbers of a CSV (every column but `seconds`) or the F32 payload of a safetensors file,
/// for comparing runs on a device whose results may differ in the last bits.
std::vector<double> csv_numbers(const std::string& csv) {
    std::vector<double> out;
    std::istringstream in(without_seconds(csv));
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
        std::istringstream cells(line);
        for (std::string cell; std::getline(cells, cell, ',');) out.push_back(std::stod(cell));
    }
    return out;
}

std::vector<float> safetensors_payload(const std::string& file, std::string& header) {
    BOOST_TEST_REQUIRE(file.size() >= 8u);
    std::uint64_t n = 0;
    std::memcpy(&n, file.data(), 8);
    BOOST_TEST_REQUIRE(n <= file.size() - 8);
    header = file.substr(8, n);
    std::vector<float> out((file.size() - 8 - n) / sizeof(float));
    std::memcpy(out.data(), file.data() + 8 + n, out.size() * sizeof(float));
    return out;
}

template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& want, double tolerance,
                 const std::string& what) {
    BOOST_TEST_REQUIRE(got.size() == want.size(), what);
    std::size_t off = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (std::abs(double(got[i]) - double(want[i])) > tolerance * (1 + std::abs(double(want[i]))))
            ++off;
    BOOST_TEST(off == 0u, what << ": " << off << " of " << got.size() << " values differ by more than "
                               << tolerance << " (relative)");
}

bool has_opencl_device() {
    const auto d = run_plexus("devices");
    return d.exit_code == 0 && d.out.find("\nopencl:0") != std::string::npos;
}

}  // namespace

// The same on the opencl device where one exists (PoCL in CI), within the device's tolerance:
// its kernels may reduce in another order than a rerun on another GPU would, so the comparison
// is numeric (1e-5 relative), not bytewise; on PoCL the files come out identical.
BOOST_AUTO_TEST_CASE(kill_9_on_the_opencl_device_then_resume_matches) {
    if (!has_opencl_device()) {
        BOOST_TEST_MESSAGE("no opencl device: `plexus devices` lists none; skipped");
        return;
    }
    TempDir dir("resume-opencl");
    const fs::path exp = write_experiment(dir.path, "device = opencl\n");
    const Finished want = read_finished(train(exp, dir / "reference"));
    const fs::path out = dir / "killed";
    const pid_t child = spawn_plexus(train_args(exp, out), out.string() + ".log");
    const bool reached = wait_for(child, [&] {
        const fs::path run = only_run(out);
        return !run.empty() && csv_rows(run / "history.csv") >= 2;
    });
    ::kill(child, SIGKILL);
    wait_exit(child);
    BOOST_TEST_REQUIRE(reached, slurp(out.string() + ".log"));
    const fs::path run = only_run(out);
    BOOST_TEST_REQUIRE(resume(run) == 0, slurp(run.string() + ".resume.log"));
    const Finished got = read_finished(run);
    check_close(csv_numbers(got.history), csv_numbers(want.history), 1e-5, "history.csv");
    std::string got_header, want_header;
    const auto got_weights = safetensors_payload(got.model, got_header);
    const auto want_weights = safetensors_payload(want.model, want_header);
    BOOST_TEST(got_header == want_header);
    check_close(got_weights, want_weights, 1e-5, "model.safetensors");
    BOOST_TEST(ended(run) == "completed");
}

BOOST_AUTO_TEST_CASE(sigterm_and_ctrl_c_complete_the_run_folder_and_resume_continues) {
    TempDir dir("resume-signals");
    const fs::path exp = write_experiment(dir.path);
    const Finished want = read_finished(train(exp, dir / "reference"));
    const fs::path data = dir / "data.csv";
    struct Case {
        int signal;
        int exit_code;
        const char* ended;
        std::size_t after_epochs;  // 0: during epoch 1
    };
    int n = 0;
    for (const Case c : {Case{SIGTERM, 143, "terminated", 2}, Case{SIGINT, 130, "interrupted", 0}}) {
        const fs::path out = dir / ("stopped" + std::to_string(n++));
        const pid_t child = spawn_plexus(train_args(exp, out), out.string() + ".log");
        BOOST_TEST_REQUIRE(wait_for(child, [&] {
            const fs::path run = only_run(out);
            return !run.empty() && (c.after_epochs ? csv_rows(run / "history.csv") >= c.after_epochs
                                                   : fs::exists(run / "history.csv"));
        }));
        ::kill(child, c.signal);
        BOOST_TEST(wait_exit(child) == c.exit_code, slurp(out.string() + ".log"));
        const fs::path run = only_run(out);
        BOOST_TEST(ended(run) == c.ended);
        BOOST_TEST(fs::exists(run / "model.safetensors"), c.ended);
        BOOST_TEST(fs::exists(run / "report.html"), c.ended);
        BOOST_TEST(run_plexus("diagnose '" + run.string() + "'").exit_code == 0, c.ended);
        BOOST_TEST(run_plexus("report '" + run.string() + "'").exit_code == 0, c.ended);
        const auto p = run_plexus("predict '" + (run / "model.safetensors").string() + "' --data 'csv:" +
                                  data.string() + " label=y' --out '" + (dir / "p.csv").string() + "'");
        BOOST_TEST(p.exit_code == 0, p.err);
        BOOST_TEST_REQUIRE(resume(run) == 0, slurp(run.string() + ".resume.log"));
        check_same(read_finished(run), want, c.ended);
    }
}

BOOST_AUTO_TEST_CASE(a_run_diverging_in_epoch_1_leaves_a_readable_folder) {
    TempDir dir("resume-nan");
    const fs::path exp = write_experiment(dir.path);
    const fs::path run = train(exp, dir / "out", "train.optimizer=sgd lr=1e30");
    BOOST_TEST(ended(run) == "diverged");
    BOOST_TEST(csv_rows(run / "history.csv") == 0u);
    BOOST_TEST(fs::exists(run / "model.safetensors"));
    const auto d = run_plexus("diagnose '" + run.string() + "'");
    BOOST_TEST(d.exit_code == 0, d.err);
    const auto r = run_plexus("report '" + run.string() + "'");
    BOOST_TEST(r.exit_code == 0, r.err);
}

BOOST_AUTO_TEST_CASE(resume_refuses_a_changed_experiment_but_may_train_more_epochs) {
    TempDir dir("resume-changed");
    const fs::path exp = write_experiment(dir.path);
    const Finished want8 = read_finished(train(exp, dir / "eight", "train.epochs=8"));
    const fs::path run = train(exp, dir / "six");
    const auto changed = run_plexus("train --resume '" + run.string() + "' --set 'train.optimizer=sgd lr=0.1'");
    BOOST_TEST(changed.exit_code != 0);
    BOOST_TEST(changed.err.find("train.optimizer was 'adam lr=0.003' when the run started") != std::string::npos,
               changed.err);
    BOOST_TEST(std::count(changed.err.begin(), changed.err.end(), '\n') == 1, changed.err);
    // Six epochs, then two more: the same as eight straight.
    BOOST_TEST_REQUIRE(resume(run, "train.epochs=8") == 0, slurp(run.string() + ".resume.log"));
    check_same(read_finished(run), want8, "six then eight");
    const auto none = run_plexus("train --resume '" + (dir / "nothing").string() + "'");
    BOOST_TEST(none.exit_code != 0);
    BOOST_TEST(std::count(none.err.begin(), none.err.end(), '\n') == 1, none.err);
}

// `plexus train exp.ini` in the experiment's own folder with the data named relative to it (no
// test did this, and the first checkpoint's absolute data folder threw on the empty base): the
// run trains, and resumes from another current directory.
BOOST_AUTO_TEST_CASE(an_experiment_named_without_a_folder_trains_and_resumes_from_elsewhere) {
    TempDir dir("resume-relative");
    const fs::path exp = write_experiment(dir.path);
    std::string text = slurp(exp);
    const std::string absolute = "csv:" + (dir.path / "data.csv").string();
    BOOST_TEST_REQUIRE(text.find(absolute) != std::string::npos);
    text.replace(text.find(absolute), absolute.size(), "csv:data.csv");
    std::ofstream(exp) << text;
    const auto first = run_plexus("train exp.ini --out runs --set train.epochs=2",
                                  "cd '" + dir.path.string() + "' &&");
    BOOST_TEST_REQUIRE(first.exit_code == 0, first.err);
    const fs::path run = only_run(dir / "runs");
    BOOST_TEST(csv_rows(run / "history.csv") == 2u);
    BOOST_TEST_REQUIRE(resume(run, "train.epochs=3") == 0, slurp(run.string() + ".resume.log"));
    BOOST_TEST(csv_rows(run / "history.csv") == 3u);
    BOOST_TEST(ended(run) == "completed");
}

BOOST_AUTO_TEST_CASE(a_damaged_checkpoint_is_one_line_and_changes_nothing) {
    TempDir dir("resume-damaged");
    const fs::path run = train(write_experiment(dir.path), dir / "out", "train.epochs=1");
    const std::string model = slurp(run / "model.safetensors");
    fs::resize_file(run / "resume.safetensors", fs::file_size(run / "resume.safetensors") / 2);
    const auto r = run_plexus("train --resume '" + run.string() + "'");
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(r.err.find("resume.safetensors") != std::string::npos, r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST((slurp(run / "model.safetensors") == model));
}

BOOST_AUTO_TEST_CASE(outputs_never_replace_a_device_nor_leave_the_run_folder) {
    TempDir dir("resume-outputs");
    const fs::path out = dir / "runs";
    const auto full = run_plexus("train '" + write_experiment(dir.path).string() + "' --out '" + out.string() +
                                 "' --set 'train.callback=csv_logger path=/dev/full'");
    BOOST_TEST(full.exit_code != 0);
    BOOST_TEST(full.err.find("/dev/full: is a character device") != std::string::npos, full.err);
    struct stat st {};
    BOOST_TEST((::stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)));

    const auto escape = run_plexus("train '" + (dir / "exp.ini").string() + "' --out '" + out.string() +
                                   "' --set 'train.callback=csv_logger path={run_dir}/../../x.csv'");
    BOOST_TEST(escape.exit_code != 0);
    BOOST_TEST(escape.err.find("leads out of the run folder") != std::string::npos, escape.err);
    BOOST_TEST(!fs::exists(dir / "x.csv"));
    BOOST_TEST(!fs::exists(out / "x.csv"));

    // A relative path starts in the run folder.
    const fs::path run = train(dir / "exp.ini", dir / "rel", "train.callback=csv_logger path=logs/r.csv");
    BOOST_TEST(fs::exists(run / "logs" / "r.csv"));
}
