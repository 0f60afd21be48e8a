// The HTML report: the classification report against hand-computed confusion matrices, the
// markup (escaping, curves, best-epoch marker, no external references), and a real browser:
// headless Chromium renders it, must log no console message, and its screenshot must show it.
#define BOOST_TEST_MODULE report
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "chromium.hpp"
#include "cli.hpp"
#include "plexus/core/reporting/report.hpp"
#include "plexus/error.hpp"
#include "text_checks.hpp"

namespace fs = std::filesystem;
using plexus::test::Browser;
using plexus::test::contains;
using plexus::test::count;
using plexus::test::decode_png;
using plexus::test::Image;
using plexus::test::read_text;
using plexus::test::run_chromium;
using plexus::test::TempDir;
using namespace plexus::core;
using plexus::Shape;

namespace {

// Value of row `row`, column `col` of a classification_report() table.
double cell(const plexus::MetricTable& t, const std::string& row, const std::string& col) {
    const auto r = std::find(t.row_labels.begin(), t.row_labels.end(), row);
    const auto c = std::find(t.column_labels.begin(), t.column_labels.end(), col);
    BOOST_REQUIRE(r != t.row_labels.end() && c != t.column_labels.end());
    return t.values[(r - t.row_labels.begin()) * t.column_labels.size() +
                    (c - t.column_labels.begin())];
}

// Three classes; hand-computed: column sums 7, 6, 7; row sums 6, 6, 8; trace 14 of 20.
const std::vector<std::vector<double>> kThree = {{5, 1, 0}, {2, 3, 1}, {0, 2, 6}};

History five_epochs() {
    History h;
    h.columns = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"};
    h.rows = {{1, 1.2, 0.60, 1.0, 0.65, 0.1, 2.0},
              {2, 0.8, 0.72, 0.7, 0.74, 0.1, 2.0},
              {3, 0.6, 0.80, NAN, NAN, 0.1, 2.0},
              {4, 0.5, 0.84, 0.55, 0.82, 0.1, 2.0},
              {5, 0.4, 0.88, 0.60, 0.81, 0.1, 2.0}};
    return h;
}

}  // namespace

BOOST_AUTO_TEST_CASE(classification_report_three_classes) {
    const auto t = classification_report(kThree, {"A", "B", "C"});
    const std::vector<std::string> rows = {"A", "B", "C", "macro avg", "weighted avg"};
    BOOST_TEST(t.row_labels == rows, boost::test_tools::per_element());
    BOOST_TEST(cell(t, "A", "precision") == 5.0 / 7, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "A", "recall") == 5.0 / 6, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "A", "f1") == 10.0 / 13, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "B", "f1") == 0.5, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "C", "precision") == 6.0 / 7, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "C", "recall") == 0.75, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "C", "f1") == 0.8, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "C", "support") == 8.0);
    BOOST_TEST(cell(t, "macro avg", "precision") == (5.0 / 7 + 0.5 + 6.0 / 7) / 3,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "macro avg", "recall") == (5.0 / 6 + 0.5 + 0.75) / 3,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "macro avg", "f1") == (10.0 / 13 + 0.5 + 0.8) / 3,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "weighted avg", "precision") == (6 * 5.0 / 7 + 3 + 8 * 6.0 / 7) / 20,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "weighted avg", "recall") == 0.7, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "weighted avg", "f1") == (6 * 10.0 / 13 + 3 + 8 * 0.8) / 20,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(t, "weighted avg", "support") == 20.0);
    BOOST_TEST(confusion_accuracy(kThree) == 0.7, boost::test_tools::tolerance(1e-12));

    // scikit-learn's classification_report(digits=2) prints exactly this.
    const std::string expected =
        "              precision    recall  f1-score   support\n"
        "\n"
        "           A       0.71      0.83      0.77         6\n"
        "           B       0.50      0.50      0.50         6\n"
        "           C       0.86      0.75      0.80         8\n"
        "\n"
        "    accuracy                           0.70        20\n"
        "   macro avg       0.69      0.69      0.69        20\n"
        "weighted avg       0.71      0.70      0.70        20\n";
    BOOST_TEST(classification_report_text(kThree, {"A", "B", "C"}) == expected);

    // The example in scikit-learn's documentation: y_true = [0, 1, 2, 2, 2],
    // y_pred = [0, 0, 2, 2, 1].
    const std::string documented =
        "              precision    recall  f1-score   support\n"
        "\n"
        "     class 0       0.50      1.00      0.67         1\n"
        "     class 1       0.00      0.00      0.00         1\n"
        "     class 2       1.00      0.67      0.80         3\n"
        "\n"
        "    accuracy                           0.60         5\n"
        "   macro avg       0.50      0.56      0.49         5\n"
        "weighted avg       0.70      0.60      0.61         5\n";
    BOOST_TEST(classification_report_text({{1, 0, 0}, {1, 0, 0}, {0, 1, 2}},
                                          {"class 0", "class 1", "class 2"}) == documented);
}

BOOST_AUTO_TEST_CASE(classification_report_rare_disease_and_zero_division) {
    // Screening 1000 people: TP=100, FN=30, FP=70, TN=800.
    const std::vector<std::vector<double>> screen = {{800, 70}, {30, 100}};
    const auto t = classification_report(screen, {"healthy", "disease"});
    BOOST_TEST(cell(t, "disease", "precision") == 0.588, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(cell(t, "disease", "recall") == 0.769, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(cell(t, "disease", "f1") == 0.667, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(cell(t, "disease", "support") == 130.0);
    BOOST_TEST(confusion_accuracy(screen) == 0.9, boost::test_tools::tolerance(1e-12));
    const std::string text = classification_report_text(screen, {"healthy", "disease"}, 3);
    BOOST_TEST(contains(text, "     disease      0.588     0.769     0.667       130\n"));
    BOOST_TEST(contains(text, "    accuracy                          0.900      1000\n"));

    // A class never predicted and one never seen: their ratios are 0, not NaN, and the
    // macro average still counts them.
    const auto z = classification_report({{2, 0, 0}, {1, 0, 0}, {0, 0, 0}}, {"a", "b"});
    BOOST_TEST(cell(z, "a", "precision") == 2.0 / 3, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(z, "b", "precision") == 0.0);
    BOOST_TEST(cell(z, "b", "f1") == 0.0);
    BOOST_TEST(cell(z, "2", "recall") == 0.0);  // unnamed class: its id
    BOOST_TEST(cell(z, "macro avg", "f1") == 0.8 / 3, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cell(z, "weighted avg", "recall") == 2.0 / 3, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(classification_report({}, {}).row_labels.size() == 2u);
}

BOOST_AUTO_TEST_CASE(html_escapes_user_text_and_draws_the_curves) {
    ReportData d;
    d.title = "run <1> & co";
    d.experiment_text = "[model]\nlayer = dense units=10 ; </pre><script>alert(1)</script>\n";
    d.history = five_epochs();
    d.best_epoch = 4;
    d.best_key = "val_loss";
    d.main_metric = "accuracy";
    d.class_names = {"cat", "<b>&\"x\"", "dog"};
    d.confusion = kThree;
    d.test_metrics = {{"loss", 0.55}, {"accuracy", 0.7}};
    d.diagnosis_html_or_text = "Overfitting after epoch 4 <really>\n\n- lower the learning rate\n";
    d.stop_reason = "early stopping (val_loss)";
    const std::string html = render_report(d);

    BOOST_TEST(contains(html, "&lt;b&gt;&amp;&quot;x&quot;"));
    BOOST_TEST(!contains(html, "<b>&"));
    BOOST_TEST(!contains(html, "<script"));
    BOOST_TEST(contains(html, "&lt;/pre&gt;&lt;script&gt;alert(1)"));
    BOOST_TEST(contains(html, "run &lt;1&gt; &amp; co"));
    BOOST_TEST(contains(html, "<li>Overfitting after epoch 4 &lt;really&gt;</li>"));
    BOOST_TEST(contains(html, "<li>lower the learning rate</li>"));
    BOOST_TEST(contains(html, "Stopped: early stopping (val_loss)"));
    BOOST_TEST(contains(html, "Best epoch: 4 (val_loss = 0.55)"));

    // Loss and accuracy: train is one line of 5 points, validation two lines of 2 (the NaN
    // at epoch 3 leaves a gap); the learning rate is one line of 5. A dot on every point.
    BOOST_TEST(count(html, "<polyline") == 7u);
    std::size_t points = 0;
    for (std::size_t at = html.find(" points=\""); at != std::string::npos;
         at = html.find(" points=\"", at + 1)) {
        const std::size_t end = html.find('"', at + 9);
        points += count(html.substr(at + 9, end - at - 9), ",");
    }
    BOOST_TEST(points == 23u);
    BOOST_TEST(count(html, "class=\"dot\"") == 23u);
    BOOST_TEST(count(html, ">best epoch 4<") == 3u);        // the marker's label on each chart
    BOOST_TEST(count(html, "<line class=\"best\"") == 6u);  // marker + legend, three charts
    BOOST_TEST(!contains(html, "(log scale)"));             // constant learning rate
    BOOST_TEST(!contains(html, "nan"));
    BOOST_TEST(contains(html, "true class"));
    BOOST_TEST(contains(html, "predicted class"));
    BOOST_TEST(contains(html, "row-normalised"));
    BOOST_TEST(count(html, "<rect class=\"cell\"") == 9u);
    for (const char* row : {"macro avg", "weighted avg", "accuracy"})
        BOOST_TEST(contains(html, std::string("<td>") + row + "</td>"));

    // Self-contained: nothing fetched, nothing run.
    for (const char* ref : {"http", "src=", "href=", "@import", "<link", "<img"})
        BOOST_TEST(!contains(html, ref), "the report references '" << ref << "'");
    BOOST_TEST(count(html, "url(") == count(html, "url(#"));
}

BOOST_AUTO_TEST_CASE(html_edge_cases) {
    ReportData one;
    one.history.columns = {"epoch", "loss", "val_loss", "lr"};
    one.history.rows = {{1, 0.7, 0.7, 0.01}};  // one epoch, constant everything
    one.best_epoch = 1;
    const std::string html = render_report(one);
    BOOST_TEST(count(html, "<polyline") == 0u);
    BOOST_TEST(count(html, "class=\"dot\"") == 3u);
    BOOST_TEST(count(html, ">best epoch 1<") == 2u);
    BOOST_TEST(!contains(html, "nan"));
    BOOST_TEST(!contains(html, "inf"));

    ReportData decay;
    decay.history.columns = {"epoch", "loss", "lr"};
    decay.history.rows = {{1, 1.0, 0.1}, {2, 0.5, 0.01}, {3, 0.3, 0.001}};
    decay.class_names = {"zero", "one"};
    decay.per_class.column_labels = {"precision", "recall", "f1", "support"};
    decay.per_class.row_labels = {"0", "1"};
    decay.per_class.values = {1, 0.5, 0.667, 2, 0.5, 1, 0.667, 1};
    const std::string h2 = render_report(decay);
    BOOST_TEST(contains(h2, "learning rate (log scale)"));
    BOOST_TEST(contains(h2, "<td>zero</td><td>1.000</td><td>0.500</td>"));
    BOOST_TEST(!contains(h2, "id=\"confusion\""));

    ReportData many;  // too many classes to draw: a note, no megabytes of cells
    many.confusion.assign(150, std::vector<double>(150, 1.0));
    const std::string h3 = render_report(many);
    BOOST_TEST(contains(h3, "150 classes are too many to draw"));
    BOOST_TEST(count(h3, "<rect class=\"cell\"") == 0u);
    BOOST_TEST(contains(h3, "<td>149</td>"));

    const std::string empty = render_report(ReportData{});
    BOOST_TEST(contains(empty, "</html>"));
    BOOST_TEST(!contains(empty, "<svg"));

    TempDir dir("report-write");
    write_report(dir.path / "report.html", decay);
    BOOST_TEST(read_text(dir.path / "report.html") == h2);
    BOOST_CHECK_THROW(write_report(dir.path / "missing" / "report.html", decay), plexus::Error);
}

// ---- a real browser -------------------------------------------------------------------------

namespace {

ReportData synthetic_run() {
    ReportData d;
    d.title = "fashion_mlp-20250101-120000";
    d.history.columns = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"};
    for (int e = 1; e <= 12; ++e) {
        const double t = e;
        d.history.rows.push_back({t, 1.6 / std::sqrt(t), 0.6 + 0.03 * t, 0.5 + 0.8 / t + 0.02 * t,
                                  0.62 + 0.025 * t - 0.0015 * t * t,
                                  e <= 4   ? 0.1
                                  : e <= 8 ? 0.01
                                           : 0.001});
    }
    d.best_epoch = 6;
    d.best_key = "val_loss";
    d.main_metric = "accuracy";
    d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot & <more>"};
    for (std::size_t i = 0; i < 10; ++i) {
        d.confusion.emplace_back(10, 0.0);
        for (std::size_t j = 0; j < 10; ++j)
            d.confusion[i][j] = i == j ? 700.0 + 25 * i : static_cast<double>((i * 7 + j * 3) % 40);
    }
    d.test_metrics = {{"loss", 0.412}, {"accuracy", 0.861}};
    d.diagnosis_html_or_text =
        "Validation loss rises after epoch 6: overfitting.\nShirt is "
        "confused with T-shirt/top most often.";
    d.stop_reason = "early stopping: val_loss did not improve for 5 epochs";
    d.experiment_text = "[train]\noptimizer = sgd lr=0.1\nepochs = 12\n";
    return d;
}

}  // namespace

BOOST_AUTO_TEST_CASE(chromium_detects_console_errors) {
    TempDir dir("report-bad-page");
    const fs::path page = dir.path / "bad.html";
    std::ofstream(page) << "<!DOCTYPE html><html><body><p>broken</p>"
                           "<script>undefined_function()</script></body></html>\n";
    const Browser b =
        run_chromium(dir.path, page, "--screenshot=" + (dir.path / "bad.png").string());
    BOOST_TEST(b.exit_code == 0, b.log);
    BOOST_REQUIRE_MESSAGE(!b.console.empty(), "a script error was not detected:\n" << b.log);
    BOOST_TEST(contains(b.console.front(), "undefined_function"));
}

BOOST_AUTO_TEST_CASE(chromium_renders_the_report) {
    TempDir dir("report-browser");
    const fs::path page = dir.path / "report.html", shot = dir.path / "shot.png";
    write_report(page, synthetic_run());
    const Browser b = run_chromium(dir.path, page, "--screenshot=" + shot.string());
    BOOST_TEST(b.exit_code == 0, b.log);
    BOOST_TEST(b.console.empty(), "the report logged to the console:\n" << b.log);
    BOOST_REQUIRE_MESSAGE(fs::exists(shot), "no screenshot was written:\n" << b.log);

    const std::string png = read_text(shot);
    BOOST_REQUIRE(png.size() > 24 && png.compare(1, 3, "PNG") == 0);
    const auto be32 = [&](std::size_t at) {
        return (static_cast<unsigned char>(png[at]) << 24) |
               (static_cast<unsigned char>(png[at + 1]) << 16) |
               (static_cast<unsigned char>(png[at + 2]) << 8) |
               static_cast<unsigned char>(png[at + 3]);
    };
    BOOST_TEST(be32(16) == 1280u);  // IHDR width and height
    BOOST_TEST(be32(20) == 2400u);

    const Image img = decode_png(png);
    BOOST_TEST(img.width == 1280);
    BOOST_TEST(img.height == 2400);
    std::size_t inked = 0, orange = 0, blue = 0, heat = 0;
    std::set<int> colours;
    for (std::size_t p = 0; p + 2 < img.rgb.size(); p += 3) {
        const int r = img.rgb[p], g = img.rgb[p + 1], bl = img.rgb[p + 2];
        if (r < 235 || g < 235 || bl < 235) ++inked;
        colours.insert((r >> 4) << 8 | (g >> 4) << 4 | (bl >> 4));
        const auto near = [&](int R, int G, int B) {
            return std::abs(r - R) + std::abs(g - G) + std::abs(bl - B) < 40;
        };
        orange += near(255, 127, 14);  // validation curves
        blue += near(31, 119, 180);    // training curves
        heat += bl - r > 100;          // strong blues: mostly the confusion matrix's diagonal
    }
    const double inked_share = static_cast<double>(inked) / (img.rgb.size() / 3);
    BOOST_TEST_MESSAGE("non-white share " << inked_share << ", distinct colours " << colours.size()
                                          << ", orange " << orange << ", blue " << blue
                                          << ", strong blue " << heat);
    BOOST_TEST(inked_share > 0.02);  // a blank page has none
    BOOST_TEST(colours.size() > 30u);
    BOOST_TEST(orange > 200u);
    BOOST_TEST(blue > 200u);
    BOOST_TEST(heat > 15000u);  // ten 52-pixel diagonal cells
}

BOOST_AUTO_TEST_CASE(report_is_well_formed_xml) {
    // Served as XHTML, the same markup goes through Chromium's XML parser, which reports any
    // unbalanced tag or stray '&' as a <parsererror> in the DOM. The negative control proves
    // the check can fail.
    TempDir dir("report-xml");
    ReportData d = synthetic_run();
    d.first_conv_kernel =
        HostTensor{"layer0.kernel", Shape{2, 1, 3, 3}, std::vector<float>(18, 0.5f)};
    const auto [good, bad] = plexus::test::parse_as_xhtml(dir.path, render_report(d));
    BOOST_TEST(contains(good.log, "Confusion matrix"), good.log);
    BOOST_TEST(contains(good.log, "Filters of the first convolution"), good.log);
    BOOST_TEST(!contains(good.log, "parsererror"), good.log);
    BOOST_TEST(contains(bad.log, "parsererror"), bad.log);
}

namespace {

HostTensor kernel(const std::string& name, Shape shape, std::vector<float> values) {
    return HostTensor{name, shape, std::move(values)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(chromium_draws_the_first_convolution_filters) {
    TempDir dir("report-filters");
    ReportData d = synthetic_run();
    d.history = {};  // no curves: the filters come near the top of the page
    d.confusion.clear();
    // Three 3x3 RGB filters, each black but for one pure red pixel: 16x16 screen pixels each.
    std::vector<float> w(3 * 3 * 9, 0.0f);
    for (std::size_t f = 0; f < 3; ++f) w[f * 27 + f] = 1.0f;
    d.first_conv_kernel = kernel("layer0.kernel", Shape{3, 3, 3, 3}, w);
    const fs::path page = dir.path / "report.html", shot = dir.path / "shot.png";
    write_report(page, d);
    const Browser b = run_chromium(dir.path, page, "--screenshot=" + shot.string());
    BOOST_TEST(b.console.empty(), "the report logged to the console:\n" << b.log);
    BOOST_REQUIRE_MESSAGE(fs::exists(shot), "no screenshot was written:\n" << b.log);
    const Image img = decode_png(read_text(shot));
    std::size_t red = 0, black = 0;
    for (std::size_t p = 0; p + 2 < img.rgb.size(); p += 3) {
        const int r = img.rgb[p], g = img.rgb[p + 1], bl = img.rgb[p + 2];
        red += r > 230 && g < 25 && bl < 25;
        black += r < 25 && g < 25 && bl < 25;
    }
    BOOST_TEST_MESSAGE("red pixels " << red << ", black " << black);
    BOOST_TEST(red == 3u * 256u);         // nearest-neighbour: three sharp 16x16 squares
    BOOST_TEST(black >= 3u * 8u * 256u);  // the other 8 pixels of each filter
    const Browser dom = run_chromium(dir.path, page, "--dump-dom");
    BOOST_TEST(count(dom.log, "<svg class=\"filter\"") == 3u, dom.log);
}
