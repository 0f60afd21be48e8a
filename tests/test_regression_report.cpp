// The regression report and test_predictions.csv: metrics against hand-computed values and
// scikit-learn's, the terminal text, the CSV written and read back, and damaged CSV files
// refused with one line naming the file, the line and what is wrong.
#define BOOST_TEST_MODULE regression_report
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "cli.hpp"
#include "plexus/core/reporting/regression.hpp"
#include "plexus/error.hpp"

namespace fs = std::filesystem;
using plexus::test::read_text;
using plexus::test::TempDir;
using namespace plexus::core;

namespace {

double cell(const plexus::MetricTable& t, const std::string& row, const std::string& col) {
    const auto r = std::find(t.row_labels.begin(), t.row_labels.end(), row);
    const auto c = std::find(t.column_labels.begin(), t.column_labels.end(), col);
    BOOST_REQUIRE_MESSAGE(r != t.row_labels.end(), "no row " << row);
    BOOST_REQUIRE_MESSAGE(c != t.column_labels.end(), "no column " << col);
    return t.values[(r - t.row_labels.begin()) * t.column_labels.size() +
                    (c - t.column_labels.begin())];
}

void check_near(double got, double want, const std::string& what, double tol = 1e-12) {
    BOOST_TEST(std::abs(got - want) <= tol * (1.0 + std::abs(want)),
               what << ": " << got << " != " << want);
}

// Four samples, two targets. By hand, residuals truth - predicted:
//   a: -0.5, 0, 1, -1  |r| sum 2.5, r² sum 2.25; mean 2.5, SS_tot 5
//      mape (0.5/1 + 0/2 + 1/3 + 1/4) / 4 = 0.2708333...
//   b: -2, 2, 0, -3    |r| sum 7, r² sum 17; mean 15, SS_tot 100
//      mape (2/10 + 2/10 + 0/20 + 3/20) / 4 = 0.1375
RegressionResults four_by_two() {
    RegressionResults r;
    r.target_names = {"a", "b"};
    r.key_name = "sample";
    r.keys = {"0", "1", "2", "3"};
    r.truth = {1, 10, 2, 10, 3, 20, 4, 20};
    r.predicted = {1.5, 12, 2, 8, 2, 20, 5, 23};
    return r;
}

void check_fails(const fs::path& file, const std::string& content, const std::string& what) {
    std::ofstream(file, std::ios::binary) << content;
    BOOST_TEST_CONTEXT(what) {
        try {
            read_predictions_csv(file);
            BOOST_ERROR("read_predictions_csv accepted a damaged file: " << content);
        } catch (const plexus::DataError& e) {
            const std::string msg = e.what();
            BOOST_TEST(msg.find(file.string()) == 0, msg);
            BOOST_TEST(msg.find(what) != std::string::npos, msg);
            BOOST_TEST(msg.find('\n') == std::string::npos, msg);
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(hand_computed_two_targets) {
    const plexus::MetricTable t = regression_report(four_by_two());
    BOOST_TEST(t.row_labels == (std::vector<std::string>{"a", "b", "all"}));
    BOOST_TEST(t.column_labels ==
               (std::vector<std::string>{"mae", "mse", "rmse", "r2", "mape", "samples"}));
    check_near(cell(t, "a", "mae"), 0.625, "a mae");
    check_near(cell(t, "a", "mse"), 0.5625, "a mse");
    check_near(cell(t, "a", "rmse"), 0.75, "a rmse");
    check_near(cell(t, "a", "r2"), 1.0 - 2.25 / 5.0, "a r2");
    check_near(cell(t, "a", "mape"), (0.5 + 1.0 / 3 + 0.25) / 4, "a mape");
    check_near(cell(t, "b", "mae"), 1.75, "b mae");
    check_near(cell(t, "b", "mse"), 4.25, "b mse");
    check_near(cell(t, "b", "rmse"), std::sqrt(4.25), "b rmse");
    check_near(cell(t, "b", "r2"), 0.83, "b r2");
    check_near(cell(t, "b", "mape"), 0.1375, "b mape");
    // "all" averages the targets' values (the rmse too, not the root of the mean mse).
    check_near(cell(t, "all", "mae"), (0.625 + 1.75) / 2, "all mae");
    check_near(cell(t, "all", "mse"), (0.5625 + 4.25) / 2, "all mse");
    check_near(cell(t, "all", "rmse"), (0.75 + std::sqrt(4.25)) / 2, "all rmse");
    check_near(cell(t, "all", "r2"), (0.55 + 0.83) / 2, "all r2");
    check_near(cell(t, "all", "mape"), ((0.5 + 1.0 / 3 + 0.25) / 4 + 0.1375) / 2, "all mape");
    for (const char* row : {"a", "b", "all"}) BOOST_TEST(cell(t, row, "samples") == 4.0);
}

// Made by this script with scikit-learn 1.2.1 (Debian's python3-sklearn):
//   import math, numpy as np
//   from sklearn.metrics import (mean_absolute_error, mean_squared_error, r2_score,
//                                mean_absolute_percentage_error)
//   n, k = 12, 3
//   t = np.array([[round(10 * math.sin(0.7 * i + j) + 3 * j, 3) for j in range(k)]
//                 for i in range(n)])
//   p = np.array([[round(t[i][j] + 2 * math.cos(1.3 * i + 2 * j), 3) for j in range(k)]
//                 for i in range(n)])
//   for avg in ["raw_values", "uniform_average"]:
//       print(mean_absolute_error(t, p, multioutput=avg),
//             mean_squared_error(t, p, multioutput=avg),
//             mean_squared_error(t, p, multioutput=avg, squared=False),
//             r2_score(t, p, multioutput=avg),
//             mean_absolute_percentage_error(t, p, multioutput=avg))
// The first truth is 0: its mape term is |r| / machine epsilon, as in scikit-learn.
BOOST_AUTO_TEST_CASE(matches_scikit_learn_on_three_targets) {
    RegressionResults r;
    r.target_names = {"x", "y", "z"};
    r.truth = {0.0,    11.415, 15.093, 6.442,  12.917, 10.274, 9.854,  9.755,  3.445,
               8.632,  3.416,  -2.183, 3.35,   -3.119, -3.962, -3.508, -6.775, -1.055,
               -8.716, -5.835, 5.169,  -9.825, -0.739, 11.784, -6.313, 6.115,  15.679,
               0.168,  11.504, 15.022, 6.57,   12.894, 10.121, 9.882,  9.63,   3.282};
    r.predicted = {2.0,    10.583, 13.786, 6.977,  10.942, 11.383, 8.14,   9.531,  5.345,
                   7.18,   5.271,  -2.275, 4.287,  -1.902, -5.912, -1.555, -7.979, -2.006,
                   -8.608, -7.696, 6.61,   -11.72, -0.531, 13.506, -7.435, 8.087,  15.159,
                   1.463,  12.351, 13.022, 8.385,  11.375, 9.571,  9.558,  7.97,   4.988};
    for (int i = 0; i < 12; ++i) r.keys.push_back(std::to_string(i));
    const plexus::MetricTable t = regression_report(r);
    const std::vector<std::string> rows = {"x", "y", "z", "all"};
    const std::vector<std::vector<double>> want = {
        {1.2624999999999997, 1.9968584999999999, 1.413102437900381, 0.9577424956497733,
         750599937895083.4},
        {1.2811666666666668, 2.0158745000000002, 1.4198149527315171, 0.9604105639302026,
         0.2205315330815066},
        {1.2706666666666668, 1.9823829999999998, 1.4079712355016347, 0.956555507484458,
         0.27893022008425555},
        {1.2714444444444446, 1.9983719999999998, 1.4136295420445109, 0.9582361890214779,
         250199979298361.28}};
    const std::vector<std::string> cols = {"mae", "mse", "rmse", "r2", "mape"};
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (std::size_t c = 0; c < cols.size(); ++c)
            check_near(cell(t, rows[i], cols[c]), want[i][c], rows[i] + " " + cols[c], 1e-10);
}

// scikit-learn 1.2.1: r2_score([3, 3, 3], [3, 3, 3]) == 1.0, r2_score([3, 3, 3], [3, 3, 4])
// == 0.0, r2_score([3.0], [2.0]) is nan (fewer than two samples).
BOOST_AUTO_TEST_CASE(r2_edge_cases_and_a_single_target) {
    RegressionResults r;
    r.target_names = {"level"};
    r.keys = {"a", "b", "c"};
    r.truth = {3, 3, 3};
    r.predicted = {3, 3, 3};
    plexus::MetricTable t = regression_report(r);
    BOOST_TEST(t.row_labels == std::vector<std::string>{"level"});  // no "all" for one target
    BOOST_TEST(cell(t, "level", "r2") == 1.0);
    BOOST_TEST(cell(t, "level", "mae") == 0.0);
    r.predicted = {3, 3, 4};
    BOOST_TEST(cell(regression_report(r), "level", "r2") == 0.0);
    r.keys = {"a"};
    r.truth = {3.0};
    r.predicted = {2.0};
    t = regression_report(r);
    BOOST_TEST(std::isnan(cell(t, "level", "r2")));
    BOOST_TEST(cell(t, "level", "mae") == 1.0);
    BOOST_TEST(cell(t, "level", "mape") == 1.0 / 3.0);
}

BOOST_AUTO_TEST_CASE(inconsistent_results_are_refused) {
    RegressionResults r = four_by_two();
    r.predicted.pop_back();
    BOOST_CHECK_THROW(regression_report(r), plexus::Error);
    TempDir dir("regression");
    BOOST_CHECK_THROW(write_predictions_csv(dir / "p.csv", r), plexus::Error);
    BOOST_TEST(!fs::exists(dir / "p.csv"));  // nothing half-written
    r = four_by_two();
    r.target_names = {"a", ""};
    BOOST_CHECK_THROW(regression_report(r), plexus::Error);
}

BOOST_AUTO_TEST_CASE(terminal_text) {
    RegressionResults r = four_by_two();
    const std::string text = regression_report_text(r, 4);
    BOOST_TEST(text ==
               "regression report (test set, 4 samples)\n"
               "target          mae         mse        rmse          r2        mape     samples\n"
               "a            0.6250      0.5625      0.7500      0.5500      0.2708           4\n"
               "b            1.7500      4.2500      2.0616      0.8300      0.1375           4\n"
               "all          1.1875      2.4062      1.4058      0.6900      0.2042           4\n");
}

BOOST_AUTO_TEST_CASE(terminal_text_of_many_targets_is_a_screen_long) {
    // 25 targets, every prediction 1 too high: each row and "all" have mae 1.
    RegressionResults r;
    r.keys = {"0", "1"};
    for (int j = 0; j < 25; ++j) r.target_names.push_back("pixel" + std::to_string(j));
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 25; ++j) {
            r.truth.push_back(i + j);
            r.predicted.push_back(i + j + 1.0);
        }
    const std::string text = regression_report_text(r, 2);
    BOOST_TEST(text.find("pixel19 ") != std::string::npos, text);
    BOOST_TEST(text.find("pixel20") == std::string::npos, text);
    BOOST_TEST(
        text.find("\n... 5 more targets (metrics.json lists them all)\nall ") != std::string::npos,
        text);
    std::size_t lines = 0;
    for (const char c : text) lines += c == '\n';
    BOOST_TEST(lines == 1u + 1u + 20u + 1u + 1u);  // title, header, 20 targets, "...", all
    BOOST_TEST(regression_report(r).row_labels.size() == 26u);  // the table keeps them all
}

BOOST_AUTO_TEST_CASE(csv_round_trip_with_awkward_names) {
    TempDir dir("regression");
    RegressionResults r;
    r.target_names = {"co2, ppm", "say \"hi\""};
    r.key_name = "date";
    r.keys = {"2001-01-06", " padded ", "line\nbreak"};
    r.truth = {370.25, -1.5, 0.1, 2.0, 1e-300, 3.0};
    r.predicted = {370.5, NAN, 0.30000000000000004, INFINITY, 5e-324, -0.0};
    write_predictions_csv(dir / "p.csv", r);
    BOOST_TEST(read_text(dir / "p.csv") ==
               "date,\"co2, ppm\",\"co2, ppm_predicted\",\"say \"\"hi\"\"\","
               "\"say \"\"hi\"\"_predicted\"\n"
               "2001-01-06,370.25,370.5,-1.5,nan\n"
               "\" padded \",0.1,0.30000000000000004,2,inf\n"
               "\"line\nbreak\",1e-300,5e-324,3,-0\n");
    const RegressionResults back = read_predictions_csv(dir / "p.csv");
    BOOST_TEST(back.key_name == "date");
    BOOST_TEST(back.target_names == r.target_names);
    BOOST_TEST(back.keys == r.keys);
    BOOST_TEST(back.truth == r.truth);
    BOOST_REQUIRE_EQUAL(back.predicted.size(), r.predicted.size());
    for (std::size_t i = 0; i < r.predicted.size(); ++i)
        if (i != 1) BOOST_TEST(back.predicted[i] == r.predicted[i]);
    BOOST_TEST(std::isnan(back.predicted[1]));
    BOOST_TEST(!back.time_ordered);
    BOOST_TEST(back.set_name == "test");
    // CRLF line ends and blank lines are read too.
    std::ofstream(dir / "crlf.csv", std::ios::binary) << "k,v,v_predicted\r\n\r\n1,2,3\r\n";
    const RegressionResults crlf = read_predictions_csv(dir / "crlf.csv");
    BOOST_TEST(crlf.keys == std::vector<std::string>{"1"});
    BOOST_TEST(crlf.truth == std::vector<double>{2.0});
    BOOST_TEST(crlf.predicted == std::vector<double>{3.0});
}

BOOST_AUTO_TEST_CASE(damaged_csv_files_are_refused_naming_file_and_line) {
    TempDir dir("regression");
    const fs::path f = dir / "test_predictions.csv";
    check_fails(f, "", "empty");
    check_fails(f, "date,co2,co2_predicted\n", ":1: a header but no predictions");
    check_fails(f, "date,co2\n1,2\n", ":1: expected a header KEY,NAME,NAME_predicted");
    check_fails(f, "date,co2,co2_pred\n1,2,3\n", ":1: column 3 is 'co2_pred'");
    check_fails(f, ",co2,co2_predicted\n1,2,3\n", ":1: the key column has no name");
    check_fails(f, "date,,_predicted\n1,2,3\n", ":1: a target column has no name");
    check_fails(f, "d,v,v_predicted\n1,2,3\n2,3\n", ":3: expected 3 values, found 2");
    check_fails(f, "d,v,v_predicted\n1,2,3,4\n", ":2: expected 3 values, found 4");
    check_fails(f, "d,v,v_predicted\n1,abc,3\n", ":2: 'abc' under 'v' is not a finite number");
    check_fails(f, "d,v,v_predicted\n1,nan,3\n", ":2: 'nan' under 'v' is not a finite number");
    check_fails(f, "d,v,v_predicted\n1, 2,3\n", ":2: ' 2' under 'v' is not a finite number");
    check_fails(f, "d,v,v_predicted\n1,2,3x\n", ":2: '3x' under 'v_predicted' is not a number");
    check_fails(f, "d,v,v_predicted\n1,2,1e999\n", ":2: '1e999' under 'v_predicted'");
    check_fails(f, "d,v,v_predicted\n\"1,2,3\n", ":2: a quoted field is not closed");
    check_fails(f, "d,v,v_predicted\n\"1\"x,2,3\n", ":2: text after a closing quote");
    fs::remove(f);
    BOOST_CHECK_THROW(read_predictions_csv(f), plexus::DataError);
    try {
        read_predictions_csv(dir.path);
    } catch (const plexus::DataError& e) {
        BOOST_TEST(std::string(e.what()).find("not a regular file") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(json_for_metrics_file) {
    RegressionResults r = four_by_two();
    r.time_ordered = true;
    const nlohmann::json j = regression_json(r);
    BOOST_TEST(j["task"] == "regression");
    BOOST_TEST(j["targets"] == (nlohmann::json{"a", "b"}));
    BOOST_TEST(j["regression_set"] == "test");
    BOOST_TEST(j["time_ordered"] == true);
    BOOST_TEST(j["regression_report"]["columns"][0] == "mae");
    BOOST_TEST(j["regression_report"]["rows"]["b"][1].get<double>() == 4.25);
    BOOST_TEST(j["regression_report"]["rows"]["all"][5].get<double>() == 4.0);
}
