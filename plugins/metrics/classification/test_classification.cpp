#define BOOST_TEST_MODULE classification
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "rates.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
namespace tt = boost::test_tools;

namespace {

struct Row {
    std::size_t truth, predicted;
};

// Rows realising a k×k confusion matrix given row-major (rows true, columns predicted), in a
// fixed shuffled order so every batch mixes the cells.
std::vector<Row> rows_of(std::size_t k, const std::vector<int>& matrix) {
    std::vector<Row> rows;
    for (std::size_t t = 0; t < k; ++t)
        for (std::size_t p = 0; p < k; ++p)
            for (int i = 0; i < matrix[t * k + p]; ++i) rows.push_back({t, p});
    std::shuffle(rows.begin(), rows.end(), std::mt19937(42));
    return rows;
}

// The screening example of the issue: TN 800, FP 70, FN 30, TP 100 (class 1 = disease).
std::vector<Row> screen() {
    return rows_of(2, {800, 70, 30, 100});
}

// Builds `spec` for batches of up to max(batches) rows of `cols` scores and feeds `rows` in
// batches of the given sizes. cols == 1: logits ±2 and 0/1 targets; else a score of 1 for the
// predicted class over small rising scores elsewhere, and one-hot targets.
std::shared_ptr<plexus::Metric> evaluate(plexus::Device& device, const std::string& spec,
                                         std::size_t cols, const std::vector<Row>& rows,
                                         const std::vector<std::size_t>& batches) {
    auto metric = load<plexus::Metric>(spec);
    metric->build({*std::max_element(batches.begin(), batches.end()), cols}, device);
    metric->reset();
    std::size_t begin = 0;
    for (const std::size_t n : batches) {
        std::vector<float> pred(n * cols), target(n * cols, 0.0f);
        for (std::size_t r = 0; r < n; ++r) {
            const Row& row = rows.at(begin + r);
            if (cols == 1) {
                pred[r] = row.predicted ? 2.0f : -2.0f;
                target[r] = static_cast<float>(row.truth);
                continue;
            }
            for (std::size_t c = 0; c < cols; ++c)
                pred[r * cols + c] = 0.05f * static_cast<float>(c);
            pred[r * cols + row.predicted] = 1.0f;
            target[r * cols + row.truth] = 1.0f;
        }
        metric->update(make_tensor(device, {n, cols}, pred),
                       make_tensor(device, {n, cols}, target));
        begin += n;
    }
    BOOST_REQUIRE_EQUAL(begin, rows.size());
    return metric;
}

double value(const plexus::Metric& metric, const std::string& name) {
    for (const auto& [key, v] : metric.result())
        if (key == name) return v;
    BOOST_FAIL("no result named " + name);
    return 0.0;
}

// The issue quotes three decimals.
bool near3(double actual, double quoted) {
    return std::fabs(actual - quoted) < 5e-4;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rare_disease_screen_over_uneven_batches) {
    auto device = load<plexus::Device>("cpu");
    const auto rows = screen();
    const std::vector<std::size_t> batches = {333, 333, 334};
    // Two classes: average=auto is binary with positive class 1.
    const double precision = value(*evaluate(*device, "precision", 2, rows, batches), "precision");
    const double recall = value(*evaluate(*device, "recall", 2, rows, batches), "recall");
    const double f1 = value(*evaluate(*device, "f1", 2, rows, batches), "f1");
    const double specificity =
        value(*evaluate(*device, "specificity", 2, rows, batches), "specificity");
    const double accuracy = value(*evaluate(*device, "accuracy", 2, rows, batches), "accuracy");
    BOOST_TEST(precision == 100.0 / 170.0, tt::tolerance(1e-12));    // TP / (TP + FP)
    BOOST_TEST(recall == 100.0 / 130.0, tt::tolerance(1e-12));       // TP / (TP + FN)
    BOOST_TEST(f1 == 200.0 / 300.0, tt::tolerance(1e-12));           // 2TP / (2TP + FN + FP)
    BOOST_TEST(specificity == 800.0 / 870.0, tt::tolerance(1e-12));  // TN / (TN + FP)
    BOOST_TEST(accuracy == 0.9, tt::tolerance(1e-12));               // 900 / 1000
    BOOST_TEST(near3(precision, 0.588));
    BOOST_TEST(near3(recall, 0.769));
    BOOST_TEST(near3(f1, 0.667));
    BOOST_TEST(near3(accuracy, 0.900));
    // Sensitivity is recall under its own name.
    BOOST_TEST(value(*evaluate(*device, "sensitivity", 2, rows, batches), "sensitivity") == recall);
}

BOOST_AUTO_TEST_CASE(one_logit_column_is_binary) {
    auto device = load<plexus::Device>("cpu");
    const auto rows = screen();
    BOOST_TEST(
        value(*evaluate(*device, "precision", 1, rows, {500, 500}), "precision") == 100.0 / 170.0,
        tt::tolerance(1e-12));
    BOOST_TEST(value(*evaluate(*device, "recall", 1, rows, {1000}), "recall") == 100.0 / 130.0,
               tt::tolerance(1e-12));
    // A logit of exactly 0 is sigmoid 0.5: not positive, as in accuracy.
    auto metric = load<plexus::Metric>("confusion_matrix");
    metric->build({2, 1}, *device);
    metric->reset();
    metric->update(make_tensor(*device, {2, 1}, {0.0f, 0.5f}),
                   make_tensor(*device, {2, 1}, {1, 1}));
    BOOST_TEST(metric->tables().at(0).values == (std::vector<double>{0, 0, 1, 1}),
               tt::per_element());
}

BOOST_AUTO_TEST_CASE(fbeta_weighs_recall_beta_times) {
    auto device = load<plexus::Device>("cpu");
    const auto rows = screen();
    // F_beta = (1+β²)TP / ((1+β²)TP + β²FN + FP):
    //   β = 2:   5·100 / (500 + 4·30 + 70)          = 500 / 690
    //   β = 0.5: 1.25·100 / (125 + 0.25·30 + 70)    = 125 / 202.5
    BOOST_TEST(
        value(*evaluate(*device, "fbeta beta=2", 2, rows, {400, 600}), "fbeta") == 500.0 / 690.0,
        tt::tolerance(1e-12));
    BOOST_TEST(
        value(*evaluate(*device, "fbeta beta=0.5", 2, rows, {400, 600}), "fbeta") == 125.0 / 202.5,
        tt::tolerance(1e-12));
    BOOST_TEST(value(*evaluate(*device, "fbeta", 2, rows, {1000}), "fbeta") == 200.0 / 300.0,
               tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(f1_of_quoted_precision_recall_pairs) {
    // The harmonic mean 2PR / (P + R) of the pairs, to its three decimals.
    BOOST_TEST(near3(plexus::metrics::f_beta_from(0.95, 0.90, 1.0), 0.924));
    BOOST_TEST(near3(plexus::metrics::f_beta_from(0.98, 0.85, 1.0), 0.910));
    BOOST_TEST(plexus::metrics::f_beta_from(0.0, 0.0, 1.0) == 0.0);
    // The same through the metric from counts: TP 171, FP 9, FN 19 gives P = 171/180 = 0.95,
    // R = 171/190 = 0.90, F1 = 342/370; TP 833, FP 17, FN 147 gives P = 833/850 = 0.98,
    // R = 833/980 = 0.85, F1 = 1666/1830.
    auto device = load<plexus::Device>("cpu");
    auto a = evaluate(*device, "f1", 2, rows_of(2, {801, 9, 19, 171}), {500, 500});
    auto b = evaluate(*device, "f1", 2, rows_of(2, {3, 17, 147, 833}), {500, 500});
    BOOST_TEST(value(*a, "f1") == 342.0 / 370.0, tt::tolerance(1e-12));
    BOOST_TEST(value(*b, "f1") == 1666.0 / 1830.0, tt::tolerance(1e-12));
    BOOST_TEST(near3(value(*a, "f1"), 0.924));
    BOOST_TEST(near3(value(*b, "f1"), 0.910));
}

// Three classes, rows true and columns predicted (21 rows):
//
//            p0  p1  p2   support
//      t0  [  5,  2,  1 ]    8
//      t1  [  1,  3,  0 ]    4
//      t2  [  2,  1,  6 ]    9
//
// class 0: TP 5, FP 1+2 = 3, FN 2+1 = 3, TN 21-11 = 10: P 5/8, R 5/8, F1 10/16, spec 10/13
// class 1: TP 3, FP 2+1 = 3, FN 1+0 = 1, TN 21-7 = 14:  P 3/6, R 3/4, F1 6/10,  spec 14/17
// class 2: TP 6, FP 1+0 = 1, FN 2+1 = 3, TN 21-10 = 11: P 6/7, R 6/9, F1 12/16, spec 11/12
// micro:   P = R = F1 = 14/21; spec = (10+14+11) / (35 + 3+3+1) = 35/42
const std::vector<int> kThreeClasses = {5, 2, 1, 1, 3, 0, 2, 1, 6};

BOOST_AUTO_TEST_CASE(three_classes_every_average) {
    auto device = load<plexus::Device>("cpu");
    const auto rows = rows_of(3, kThreeClasses);
    const auto run = [&](const std::string& spec, const std::string& name) {
        return value(*evaluate(*device, spec, 3, rows, {8, 8, 5}), name);
    };
    const auto tol = tt::tolerance(1e-12);
    // macro: the plain mean over classes.
    BOOST_TEST(run("precision", "precision") == (5.0 / 8 + 3.0 / 6 + 6.0 / 7) / 3, tol);  // auto
    BOOST_TEST(run("precision average=macro", "precision") == 37.0 / 56, tol);
    BOOST_TEST(run("recall average=macro", "recall") == 49.0 / 72, tol);
    BOOST_TEST(run("f1 average=macro", "f1") == 79.0 / 120, tol);
    BOOST_TEST(
        run("specificity average=macro", "specificity") == (10.0 / 13 + 14.0 / 17 + 11.0 / 12) / 3,
        tol);
    // micro: pooled counts; for single-label rows P = R = F1 = accuracy.
    BOOST_TEST(run("precision average=micro", "precision") == 14.0 / 21, tol);
    BOOST_TEST(run("recall average=micro", "recall") == 14.0 / 21, tol);
    BOOST_TEST(run("f1 average=micro", "f1") == 14.0 / 21, tol);
    BOOST_TEST(run("specificity average=micro", "specificity") == 35.0 / 42, tol);
    // weighted by support 8, 4, 9:
    //   P  = (8·5/8 + 4·3/6 + 9·6/7) / 21 = (5 + 2 + 54/7) / 21 = 103/147
    //   R  = (5 + 3 + 6) / 21 = 14/21
    //   F1 = (8·5/8 + 4·6/10 + 9·12/16) / 21 = (5 + 2.4 + 6.75) / 21 = 14.15/21
    BOOST_TEST(run("precision average=weighted", "precision") == 103.0 / 147, tol);
    BOOST_TEST(run("recall average=weighted", "recall") == 14.0 / 21, tol);
    BOOST_TEST(run("f1 average=weighted", "f1") == 14.15 / 21, tol);
    // none: one value per class, named by class.
    auto none = evaluate(*device, "precision average=none", 3, rows, {21});
    const auto values = none->result();
    BOOST_REQUIRE_EQUAL(values.size(), 3u);
    BOOST_TEST(values[0].first == "precision_0");
    BOOST_TEST(values[2].first == "precision_2");
    BOOST_TEST(values[0].second == 5.0 / 8, tol);
    BOOST_TEST(values[1].second == 3.0 / 6, tol);
    BOOST_TEST(values[2].second == 6.0 / 7, tol);
    // binary on three classes: class `positive` against the rest.
    BOOST_TEST(run("precision average=binary positive=2", "precision") == 6.0 / 7, tol);
    BOOST_TEST(run("recall average=binary positive=0", "recall") == 5.0 / 8, tol);
}

BOOST_AUTO_TEST_CASE(confusion_matrix_rows_are_true_classes) {
    auto device = load<plexus::Device>("cpu");
    auto metric = evaluate(*device, "confusion_matrix", 3, rows_of(3, kThreeClasses), {10, 11});
    BOOST_TEST(metric->result().empty());
    const auto tables = metric->tables();
    BOOST_REQUIRE_EQUAL(tables.size(), 1u);
    const plexus::MetricTable& cm = tables[0];
    BOOST_TEST(cm.name == "confusion_matrix");
    BOOST_TEST(cm.row_title == "true class");
    BOOST_TEST(cm.column_title == "predicted class");
    BOOST_TEST(cm.row_labels == (std::vector<std::string>{"0", "1", "2"}), tt::per_element());
    BOOST_TEST(cm.column_labels == cm.row_labels, tt::per_element());
    // Asymmetric (true 0 predicted 1: 2 rows; true 1 predicted 0: 1 row), so a transposed
    // table fails.
    BOOST_TEST(cm.values == (std::vector<double>{5, 2, 1, 1, 3, 0, 2, 1, 6}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(per_class_table_has_the_rate_and_support) {
    auto device = load<plexus::Device>("cpu");
    auto metric = evaluate(*device, "f1 average=micro", 3, rows_of(3, kThreeClasses), {21});
    const auto tables = metric->tables();
    BOOST_REQUIRE_EQUAL(tables.size(), 1u);
    const plexus::MetricTable& t = tables[0];
    BOOST_TEST(t.name == "per_class");
    BOOST_TEST(t.row_title == "class");
    BOOST_TEST(t.row_labels == (std::vector<std::string>{"0", "1", "2"}), tt::per_element());
    BOOST_TEST(t.column_labels == (std::vector<std::string>{"f1", "support"}), tt::per_element());
    const std::vector<double> expected = {10.0 / 16, 8, 6.0 / 10, 4, 12.0 / 16, 9};
    BOOST_REQUIRE_EQUAL(t.values.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        BOOST_TEST(t.values[i] == expected[i], tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(streams_counts_not_batch_averages) {
    auto device = load<plexus::Device>("cpu");
    // Batch 1: one true positive (precision 1). Batch 2: one TP and 8 FP (precision 1/9).
    // Over the set: 2 / 10 = 0.2; the mean of the batch precisions would be 5/9.
    std::vector<Row> rows = {{1, 1}, {1, 1}};
    rows.insert(rows.end(), 8, Row{0, 1});
    auto streamed = evaluate(*device, "precision", 2, rows, {1, 9});
    BOOST_TEST(value(*streamed, "precision") == 0.2, tt::tolerance(1e-12));
    // The same rows in one batch give the same counts.
    auto whole = evaluate(*device, "confusion_matrix", 2, rows, {10});
    auto parts = evaluate(*device, "confusion_matrix", 2, rows, {1, 4, 5});
    BOOST_TEST(whole->tables()[0].values == parts->tables()[0].values, tt::per_element());

    // reset() forgets the first set: nothing seen gives zero_division, then one TP gives 1.
    streamed->reset();
    BOOST_TEST(value(*streamed, "precision") == 0.0);
    streamed->update(make_tensor(*device, {1, 2}, {0.2f, 0.8f}),
                     make_tensor(*device, {1, 2}, {0, 1}));
    BOOST_TEST(value(*streamed, "precision") == 1.0);
}

BOOST_AUTO_TEST_CASE(zero_division_for_classes_never_predicted) {
    auto device = load<plexus::Device>("cpu");
    // Four columns; class 2 is true once but never predicted, class 3 never occurs:
    //   (t0,p0)×2, (t1,p1)×1, (t2,p0)×1
    // precision: class 0 = 2/3, class 1 = 1/1, class 2 = 0/0, class 3 = 0/0 (absent).
    // macro leaves class 3 out (as scikit-learn's default labels do): (2/3 + 1 + zd) / 3.
    const std::vector<Row> rows = {{0, 0}, {0, 0}, {1, 1}, {2, 0}};
    const auto zero = evaluate(*device, "precision average=none", 4, rows, {4});
    const auto one = evaluate(*device, "precision average=none zero_division=1", 4, rows, {4});
    BOOST_TEST(value(*zero, "precision_2") == 0.0);
    BOOST_TEST(value(*one, "precision_2") == 1.0);
    BOOST_TEST(value(*one, "precision_3") == 1.0);
    BOOST_TEST(
        value(*evaluate(*device, "precision average=macro", 4, rows, {4}), "precision") == 5.0 / 9,
        tt::tolerance(1e-12));
    BOOST_TEST(value(*evaluate(*device, "precision average=macro zero_division=1", 4, rows, {4}),
                     "precision") == 8.0 / 9,
               tt::tolerance(1e-12));
    // F1 of class 2 is defined (TP 0, FN 1: 0 / (0 + 1 + 0)) whatever zero_division says.
    BOOST_TEST(value(*evaluate(*device, "f1 average=none zero_division=1", 4, rows, {4}), "f1_2") ==
               0.0);
}

// Updates keep the k x k counts on the device; reading the result brings them over once.
BOOST_AUTO_TEST_CASE(updates_allocate_and_download_nothing_and_the_result_the_counts_once) {
    auto device = load<plexus::Device>("cpu");
    auto metric = load<plexus::Metric>("f1 average=macro");
    metric->build({4, 3}, *device);
    metric->reset();
    const auto pred = make_tensor(*device, {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
    device->reset_counters();
    metric->update(pred, pred);
    metric->update(pred, pred);
    BOOST_TEST(device->counters().allocations == 0u);
    BOOST_TEST(device->counters().d2h_bytes == 0u);
    BOOST_TEST(value(*metric, "f1") == 1.0);
    BOOST_TEST(device->counters().d2h_bytes == 3 * 3 * sizeof(float));
    BOOST_TEST(value(*metric, "f1") == 1.0);
    BOOST_TEST(device->counters().d2h_bytes == 3 * 3 * sizeof(float));  // not fetched again
}

// Issue 18: average=binary on ten classes scored class 1 alone, silently.
BOOST_AUTO_TEST_CASE(binary_on_more_than_two_classes_needs_positive) {
    auto device = load<plexus::Device>("cpu");
    std::string message;
    try {
        load<plexus::Metric>("f1 average=binary")->build({4, 10}, *device);
    } catch (const plexus::ParamError& e) {
        message = e.what();
    }
    BOOST_TEST(message.rfind("f1 average=binary: the model has 10 classes", 0) == 0u, message);
    BOOST_TEST(message.find("positive=0..9") != std::string::npos, message);
    BOOST_TEST(message.find('\n') == std::string::npos);
    // Named, or on two classes (auto: class 1), it is accepted.
    BOOST_CHECK_NO_THROW(load<plexus::Metric>("f1 average=binary positive=3")->build({4, 10}, *device));
    BOOST_CHECK_NO_THROW(load<plexus::Metric>("recall average=binary")->build({4, 2}, *device));
    BOOST_CHECK_NO_THROW(load<plexus::Metric>("precision average=binary")->build({4, 1}, *device));
    BOOST_CHECK_NO_THROW(load<plexus::Metric>("f1")->build({4, 10}, *device));  // auto: macro
}

BOOST_AUTO_TEST_CASE(rejects_bad_params_and_shapes) {
    auto device = load<plexus::Device>("cpu");
    BOOST_CHECK_THROW(load<plexus::Metric>("f1 average=foo"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Metric>("fbeta beta=0"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Metric>("fbeta beta=-1"), plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Metric>("f1 beta=2"), plexus::ParamError);  // f1 has no beta
    BOOST_CHECK_THROW(load<plexus::Metric>("precision positive=-1")->build({4, 3}, *device),
                      plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Metric>("precision positive=x")->build({4, 3}, *device),
                      plexus::ParamError);
    BOOST_CHECK_THROW(load<plexus::Metric>("recall zero_division=2"), plexus::ParamError);
    BOOST_CHECK_THROW(
        load<plexus::Metric>("precision average=binary positive=3")->build({4, 3}, *device),
        plexus::ParamError);
    auto metric = load<plexus::Metric>("recall");
    const auto pred = device->alloc({3, 3});
    BOOST_CHECK_THROW(metric->update(pred, pred), plexus::ShapeError);  // before build()
    BOOST_CHECK_THROW(metric->build({4}, *device), plexus::ShapeError);
    metric->build({2, 3}, *device);
    BOOST_CHECK_THROW(metric->update(pred, pred), plexus::ShapeError);  // 3 rows > 2
}
