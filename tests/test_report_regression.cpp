// report.html of a regression run: the regression report and the prediction charts replace the
// confusion matrix; large sets are decimated; a run folder with test_predictions.csv is read
// back by report_data(), `plexus report` and `plexus diagnose`; Chromium renders the page.
#define BOOST_TEST_MODULE report_regression
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "chromium.hpp"
#include "cli.hpp"
#include "plexus/core/reporting/report.hpp"
#include "plexus/core/reporting/svg_chart.hpp"
#include "plexus/core/run/run_record.hpp"
#include "plexus/error.hpp"
#include "text_checks.hpp"

namespace fs = std::filesystem;
using plexus::test::Browser;
using plexus::test::contains;
using plexus::test::count;
using plexus::test::read_text;
using plexus::test::run_chromium;
using plexus::test::run_plexus;
using plexus::test::TempDir;
using namespace plexus::core;

namespace {

// A weekly series: truth a rising sine, the forecast a step late. Keys are dates.
RegressionResults weekly(std::size_t n, std::size_t targets = 1) {
    RegressionResults r;
    r.key_name = "date";
    r.time_ordered = true;
    for (std::size_t j = 0; j < targets; ++j)
        r.target_names.push_back(j == 0 ? "co2 <ppm> & \"x\"" : "t" + std::to_string(j));
    for (std::size_t i = 0; i < n; ++i) {
        r.keys.push_back(std::to_string(2000 + i / 52) + "-w" + std::to_string(i % 52 + 1));
        for (std::size_t j = 0; j < targets; ++j) {
            const double t = 370 + 0.04 * i + 3 * std::sin(0.12 * i + j);
            r.truth.push_back(t);
            r.predicted.push_back(t + 0.3 * std::cos(0.5 * i));
        }
    }
    return r;
}

ReportData regression_run(RegressionResults r) {
    ReportData d;
    d.title = "co2_lstm-20261205-080000";
    d.history.columns = {"epoch", "loss", "mae", "val_loss", "val_mae", "lr"};
    for (int e = 1; e <= 10; ++e)
        d.history.rows.push_back({double(e), 1.0 / e, 2.0 / e, 1.1 / e, 2.1 / e, 1e-3});
    d.main_metric = "mae";
    d.test_metrics = {{"loss", 0.02}, {"mae", 0.31}};
    d.confusion = {{1, 2}, {3, 4}};  // ignored: a regression run has no confusion matrix
    d.regression = std::move(r);
    return d;
}

}  // namespace

BOOST_AUTO_TEST_CASE(decimation_keeps_both_ends_evenly) {
    using V = std::vector<std::size_t>;
    BOOST_TEST(svg::decimate(10, 4) == (V{0, 3, 6, 9}));
    BOOST_TEST(svg::decimate(11, 4) == (V{0, 3, 7, 10}));  // 10/3 = 3.33, 20/3 = 6.67
    BOOST_TEST(svg::decimate(7, 2) == (V{0, 6}));
    BOOST_TEST(svg::decimate(3, 10) == (V{0, 1, 2}));
    BOOST_TEST(svg::decimate(0, 10).empty());
}

BOOST_AUTO_TEST_CASE(histogram_counts_by_hand) {
    svg::HistogramChart h;
    h.x_label = "residual";
    h.values = {-1, -0.5, 0, 0.5, 1, NAN};
    h.bins = 2;  // [-1, 0) holds two values, [0, 1] three; the NaN is left out
    const std::string s = svg::histogram_chart(h);
    BOOST_TEST(contains(s, "<title>-1 to 0: 2</title>"), s);
    BOOST_TEST(contains(s, "<title>0 to 1: 3</title>"), s);
    BOOST_TEST(contains(s, "1 non-finite left out"), s);
}

BOOST_AUTO_TEST_CASE(series_sections_replace_the_confusion_matrix) {
    RegressionResults r;
    r.target_names = {"a", "<b>"};
    r.key_name = "date";
    r.keys = {"2001-01-06", "2001-01-13", "2001-01-20", "2001-01-27"};
    r.truth = {1, 10, 2, 10, 3, 20, 4, 20};  // test_regression_report's hand-computed example
    r.predicted = {1.5, 12, 2, 8, 2, 20, 5, 23};
    r.time_ordered = true;
    const std::string html = render_report(regression_run(r));
    BOOST_TEST(!contains(html, "Confusion matrix"));
    BOOST_TEST(!contains(html, "Per-class"));
    BOOST_TEST(contains(html, "<section id=\"regression\"><h2>Regression report</h2>"));
    BOOST_TEST(contains(html, "test set, 4 samples"));
    BOOST_TEST(contains(html,
                        "<tr><td>a</td><td>0.625</td><td>0.5625</td><td>0.75</td>"
                        "<td>0.55</td><td>0.2708</td><td>4</td></tr>"),
               html);
    BOOST_TEST(contains(html, "<tr class=\"summary first-summary\"><td>all</td><td>1.188</td>"));
    BOOST_TEST(contains(html, "<td>&lt;b&gt;</td>"));
    BOOST_TEST(!contains(html, "<b>"));
    // Per target: the scatter, the forecast against the truth over the dates, the residuals.
    BOOST_TEST(count(html, "predicted = true") == 2u);
    BOOST_TEST(contains(html, "&lt;b&gt; (predicted)"));
    BOOST_TEST(count(html, ">forecast</text>") == 2u);
    BOOST_TEST(contains(html, ">2001-01-06</text>"));
    BOOST_TEST(contains(html, "residual (true - predicted)"));
    BOOST_TEST(!contains(html, "histogram of"));
    // Every point is drawn: four zero-length strokes per scatter.
    BOOST_TEST(count(html, "h0") == 8u);
    // The learning curves plot the regression metric.
    BOOST_TEST(contains(html, "validation mae"));
}

BOOST_AUTO_TEST_CASE(unordered_samples_get_a_residual_histogram) {
    RegressionResults r = weekly(30);
    r.time_ordered = false;
    r.key_name = "sample";
    const std::string html = render_report(regression_run(r));
    BOOST_TEST(contains(html, "histogram of co2 &lt;ppm&gt; &amp; &quot;x&quot; residual"));
    BOOST_TEST(!contains(html, ">forecast</text>"));
    BOOST_TEST(contains(html, "Residuals of all 30 samples"));
}

BOOST_AUTO_TEST_CASE(large_sets_are_decimated_and_the_page_stays_small) {
    const std::size_t n = 100000;
    const std::string html = render_report(regression_run(weekly(n, 4)));
    BOOST_TEST_MESSAGE("report of 100,000 samples x 4 targets: " << html.size() << " bytes");
    BOOST_TEST(html.size() < 700000u);
    BOOST_TEST(contains(html, "Charts for the first 3 of 4 targets"));
    BOOST_TEST(contains(html, "draw 2000 of the 100000 samples"));
    BOOST_TEST(count(html, "h0") == 3u * 2000u);
    BOOST_TEST(contains(html, "<td>t3</td>"));  // the table still has every target
    // The last sample is among those drawn: its date labels no tick but its point is there.
    BOOST_TEST(count(html, "predicted = true") == 3u);
}

BOOST_AUTO_TEST_CASE(diverged_or_empty_predictions_still_render) {
    RegressionResults r = weekly(5);
    r.time_ordered = false;
    for (double& p : r.predicted) p = NAN;
    std::string html = render_report(regression_run(r));
    BOOST_TEST(contains(html, "<tr><td>co2 &lt;ppm&gt; &amp; &quot;x&quot;</td><td>n/a</td>"));
    BOOST_TEST(contains(html, "5 non-finite points left out"));
    BOOST_TEST(contains(html, "5 non-finite left out"));
    r.keys.clear();
    r.truth.clear();
    r.predicted.clear();
    html = render_report(regression_run(r));
    BOOST_TEST(contains(html, "test set, 0 samples"));
    BOOST_TEST(count(html, "no finite values") == 2u);
}

namespace {

// A regression run folder as plexus train leaves it.
void write_run(const fs::path& dir, const RegressionResults& r) {
    std::ofstream(dir / "history.csv") << "epoch,loss,mae,val_loss,val_mae,lr\n"
                                          "1,0.5,0.9,0.6,1.0,0.001\n"
                                          "2,0.2,0.5,0.25,0.55,0.001\n"
                                          "3,0.1,0.35,0.12,0.4,0.001\n"
                                          "4,0.09,0.33,0.11,0.38,0.001\n"
                                          "5,0.088,0.32,0.112,0.381,0.001\n";
    nlohmann::json m = regression_json(r);
    m["test"] = {{"loss", 0.1}, {"mae", 0.625}};
    std::ofstream(dir / "metrics.json") << m.dump(2);
    std::ofstream(dir / "experiment.ini") << "[data]\ntrain = series:co2.csv\n";
    write_predictions_csv(dir / "test_predictions.csv", r);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_run_folder_is_read_back) {
    TempDir dir("report-regression-run");
    write_run(dir.path, weekly(60));
    ReportData d = report_data(read_run(dir.path), "");
    BOOST_REQUIRE(d.regression.has_value());
    BOOST_TEST(d.regression->time_ordered);  // from metrics.json
    BOOST_TEST(d.regression->key_name == "date");
    BOOST_TEST(d.regression->samples() == 60u);
    BOOST_TEST(d.regression->keys[59] == "2001-w8");
    BOOST_TEST(d.confusion.empty());

    std::ofstream(dir / "test_predictions.csv") << "date,co2,co2_predicted\n2001-w1,oops,1\n";
    try {
        report_data(read_run(dir.path), "");
        BOOST_ERROR("a damaged test_predictions.csv was accepted");
    } catch (const plexus::DataError& e) {
        BOOST_TEST(contains(e.what(), "test_predictions.csv:2: 'oops' under 'co2'"), e.what());
    }
}

BOOST_AUTO_TEST_CASE(plexus_report_and_diagnose_on_a_regression_run) {
    TempDir dir("report-regression-cli");
    write_run(dir.path, weekly(60));
    const auto report = run_plexus("report '" + dir.path.string() + "'");
    BOOST_TEST(report.exit_code == 0, report.err);
    const std::string html = read_text(dir / "report.html");
    BOOST_TEST(contains(html, "Regression report"));
    BOOST_TEST(contains(html, ">forecast</text>"));
    const auto diagnose = run_plexus("diagnose '" + dir.path.string() + "'");
    BOOST_TEST(diagnose.exit_code == 0, diagnose.err);
    BOOST_TEST(contains(diagnose.out, "diagnosis: good fit"), diagnose.out);
    BOOST_TEST(contains(diagnose.out, "val_mae 0.381"), diagnose.out);
    BOOST_TEST(contains(diagnose.out, "note: a regression"), diagnose.out);
    BOOST_TEST(!contains(diagnose.out, "accuracy"), diagnose.out);
}

BOOST_AUTO_TEST_CASE(chromium_renders_the_regression_report) {
    TempDir dir("report-regression-browser");
    const fs::path page = dir.path / "report.html", shot = dir.path / "shot.png";
    write_report(page, regression_run(weekly(400)));
    const Browser b = run_chromium(dir.path, page, "--screenshot=" + shot.string());
    BOOST_TEST(b.exit_code == 0, b.log);
    BOOST_TEST(b.console.empty(), "the report logged to the console:\n" << b.log);
    BOOST_REQUIRE_MESSAGE(fs::exists(shot), "no screenshot was written:\n" << b.log);
    const plexus::test::Image img = plexus::test::decode_png(read_text(shot));
    std::size_t orange = 0, blue = 0, purple = 0;
    for (std::size_t p = 0; p + 2 < img.rgb.size(); p += 3) {
        const int r = img.rgb[p], g = img.rgb[p + 1], bl = img.rgb[p + 2];
        const auto near = [&](int R, int G, int B) {
            return std::abs(r - R) + std::abs(g - G) + std::abs(bl - B) < 40;
        };
        orange += near(255, 127, 14);  // forecast and validation curves
        blue += near(31, 119, 180);    // truth, training curves (the dots are translucent)
        purple += near(123, 79, 166);  // residuals
    }
    BOOST_TEST_MESSAGE("orange " << orange << ", blue " << blue << ", purple " << purple);
    BOOST_TEST(orange > 1000u);
    BOOST_TEST(blue > 1000u);
    BOOST_TEST(purple > 500u);

    const auto [good, bad] = plexus::test::parse_as_xhtml(dir.path, read_text(page));
    BOOST_TEST(contains(good.log, "Regression report"), good.log);
    BOOST_TEST(!contains(good.log, "parsererror"), good.log);
    BOOST_TEST(contains(bad.log, "parsererror"), bad.log);
}
