// The diagnosis on real histories that the rules once misread (issue 18), stored with the
// commands that made them in tests/histories/: a network collapsed to chance after sgd lr=3,
// and a run whose plateau schedule had already cut the rate to 1e-9.
#define BOOST_TEST_MODULE diagnose_histories
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>

#include "cli.hpp"
#include "plexus/core/reporting/diagnose.hpp"

using namespace plexus::core;

namespace {

History fixture(const std::string& name) {
    const std::string path = std::string(PLEXUS_TEST_SOURCE_DIR) + "/tests/histories/" + name;
    const std::string text = plexus::test::read_text(path);
    BOOST_REQUIRE_MESSAGE(!text.empty(), "cannot read " << path);
    return parse_history_csv(text, path);
}

bool says(const std::vector<std::string>& lines, const std::string& text) {
    for (const auto& line : lines)
        if (line.find(text) != std::string::npos) return true;
    return false;
}

bool any_step_says(const Diagnosis& d, const std::string& text) {
    for (const auto& f : d.findings)
        if (says(f.next_steps, text)) return true;
    return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_collapse_to_chance_is_a_learning_rate_problem) {
    const History h = fixture("collapse_sgd_lr3.csv");
    DiagnoseOptions with_classes;
    with_classes.classes = 10;
    // With the class count (a run) and without it (read off the curves: loss ~ ln 10).
    for (const DiagnoseOptions& o : {with_classes, DiagnoseOptions{}}) {
        const Diagnosis d = diagnose(h, "", o);
        BOOST_REQUIRE(!d.findings.empty());
        const Finding& f = d.findings.front();
        BOOST_TEST(f.kind == "collapsed", d.to_text());
        BOOST_TEST(f.summary.find("ln(10)") != std::string::npos, f.summary);
        // ln(10) = 2.302585; the last epoch's loss 2.31233, accuracy 0.0931111.
        BOOST_TEST(says(f.evidence, "loss 2.312, chance level ln(10) = 2.303"), d.to_text());
        BOOST_TEST(says(f.evidence, "accuracy 9.3 %, 1/10 = 10.0 %"), d.to_text());
        BOOST_TEST(says(f.next_steps, "lower the learning rate (lr 3 -> 0.03 to 0.3)"),
                   d.to_text());
        BOOST_TEST(says(f.next_steps, "init=he_normal"), d.to_text());
        BOOST_TEST(d.headline.rfind("collapsed to chance (learning rate too high or bad "
                                    "initialisation)",
                                    0) == 0u,
                   d.headline);
        // What the rules said before: underfitting, raise the learning rate.
        for (const auto& other : d.findings) BOOST_TEST(other.kind != "underfitting");
        BOOST_TEST(!any_step_says(d, "raise the learning rate"), d.to_text());
    }
}

BOOST_AUTO_TEST_CASE(a_rate_already_cut_by_a_schedule_is_not_prescribed_one) {
    const History h = fixture("plateau_cut_to_1e-9.csv");
    const Diagnosis d = diagnose(h);
    BOOST_REQUIRE(!d.findings.empty());
    const Finding& f = d.findings.front();
    BOOST_TEST(f.kind == "lr_too_high", d.to_text());
    BOOST_TEST(says(f.evidence, "lr 0.01 at the start, cut by a schedule from epoch 9 on, to "
                                "1e-09 at the last epoch"),
               d.to_text());
    BOOST_TEST(says(f.next_steps, "already cut the rate (to 1e-09)"), d.to_text());
    BOOST_TEST(says(f.next_steps, "lower the starting rate instead (lr 0.01 -> 0.001 to "
                                  "0.003333)"),
               d.to_text());
    // What the rules said before: a rate below 1e-9, and the schedule the run already had.
    BOOST_TEST(!any_step_says(d, "or decay it"), d.to_text());
    BOOST_TEST(!any_step_says(d, "lr 1e-09 ->"), d.to_text());
}

BOOST_AUTO_TEST_CASE(a_run_at_a_sane_rate_is_not_a_collapse) {
    // A few epochs near but above chance are not a collapse: 3 classes, loss 0.9 < 0.95 ln 3.
    History h{{"epoch", "loss", "accuracy", "lr"}, {}};
    for (int e = 1; e <= 5; ++e) h.rows.push_back({double(e), 1.2 - 0.06 * e, 0.40, 0.01});
    DiagnoseOptions o;
    o.classes = 3;
    for (const auto& f : diagnose(h, "", o).findings) BOOST_TEST(f.kind != "collapsed");
    // At the chance level ln 3 = 1.0986 with accuracy 0.34 it is one.
    h.rows.back() = {5, 1.10, 0.34, 0.01};
    BOOST_TEST(diagnose(h, "", o).findings.front().kind == "collapsed");
    // The chance accuracy must hold too: 0.6 on three classes is learning, whatever the loss.
    h.rows.back() = {5, 1.10, 0.6, 0.01};
    for (const auto& f : diagnose(h, "", o).findings) BOOST_TEST(f.kind != "collapsed");
}
