// The diagnosis of regression runs: it works from the loss curves alone, reports the errors in
// target units that the history holds (mae, rmse), and never asks for accuracy, which a
// regression run cannot have.
#define BOOST_TEST_MODULE diagnose_regression
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>

#include "plexus/core/reporting/diagnose.hpp"

using namespace plexus::core;

namespace {

// Columns as the trainer writes them for `metric = mae`: epoch, loss, mae, val_loss, val_mae.
History with_mae(const std::vector<std::array<double, 4>>& rows) {
    History h{{"epoch", "loss", "mae", "val_loss", "val_mae", "lr"}, {}};
    for (const auto& r : rows)
        h.rows.push_back({double(h.rows.size() + 1), r[0], r[1], r[2], r[3], 0.001});
    return h;
}

bool mentions_accuracy(const Diagnosis& d) {
    return d.to_text().find("accuracy") != std::string::npos ||
           d.to_json().dump().find("accuracy") != std::string::npos;
}

bool has_note(const Diagnosis& d, const std::string& text) {
    for (const auto& n : d.notes)
        if (n.find(text) != std::string::npos) return true;
    return false;
}

double figure(const Diagnosis& d, const std::string& name) {
    for (const auto& [n, v] : d.figures)
        if (n == name) return v;
    return std::numeric_limits<double>::quiet_NaN();
}

// Settled: val_loss at its minimum at epoch 7, 0.7 % above it at epoch 8 (no rule fires:
// rise < 10 %, ratio 1.2 < 3, no move of 3 % or more turns, the last epoch is not the best).
const std::vector<std::array<double, 4>> kSettled{
    {1.0, 0.9, 1.1, 0.95},        {0.5, 0.62, 0.55, 0.66},     {0.3, 0.48, 0.33, 0.5},
    {0.2, 0.39, 0.22, 0.41},      {0.15, 0.34, 0.17, 0.36},    {0.13, 0.32, 0.15, 0.34},
    {0.125, 0.315, 0.148, 0.331}, {0.124, 0.314, 0.149, 0.333}};

}  // namespace

BOOST_AUTO_TEST_CASE(a_settled_regression_is_a_good_fit_in_target_units) {
    const Diagnosis d = diagnose(with_mae(kSettled));
    BOOST_REQUIRE_EQUAL(d.findings.size(), 1u);
    BOOST_TEST(d.findings[0].kind == "good_fit");
    BOOST_TEST(d.findings[0].summary == "epoch 8: loss 0.124, val_loss 0.149, val_mae 0.333",
               d.findings[0].summary);
    BOOST_TEST(figure(d, "val_mae") == 0.333);
    BOOST_TEST(std::isnan(figure(d, "train_error")));
    BOOST_TEST(has_note(d, "a regression: underfitting (avoidable bias) is not judged"));
    BOOST_TEST(!mentions_accuracy(d), d.to_text());
    BOOST_TEST(d.best_epoch == 7u);
}

BOOST_AUTO_TEST_CASE(a_classification_without_accuracy_still_asks_for_it) {
    // The negative control: the same losses without a regression metric or flag are read as a
    // classification run that lacks its metric.
    History h = with_mae(kSettled);
    h.columns = {"epoch", "loss", "other", "val_loss", "val_other", "lr"};
    const Diagnosis d = diagnose(h);
    BOOST_TEST(mentions_accuracy(d));
    BOOST_TEST(!has_note(d, "a regression"));
    DiagnoseOptions o;
    o.regression = true;  // what metrics.json's "task": "regression" sets
    const Diagnosis r = diagnose(h, "", o);
    BOOST_TEST(!mentions_accuracy(r), r.to_text());
    BOOST_TEST(has_note(r, "a regression"));
    BOOST_TEST(std::isnan(figure(r, "val_mae")));  // no such column
}

BOOST_AUTO_TEST_CASE(overfitting_regression_from_the_losses) {
    // val_loss rises 40 % from its minimum (0.15 at epoch 4) while loss falls 60 %.
    const Diagnosis d = diagnose(with_mae({{1.0, 0.9, 1.0, 0.9},
                                           {0.5, 0.6, 0.4, 0.55},
                                           {0.3, 0.45, 0.2, 0.4},
                                           {0.2, 0.38, 0.15, 0.35},
                                           {0.14, 0.3, 0.16, 0.36},
                                           {0.1, 0.26, 0.18, 0.38},
                                           {0.08, 0.23, 0.21, 0.41}}));
    BOOST_REQUIRE(!d.findings.empty());
    BOOST_TEST(d.findings[0].kind == "overfitting", d.to_text());
    BOOST_TEST(d.findings[0].summary == "val_loss has risen 40.0 % since epoch 4",
               d.findings[0].summary);
    BOOST_TEST(figure(d, "val_mae") == 0.41);
    BOOST_TEST(!mentions_accuracy(d), d.to_text());
}

BOOST_AUTO_TEST_CASE(diverged_regression_suggests_scaling_the_targets) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Diagnosis d = diagnose(with_mae({{5.0, 2.0, 6.0, 2.1}, {nan, nan, nan, nan}}));
    BOOST_REQUIRE(!d.findings.empty());
    BOOST_TEST(d.findings[0].kind == "diverged");
    bool scale_targets = false;
    for (const auto& step : d.findings[0].next_steps)
        scale_targets = scale_targets || step.find("target_transform = standardize") == 0 ||
                        step.find("scale the targets too: target_transform = standardize") == 0;
    BOOST_TEST(scale_targets, d.to_text());
    BOOST_TEST(!mentions_accuracy(d), d.to_text());
    // Without a history the flag alone says it is a regression.
    DiagnoseOptions o;
    o.regression = true;
    const Diagnosis first = diagnose(History{}, "loss became NaN at epoch 1", o);
    BOOST_REQUIRE(!first.findings.empty());
    BOOST_TEST(first.to_text().find("target_transform") != std::string::npos, first.to_text());
}
