// plexus lr-find: the rate schedule, the smoothing and the suggestion rules against
// hand-computed values; the range test on a Fashion-MNIST subset (the curve falls then
// diverges, a sane suggestion, the outputs); the experiment's callbacks kept out; bad input.
#define BOOST_TEST_MODULE lr_find
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "cli.hpp"
#include "plexus/core/run/lr_find.hpp"
#include "plexus/error.hpp"

namespace fs = std::filesystem;
using plexus::core::LrFindOptions;
using plexus::core::LrFindPoint;
using plexus::test::run_plexus;
using plexus::test::TempDir;

namespace {

const std::string kFashion = "/usr/share/datasets/fashion-mnist";

// A 784-64-10 MLP with Adam on 6400 Fashion-MNIST training samples: 90 batches of 64.
std::string experiment_text(const std::string& extra_train_lines = "") {
    return "[experiment]\nname = lrtest\n"
           "[data]\ntrain = idx:" + kFashion + "/train\ntest = idx:" + kFashion + "/t10k\n"
           "validation = 0.1\ntrain_limit = 6400\n"
           "[model]\nlayer = dense units=64 init=he_normal\nlayer = relu\nlayer = dense units=10\n"
           "loss = softmax_cross_entropy\n"
           "[train]\noptimizer = adam lr=0.001\nbatch_size = 64\nepochs = 3\nverbose = 0\n" +
           extra_train_lines;
}

LrFindOptions options_in(const fs::path& out) {
    LrFindOptions o;
    o.registry.plugin_paths = {PLEXUS_TEST_PLUGIN_DIR};
    o.out_dir = out;
    return o;
}

std::vector<std::vector<double>> read_csv(const fs::path& file, std::string& header) {
    std::ifstream in(file);
    std::getline(in, header);
    std::vector<std::vector<double>> rows;
    for (std::string line; std::getline(in, line);) {
        std::vector<double> row;
        std::stringstream ss(line);
        for (std::string cell; std::getline(ss, cell, ',');) row.push_back(std::stod(cell));
        rows.push_back(row);
    }
    return rows;
}

bool well_formed_xml(const std::string& text) {
    std::istringstream in(text);
    boost::property_tree::ptree tree;
    try {
        boost::property_tree::read_xml(in, tree);
    } catch (const boost::property_tree::xml_parser_error&) {
        return false;
    }
    return tree.count("svg") == 1;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rates_grow_exponentially_from_start_to_end) {
    const double expected[] = {1e-4, 1e-3, 1e-2, 1e-1, 1.0};
    for (std::size_t i = 0; i < 5; ++i)
        BOOST_TEST(plexus::core::lr_find_rate(1e-4, 1.0, 5, i) == expected[i],
                   boost::test_tools::tolerance(1e-12));
    BOOST_TEST(plexus::core::lr_find_rate(2.0, 8.0, 3, 1) == 4.0,
               boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(the_smoothed_loss_is_a_bias_corrected_moving_average) {
    plexus::core::LossSmoother s;
    // avg = 0.02 · 1 = 0.02, / (1 - 0.98) = 1.
    BOOST_TEST(s.add(1.0) == 1.0, boost::test_tools::tolerance(1e-12));
    // avg = 0.98 · 0.02 + 0.02 · 2 = 0.0596, / (1 - 0.9604) = 0.0596 / 0.0396.
    BOOST_TEST(s.add(2.0) == 0.0596 / 0.0396, boost::test_tools::tolerance(1e-12));
    plexus::core::LossSmoother flat;
    for (int i = 0; i < 50; ++i) BOOST_TEST(flat.add(3.0) == 3.0, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(suggestions_take_the_steepest_descent_and_the_minimum_over_ten) {
    // Rates 1e-5 ... 10: equal log steps, so the steepest descent is the largest drop
    // (2.0 -> 1.0, from the point at 1e-3), the minimum 0.5 at 1. Fewer than 10 points: none
    // is left out.
    std::vector<LrFindPoint> points;
    const double smoothed[] = {2.3, 2.2, 2.0, 1.0, 0.8, 0.5, 3.0};
    for (int i = 0; i < 7; ++i)
        points.push_back({std::size_t(i + 1), std::pow(10.0, i - 5), 0.0, smoothed[i]});
    auto s = plexus::core::suggest_lr(points);
    BOOST_TEST(s.steepest == 1e-3, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(s.suggested == 1e-3, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(s.minimum == 1.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(s.minimum_loss == 0.5);
    BOOST_TEST(s.rule == "steepest descent of the smoothed loss");

    // A loss that only rises: no descent, the minimum rule (its first point) / 10.
    for (int i = 0; i < 7; ++i) points[i].smoothed = 1.0 + i;
    s = plexus::core::suggest_lr(points);
    BOOST_TEST(s.steepest == 0.0);
    BOOST_TEST(s.suggested == 1e-6, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(s.rule == "minimum of the smoothed loss / 10");

    // 40 points: the first 4 and last 5 are left out, so the steep drop at point 2 does not
    // count and the one at point 20 does.
    points.clear();
    for (int i = 0; i < 40; ++i)
        points.push_back({std::size_t(i + 1), std::pow(10.0, -7 + 0.2 * i), 0.0,
                          2.0 - (i >= 2 ? 0.5 : 0.0) - (i >= 21 ? 0.2 : 0.0)});
    s = plexus::core::suggest_lr(points);
    BOOST_TEST(s.steepest == std::pow(10.0, -7 + 0.2 * 20), boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(the_range_test_falls_then_diverges_and_suggests_a_sane_rate) {
    if (!fs::exists(kFashion)) {
        BOOST_TEST_MESSAGE("Fashion-MNIST not installed; skipping");
        return;
    }
    TempDir dir("lr-find");
    // A schedule and a checkpoint in the experiment must neither change the rates nor write.
    const auto exp = plexus::core::Experiment::parse(
        experiment_text("callback = step_decay step_size=1 gamma=0.1\n"
                        "callback = model_checkpoint path=" + (dir.path / "ckpt").string() + "\n"),
        "lrtest.ini");
    std::ostringstream out;
    const auto r = plexus::core::lr_find(exp, options_in(dir.path / "out"), out);
    BOOST_TEST_MESSAGE(out.str());

    const auto& p = r.points;
    BOOST_TEST_REQUIRE(p.size() >= 20u);
    BOOST_TEST(p.size() < 90u);  // stopped by the divergence, before the last batch
    BOOST_TEST(r.stop_reason.find("exceeded 4 x its minimum") != std::string::npos, r.stop_reason);
    BOOST_TEST(r.suggestion.minimum_loss < 0.9 * p.front().smoothed);  // it fell ...
    BOOST_TEST(p.back().smoothed > 4 * r.suggestion.minimum_loss);   // ... then diverged
    BOOST_TEST(r.suggestion.suggested > 1e-4);
    BOOST_TEST(r.suggestion.suggested < 1.0);
    BOOST_TEST(out.str().find("suggested learning rate: ") != std::string::npos);

    std::string header;
    const auto rows = read_csv(r.out_dir / "lr_find.csv", header);
    BOOST_TEST(header == "step,lr,loss,smoothed_loss");
    BOOST_TEST_REQUIRE(rows.size() == p.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        // The schedule of the test, not the experiment's step_decay.
        BOOST_TEST(rows[i][1] == plexus::core::lr_find_rate(1e-7, 10.0, 90, i),
                   boost::test_tools::tolerance(1e-6));
        if (i) BOOST_TEST(rows[i][1] > rows[i - 1][1]);
    }
    const std::string svg = plexus::test::read_text(r.out_dir / "lr_find.svg");
    BOOST_TEST(well_formed_xml(svg));
    BOOST_TEST(!well_formed_xml(svg.substr(0, svg.size() / 2)));  // the check can fail
    BOOST_TEST(svg.find("suggested") != std::string::npos);
    BOOST_TEST(!fs::exists(dir.path / "ckpt"));
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(r.out_dir)) ++files;
    BOOST_TEST(files == 2u);  // lr_find.csv and lr_find.svg, no weights
}

BOOST_AUTO_TEST_CASE(a_callback_stop_ends_the_pass_before_the_next_batch) {
    if (!fs::exists(kFashion)) return;
    TempDir dir("lr-find-steps");
    // A narrow, low range never diverges: the test stops itself after exactly 12 batches of
    // the 90, which only works if the trainer honours the stop mid-epoch.
    auto o = options_in(dir.path / "out");
    o.start = 1e-6;
    o.end = 1e-5;
    o.steps = 12;
    std::ostringstream out;
    const auto r = plexus::core::lr_find(
        plexus::core::Experiment::parse(experiment_text(), "lrtest.ini"), o, out);
    BOOST_TEST(r.points.size() == 12u);
    BOOST_TEST(r.stop_reason == "completed 12 steps up to lr 1.00e-05");
}

BOOST_AUTO_TEST_CASE(the_test_file_is_never_opened) {
    if (!fs::exists(kFashion)) return;
    TempDir dir("lr-find-no-test");
    // A test file that cannot be read fails plexus train; lr-find must not even open it.
    std::string text = experiment_text();
    const std::string test_line = "test = idx:" + kFashion + "/t10k\n";
    BOOST_TEST_REQUIRE(text.find(test_line) != std::string::npos);
    text.replace(text.find(test_line), test_line.size(),
                 "test = idx:" + (dir.path / "missing").string() + "\n");
    auto o = options_in(dir.path / "out");
    o.steps = 10;
    std::ostringstream out;
    const auto r =
        plexus::core::lr_find(plexus::core::Experiment::parse(text, "lrtest.ini"), o, out);
    BOOST_TEST(r.points.size() == 10u);
    BOOST_TEST(out.str().find(" 0 test samples") != std::string::npos, out.str());
}

BOOST_AUTO_TEST_CASE(bad_options_give_one_line_and_write_nothing) {
    if (!fs::exists(kFashion)) return;
    TempDir dir("lr-find-bad");
    const fs::path exp = dir.path / "lrtest.ini";
    std::ofstream(exp) << experiment_text();
    const std::string run = "lr-find '" + exp.string() + "' --out '" + (dir.path / "out").string() + "' ";
    struct Case {
        std::string args, message;
    };
    const Case cases[] = {
        {"--start 1 --end 0.1", "0 < start < end, got start 1 and end 0.1"},
        {"--start 0.1 --end 0.1", "0 < start < end"},
        {"--start 0 --end 1", "0 < start < end"},
        {"--steps 0", "--steps must be at least 2"},
        {"--steps 1", "--steps must be at least 2"},
        {"--steps 91", "--steps 91 exceeds the 90 batches of one pass"},
        {"--set train.batch_size=6000", "lr-find needs at least 2 batches"},
        {"--start abc", "start"},
    };
    for (const auto& c : cases) {
        const auto r = run_plexus(run + c.args);
        BOOST_TEST(r.exit_code != 0, c.args);
        BOOST_TEST(r.err.find(c.message) != std::string::npos, c.args << ": " << r.err);
        BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, c.args << ": " << r.err);
        BOOST_TEST(!fs::exists(dir.path / "out"), c.args);
    }
}
