// End to end through the `plexus` binary: training on a Fashion-MNIST subset, plugin
// listing, and bad input that must fail cleanly without leaving a run folder behind.
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "runpath.hpp"

namespace fs = std::filesystem;
using plexus::test::run_plexus;
using plexus::test::TempDir;

namespace {

const std::string kFashion = "/usr/share/datasets/fashion-mnist";
const std::string kExample = std::string(PLEXUS_TEST_SOURCE_DIR) + "/examples/fashion_mlp.ini";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::size_t entries(const fs::path& dir) {
    if (!fs::exists(dir)) return 0;
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

BOOST_AUTO_TEST_CASE(version_and_help) {
    const auto v = run_plexus("--version");
    BOOST_TEST(v.exit_code == 0);
    BOOST_TEST(contains(v.out, "plexus 0.1.0"));
    for (const char* cmd : {"plugins --help", "train --help"}) {
        const auto h = run_plexus(cmd);
        BOOST_TEST(h.exit_code == 0);
        BOOST_TEST(contains(h.out, "usage: plexus"));
    }
    const auto bad = run_plexus("trian");
    BOOST_TEST(bad.exit_code != 0);
    BOOST_TEST(contains(bad.err, "unknown command 'trian'"));
}

BOOST_AUTO_TEST_CASE(plugins_lists_every_component) {
    const auto r = run_plexus("plugins");
    BOOST_TEST(r.exit_code == 0);
    for (const char* name : {"cpu", "dense", "relu", "softmax_cross_entropy", "sgd", "accuracy", "progress"})
        BOOST_TEST(contains(r.out, name), name);
    const auto one = run_plexus("plugins dense");
    BOOST_TEST(one.exit_code == 0);
    BOOST_TEST(contains(one.out, "units"));
    BOOST_TEST(contains(one.out, "he_normal"));
    BOOST_TEST(contains(one.out, "glorot_uniform"));
    BOOST_TEST(contains(one.out, "(required)"));
    const auto unknown = run_plexus("plugins dens");
    BOOST_TEST(unknown.exit_code != 0);
    BOOST_TEST(contains(unknown.err, "did you mean 'dense'"));
}

// mse and mae are both a loss and a metric: a name shared between kinds lists each component.
BOOST_AUTO_TEST_CASE(plugins_shows_the_regression_losses_and_metrics) {
    const auto r = run_plexus("plugins");
    BOOST_TEST(r.exit_code == 0);
    for (const char* name : {"huber", "rmse", "r2", "mape"}) BOOST_TEST(contains(r.out, name), name);
    const auto mse = run_plexus("plugins mse");
    BOOST_TEST(mse.exit_code == 0, mse.err);
    BOOST_TEST(contains(mse.out, "Kind        loss"));
    BOOST_TEST(contains(mse.out, "Kind        metric"));
    const auto huber = run_plexus("plugins huber");
    BOOST_TEST(huber.exit_code == 0, huber.err);
    BOOST_TEST(contains(huber.out, "delta"));
}

BOOST_AUTO_TEST_CASE(a_broken_plugin_file_only_removes_itself) {
    // An install tree: bin/plexus finds its core in ../lib (its RUNPATH is $ORIGIN/../lib)
    // and its plugins in ../lib/plexus/plugins.
    TempDir root("install");
    const fs::path plugins = root.path / "lib" / "plexus" / "plugins";
    fs::create_directories(plugins);
    fs::create_directories(root.path / "bin");
    fs::copy_file(PLEXUS_TEST_BINARY, root.path / "bin" / "plexus");
    plexus::test::copy_core_library(fs::path(PLEXUS_TEST_BUILD_DIR) / "lib", root.path / "lib");
    for (const auto& e : fs::directory_iterator(PLEXUS_TEST_PLUGIN_DIR))
        fs::copy_file(e.path(), plugins / e.path().filename());
    fs::resize_file(plugins / "libplexus-layers-relu.so", 100);   // corrupted
    fs::remove(plugins / "libplexus-optimizers-sgd.so");           // deleted
    const auto r = run_plexus("plugins", "", (root.path / "bin" / "plexus").string());
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(contains(r.err, "libplexus-layers-relu.so"));
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);  // one line, one file
    BOOST_TEST(contains(r.out, "dense"));
    BOOST_TEST(!contains(r.out, " relu "));
    BOOST_TEST(!contains(r.out, " sgd "));
}

BOOST_AUTO_TEST_CASE(trains_a_subset_end_to_end) {
    if (!fs::exists(kFashion)) {
        BOOST_TEST_MESSAGE("Fashion-MNIST not installed; skipping");
        return;
    }
    TempDir out("runs");
    const auto r = run_plexus("train '" + kExample + "' --out '" + out.path.string() +
                              "' --set data.train_limit=2000 --set data.test_limit=1000 "
                              "--set train.epochs=2 --set train.batch_size=50");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(contains(r.out, "test: loss"));
    BOOST_REQUIRE_EQUAL(entries(out.path), 1u);
    const fs::path run = fs::directory_iterator(out.path)->path();
    BOOST_TEST(fs::exists(run / "experiment.ini"));
    const auto metrics = nlohmann::json::parse(plexus::test::read_text(run / "metrics.json"));
    BOOST_TEST(metrics["test"]["accuracy"].get<double>() > 0.5);  // chance is 0.1
    const std::string history = plexus::test::read_text(run / "history.csv");
    BOOST_TEST(std::count(history.begin(), history.end(), '\n') == 3);  // header + 2 epochs
    // Loss falls from epoch 1 to epoch 2 (second column).
    std::istringstream lines(history);
    std::string header, e1, e2;
    std::getline(lines, header);
    std::getline(lines, e1);
    std::getline(lines, e2);
    auto loss_of = [](const std::string& row) { return std::stod(row.substr(row.find(',') + 1)); };
    BOOST_TEST(loss_of(e2) < loss_of(e1));
    const std::string resolved = plexus::test::read_text(run / "experiment.ini");
    BOOST_TEST(contains(resolved, "epochs = 2"));
}

BOOST_AUTO_TEST_CASE(bad_experiment_files_fail_cleanly) {
    TempDir dir("bad");
    const fs::path runs = dir.path / "runs";
    struct Case {
        std::string text, expected;
    };
    const std::vector<Case> cases = {
        {"[data]\ntrain = idx:/nonexistent\n[trian]\nepochs = 2\n", "bad.ini:3: unknown section [trian]"},
        {"[data]\ntrain = idx:" + kFashion + "/train\n[model]\nlayer = dens units=10\n",
         "bad.ini:4: unknown layer 'dens' (did you mean 'dense'?)"},
        {"[data]\ntrain = idx:" + kFashion + "/train\n[model]\nlayer = dense unit=10\n",
         "bad.ini:4: unknown parameter 'unit' for layer 'dense'"},
        {"[model]\nthis is not ini\n", "bad.ini:2: syntax error"},
        {"[data]\ntrain = idx:/nonexistent/train\n[model]\nlayer = dense units=10\n", "/nonexistent/train"},
    };
    for (const auto& c : cases) {
        std::ofstream(dir.path / "bad.ini") << c.text;
        const auto r = run_plexus("train '" + (dir.path / "bad.ini").string() + "' --out '" + runs.string() + "'");
        BOOST_TEST(r.exit_code != 0, c.expected);
        BOOST_TEST(contains(r.err, c.expected), r.err + " vs " + c.expected);
        BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
        BOOST_TEST(entries(runs) == 0u, c.expected);
    }
    const auto missing = run_plexus("train '" + (dir.path / "missing.ini").string() + "'");
    BOOST_TEST(missing.exit_code != 0);
    BOOST_TEST(contains(missing.err, "missing.ini"));
    const auto bad_set = run_plexus("train '" + kExample + "' --set train.epochz=3 --out '" + runs.string() + "'");
    BOOST_TEST(bad_set.exit_code != 0);
    BOOST_TEST(contains(bad_set.err, "epochz"));
    BOOST_TEST(entries(runs) == 0u);
}

BOOST_AUTO_TEST_CASE(profile_environment_prints_the_cpu_devices_op_table) {
    if (!fs::exists(kFashion)) return;
    TempDir out("runs");
    // 2000 samples at batch 50 for 2 epochs: 80 training steps, each one forward GEMM per
    // dense layer; evaluation adds its own passes, so at least 80 calls of the first shape.
    const auto r = run_plexus("train '" + kExample + "' --out '" + out.path.string() +
                                  "' --set data.train_limit=2000 --set data.test_limit=200 "
                                  "--set train.epochs=2 --set train.batch_size=50",
                              "PLEXUS_PROFILE=1");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(contains(r.err, "cpu device profile (PLEXUS_PROFILE)"), r.err);
    const auto at = r.err.find("gemm NN 50x256x784");
    BOOST_TEST_REQUIRE(at != std::string::npos, r.err);
    std::istringstream row(r.err.substr(at + std::string("gemm NN 50x256x784").size()));
    // calls, ms, share, GFLOP/s, the first call's ms, GFLOP/s of the calls after the first.
    unsigned long calls = 0;
    double ms = 0, share = 0, gflops = 0, first_ms = -1, gflops_after_first = 0;
    char percent = 0;
    row >> calls >> ms >> share >> percent >> gflops >> first_ms >> gflops_after_first;
    BOOST_TEST_REQUIRE(!row.fail(), r.err);
    BOOST_TEST(calls >= 80u);
    BOOST_TEST(percent == '%');
    const double flops = 2.0 * 50 * 256 * 784;
    BOOST_TEST(gflops == flops * calls / (ms / 1e3) / 1e9, boost::test_tools::tolerance(0.05));
    BOOST_TEST(first_ms > 0.0);
    BOOST_TEST(first_ms < ms);
    // Computed from the other columns (printed to 0.1, 0.01 ms): a loose tolerance.
    BOOST_TEST(gflops_after_first == flops * (calls - 1) / ((ms - first_ms) / 1e3) / 1e9,
               boost::test_tools::tolerance(0.05));
    BOOST_TEST(contains(r.err, "(outside device ops)"));
    // Without the variable, nothing is printed.
    const auto quiet = run_plexus("train '" + kExample + "' --out '" + out.path.string() +
                                  "' --set data.train_limit=200 --set data.test_limit=50 --set train.epochs=1");
    BOOST_TEST_REQUIRE(quiet.exit_code == 0, quiet.err);
    BOOST_TEST(!contains(quiet.err, "device profile"));
}

BOOST_AUTO_TEST_CASE(a_diverging_run_stops_with_a_hint_instead_of_printing_nan) {
    if (!fs::exists(kFashion)) return;
    TempDir out("runs");
    const auto r = run_plexus("train '" + std::string(PLEXUS_TEST_SOURCE_DIR) +
                              "/examples/lr_too_high.ini' --out '" + out.path.string() +
                              "' --set data.train_limit=2000 --set data.test_limit=500");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(contains(r.out, "stopped: loss became"), r.out);
    BOOST_TEST(contains(r.out, "lower the learning rate"));
    BOOST_TEST(!contains(r.out, "nan"));
    BOOST_TEST(!contains(r.out, "inf "));
    BOOST_REQUIRE_EQUAL(entries(out.path), 1u);
    const fs::path run = fs::directory_iterator(out.path)->path();
    const auto metrics = nlohmann::json::parse(plexus::test::read_text(run / "metrics.json"));
    BOOST_TEST(contains(metrics["stop_reason"].get<std::string>(), "lower the learning rate"));
}

BOOST_AUTO_TEST_CASE(full_batch_is_batch_gradient_descent) {
    if (!fs::exists(kFashion)) return;
    TempDir out("runs");
    const auto r = run_plexus("train '" + kExample + "' --out '" + out.path.string() +
                              "' --set data.train_limit=500 --set data.test_limit=100 "
                              "--set train.epochs=2 --set train.batch_size=full");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    // 450 training samples in one batch: one step per epoch.
    BOOST_TEST(contains(r.out, "data: 450 train"));
    const auto bad = run_plexus("train '" + kExample + "' --out '" + out.path.string() +
                                "' --set train.batch_size=fulll");
    BOOST_TEST(bad.exit_code != 0);
    BOOST_TEST(contains(bad.err, "train.batch_size must be"));
}

BOOST_AUTO_TEST_CASE(debug_plugins_prints_every_candidate) {
    const auto r = run_plexus("plugins", "PLEXUS_DEBUG_PLUGINS=1");
    BOOST_TEST(r.exit_code == 0);
    std::size_t libraries = 0;
    for (const auto& e : fs::directory_iterator(PLEXUS_TEST_PLUGIN_DIR))
        libraries += e.path().extension() == ".so";
    std::size_t candidates = 0;
    for (std::size_t at = 0; (at = r.err.find("plugin candidate", at)) != std::string::npos; ++at) ++candidates;
    BOOST_TEST(candidates == libraries, r.err);
    // Loaded now, or (a warm start) taken from the plugin catalog until first used.
    BOOST_TEST((contains(r.err, "loaded, ") || contains(r.err, "from the catalog, ")), r.err);
}

// The key table is the one source of the key list: the terminal help shows every key with its
// value and default, and the README's table is exactly the Markdown form.
BOOST_AUTO_TEST_CASE(help_keys_lists_every_key_and_the_readme_shows_the_same) {
    const auto text = run_plexus("train --help-keys");
    BOOST_TEST_REQUIRE(text.exit_code == 0, text.err);
    for (const char* expected : {"[experiment]\n", "[data]\n", "[model]\n", "[train]\n",
                                 "  train_limit        use N training samples",
                                 "integer in [1, 1048576] or 'full' (for batch gradient descent); default 32",
                                 "integer in [0, 4e+18]; default data.seed", "true or false; default true",
                                 "component, repeated; default accuracy"})
        BOOST_TEST(contains(text.out, expected), expected);
    std::size_t keys = 0;
    for (std::size_t at = 0; (at = text.out.find("\n  ", at)) != std::string::npos; ++at)
        keys += text.out[at + 3] != ' ';
    BOOST_TEST(keys == 31u);

    const auto markdown = run_plexus("train --help-keys=markdown");
    BOOST_TEST_REQUIRE(markdown.exit_code == 0, markdown.err);
    const std::string readme = plexus::test::read_text(std::string(PLEXUS_TEST_SOURCE_DIR) + "/README.md");
    const std::string begin = "<!-- experiment-keys: generated by `plexus train --help-keys=markdown` -->\n";
    const std::string end = "<!-- end of experiment-keys -->";
    const auto b = readme.find(begin), e = readme.find(end);
    BOOST_TEST_REQUIRE((b != std::string::npos && e != std::string::npos && b < e), "README.md lacks the key table markers");
    BOOST_TEST(readme.substr(b + begin.size(), e - b - begin.size()) == markdown.out,
               "README.md's key table is stale: paste `plexus train --help-keys=markdown` between its markers");

    const auto bad = run_plexus("train --help-keys=xml");
    BOOST_TEST(bad.exit_code == 2);
    BOOST_TEST(contains(bad.err, "--help-keys takes text or markdown, found 'xml'"));
}
