// Regression end to end through `plexus train`, `evaluate` and `predict`: a CSV with a numeric
// target and a standardized target transform, a relative series, an autoencoder, and the
// one-line refusals when the loss or a metric does not suit the targets.
#define BOOST_TEST_MODULE regression_run
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "cli.hpp"

namespace fs = std::filesystem;
using plexus::test::read_text;
using plexus::test::run_plexus;
using plexus::test::TempDir;

namespace {

fs::path only_run(const fs::path& runs) {
    fs::path found;
    for (const auto& e : fs::directory_iterator(runs)) found = e.path();
    return found;
}

// y = 1000 + 50 (a - 2 b) + noise(1): far from 0 and wide, so only a model whose target is
// scaled and whose reports are inverted gets MAE ~1 in y's units.
void write_linear_csv(const fs::path& file, int rows, unsigned seed) {
    std::ofstream out(file);
    out << "a,b,y\n";
    std::mt19937 rng(seed);
    std::normal_distribution<double> x(0.0, 1.0), noise(0.0, 1.0);
    for (int i = 0; i < rows; ++i) {
        const double a = x(rng), b = x(rng);
        out << a << "," << b << "," << 1000.0 + 50.0 * (a - 2.0 * b) + noise(rng) << "\n";
    }
}

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(read_text(file));
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> cells;
        std::stringstream ls(line);
        for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(cell);
        rows.push_back(cells);
    }
    return rows;
}

struct LinearRun {
    TempDir tmp{"regression_run"};
    fs::path run;
    nlohmann::json metrics;
    explicit LinearRun(const std::string& extra = "target_transform = standardize\n") {
        write_linear_csv(tmp.path / "train.csv", 600, 1);
        write_linear_csv(tmp.path / "test.csv", 200, 2);
        std::ofstream(tmp.path / "lin.ini")
            << "[data]\ntrain = csv:train.csv target=y\ntest = csv:test.csv target=y\n"
               "validation = 0.2\n"
            << extra
            << "[model]\nlayer = dense units=1\nloss = mse\n"
               "[train]\noptimizer = adam lr=0.05\nbatch_size = 32\nepochs = 40\nverbose = 0\n";
        const auto r = run_plexus("train '" + (tmp.path / "lin.ini").string() + "' --out '" +
                                  (tmp.path / "runs").string() + "'");
        BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        BOOST_TEST(r.out.find("regression report (test set, 200 samples)") != std::string::npos,
                   r.out);
        BOOST_TEST(r.out.find("classification report") == std::string::npos);
        run = only_run(tmp.path / "runs");
        metrics = nlohmann::json::parse(read_text(run / "metrics.json"));
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_csv_regression_reports_in_the_targets_units) {
    LinearRun t;
    BOOST_TEST(t.metrics["task"] == "regression");
    BOOST_TEST(t.metrics["targets"] == nlohmann::json::array({"y"}));
    // Default metrics for a regression loss: mae and rmse, in y's units (noise sd 1).
    const double mae = t.metrics["test"]["mae"].get<double>();
    BOOST_TEST(mae < 2.0);
    BOOST_TEST(mae > 0.5);  // the noise cannot be learned: an MAE far below it is a bug
    BOOST_TEST(t.metrics["test"]["rmse"].get<double>() >= mae);
    // test_predictions.csv: one row per test sample, truth as written in test.csv.
    const auto rows = read_csv(t.run / "test_predictions.csv");
    BOOST_REQUIRE(rows.size() == 201u);
    BOOST_TEST((rows[0] == std::vector<std::string>{"sample", "y", "y_predicted"}));
    double sum = 0.0;
    for (std::size_t i = 1; i < rows.size(); ++i)
        sum += std::abs(std::stod(rows[i][1]) - std::stod(rows[i][2]));
    BOOST_TEST(sum / 200.0 == mae, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(read_text(t.run / "report.html").find("Predicted against true") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(evaluate_and_predict_reload_the_target_transform) {
    LinearRun t;
    const std::string data = "--data 'csv:" + (t.tmp.path / "test.csv").string() + " target=y'";
    const auto e = run_plexus("evaluate '" + t.run.string() + "' " + data + " --json");
    BOOST_REQUIRE_MESSAGE(e.exit_code == 0, e.err);
    const auto j = nlohmann::json::parse(e.out);
    // Same weights, same inverted scaler: the trainer's own test MAE.
    BOOST_TEST(j["metrics"]["mae"].get<double>() == t.metrics["test"]["mae"].get<double>(),
               boost::test_tools::tolerance(1e-4));
    BOOST_TEST(j["metrics"].contains("r2"));
    const fs::path out = t.tmp.path / "p.csv";
    const auto p = run_plexus("predict '" + t.run.string() + "' " + data + " --out '" +
                              out.string() + "'");
    BOOST_REQUIRE_MESSAGE(p.exit_code == 0, p.err);
    const auto rows = read_csv(out);
    BOOST_REQUIRE(rows.size() == 201u);
    BOOST_TEST((rows[0] == std::vector<std::string>{"index", "y", "y_predicted"}));
    // Predictions are in y's units (around 1000), not z-scores.
    BOOST_TEST(std::abs(std::stod(rows[1][2]) - std::stod(rows[1][1])) < 6.0);
}

BOOST_AUTO_TEST_CASE(unscaled_targets_train_worse_but_still_report_in_units) {
    // Without the target transform the same model starts 1000 away: after the same epochs
    // it is far worse, which is why the transform exists (and shows the test can fail).
    LinearRun scaled;
    LinearRun raw("");
    BOOST_TEST(raw.metrics["test"]["mae"].get<double>() >
               5.0 * scaled.metrics["test"]["mae"].get<double>());
}

BOOST_AUTO_TEST_CASE(a_relative_series_is_judged_against_the_naive_forecasts) {
    TempDir tmp{"regression_series"};
    {
        // A rising line with a yearly wave: relative windows forecast beyond the training
        // range; the last value alone lags by the slope.
        std::ofstream out(tmp.path / "s.csv");
        out << "date,v\n";
        for (int i = 0; i < 400; ++i)
            out << 20000101 + i << "," << 0.5 * i + 3.0 * std::sin(i * 2.0 * M_PI / 12.0) << "\n";
    }
    std::ofstream(tmp.path / "s.ini")
        << "[data]\ntrain = series:s.csv target=v window=12 relative=true\n"
           "split = 70:15:15 chronological\ntarget_transform = standardize\n"
           "[model]\nlayer = lstm units=16\nlayer = dense units=1\nloss = mse\n"
           "[train]\noptimizer = adam lr=0.01\nbatch_size = 32\nepochs = 40\nverbose = 0\n";
    const auto r = run_plexus("train '" + (tmp.path / "s.ini").string() + "' --out '" +
                              (tmp.path / "runs").string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const fs::path run = only_run(tmp.path / "runs");
    const auto metrics = nlohmann::json::parse(read_text(run / "metrics.json"));
    const double naive = metrics["naive_forecasts"]["last_value"]["mae"].get<double>();
    BOOST_TEST(naive > 1.0);  // the wave moves ~1.5 per step: the last value is poor
    BOOST_TEST(metrics["test"]["mae"].get<double>() < 0.5 * naive);
    // Test predictions in time order, keyed by the date of the predicted step, in units
    // beyond the training range (values above 0.5 * 280).
    const auto rows = read_csv(run / "test_predictions.csv");
    BOOST_REQUIRE(rows.size() > 10u);
    BOOST_TEST(rows[0][0] == "date");
    for (std::size_t i = 2; i < rows.size(); ++i) BOOST_TEST(std::stol(rows[i][0]) > std::stol(rows[i - 1][0]));
    BOOST_TEST(std::stod(rows[1][2]) > 140.0);
}

BOOST_AUTO_TEST_CASE(a_loss_or_metric_that_does_not_suit_the_targets_is_one_line) {
    TempDir tmp{"regression_refusals"};
    write_linear_csv(tmp.path / "train.csv", 50, 3);
    const auto train = [&](const std::string& body) {
        std::ofstream(tmp.path / "x.ini") << body;
        return run_plexus("train '" + (tmp.path / "x.ini").string() + "' --out '" +
                          (tmp.path / "runs").string() + "'");
    };
    const std::string data = "[data]\ntrain = csv:train.csv target=y\n";
    auto r = train(data + "[model]\nlayer = dense units=1\nloss = softmax_cross_entropy\n");
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(r.err.find("x.ini:5: loss = softmax_cross_entropy wants class ids, but the data "
                          "has float targets") != std::string::npos,
               r.err);
    r = train(data + "[model]\nlayer = dense units=1\nloss = mse\n[train]\nmetric = accuracy\n");
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(r.err.find("x.ini:7: metric = accuracy does not work on float targets") !=
                   std::string::npos,
               r.err);
    r = train(data + "target_transform = zscore\n[model]\nlayer = dense units=1\nloss = mse\n");
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(r.err.find("x.ini:3: target_transform must be none, standardize or scale") !=
                   std::string::npos,
               r.err);
    r = train(data + "[model]\nlayer = dense units=2\nloss = mse\n");
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(r.err.find("1 float target(s) per sample") != std::string::npos, r.err);
    BOOST_TEST((!fs::exists(tmp.path / "runs") || fs::is_empty(tmp.path / "runs")));
}
