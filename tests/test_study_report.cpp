// study.html and parameter importance: η² against hand-computed examples and a synthetic study
// whose objective depends on one parameter only; the page's sections, escaping, edge cases
// (no trials, all failed, one trial, hostile numbers) and a real browser rendering it cleanly.
#define BOOST_TEST_MODULE study_report
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include "chromium.hpp"
#include "cli.hpp"
#include "plexus/core/study/study_report.hpp"
#include "plexus/error.hpp"

namespace fs = std::filesystem;
using plexus::SpaceKind;
using plexus::SpaceParam;
using plexus::TrialState;
using plexus::test::decode_png;
using plexus::test::Image;
using plexus::test::read_text;
using plexus::test::run_chromium;
using plexus::test::TempDir;
using namespace plexus::core;

namespace {

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

SpaceParam uniform(const std::string& name, double lo, double hi) {
    return {name, SpaceKind::uniform, lo, hi, 0.0, false, {}};
}

SpaceParam log_uniform(const std::string& name, double lo, double hi) {
    return {name, SpaceKind::log_uniform, lo, hi, 0.0, false, {}};
}

SpaceParam choice(const std::string& name, std::vector<std::string> choices) {
    const double high = static_cast<double>(choices.size()) - 1;
    return {name, SpaceKind::choice, 0.0, high, 0.0, false, std::move(choices)};
}

StudySpec spec_of(plexus::SearchSpace space, bool maximize = false) {
    StudySpec s;
    s.name = "mlp_study";
    s.objective = "val_loss";
    s.maximize = maximize;
    s.sampler = "tpe";
    s.pruner = "median";
    s.space = std::move(space);
    return s;
}

TrialRecord trial(std::uint64_t number, TrialState state, std::vector<double> params,
                  std::optional<double> value = std::nullopt) {
    TrialRecord t;
    t.id = static_cast<std::int64_t>(number) + 1;
    t.number = number;
    t.state = state;
    t.params = std::move(params);
    t.value = value;
    return t;
}

TrialRecord complete(std::uint64_t number, std::vector<double> params, double value) {
    return trial(number, TrialState::complete, std::move(params), value);
}

double weight(const std::vector<std::pair<std::string, double>>& ranking, const std::string& name) {
    for (const auto& [n, w] : ranking)
        if (n == name) return w;
    BOOST_FAIL("no importance for " + name);
    return 0.0;
}

}  // namespace

// ---- parameter importance ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(importance_matches_hand_computed_eta_squared) {
    // n = 4: k = max(2, floor(sqrt 4)) = 2 quantile bins for a: {0.1, 0.2} and {0.3, 0.4}.
    // y = 1 2 3 6 (by a), mean 3, SS_total = 4 + 1 + 0 + 9 = 14.
    // a: bin means 1.5 and 4.5, SS_between = 2 * 1.5² + 2 * 1.5² = 9 -> η² = 9/14.
    // b (choice, trials of a = 0.1, 0.3 vs 0.2, 0.4): means 2 and 4 -> SS = 4 -> η² = 4/14.
    // Normalised: a = 9/13, b = 4/13. Pruned, failed and running trials do not count.
    const StudySpec spec = spec_of({uniform("a", 0, 1), choice("b", {"x", "y"})});
    std::vector<TrialRecord> trials = {complete(0, {0.3, 0}, 3.0),
                                       complete(1, {0.1, 0}, 1.0),
                                       trial(2, TrialState::pruned, {0.35, 1}),
                                       complete(3, {0.4, 1}, 6.0),
                                       trial(4, TrialState::failed, {0.15, 0}),
                                       complete(5, {0.2, 1}, 2.0),
                                       trial(6, TrialState::running, {0.25, 1})};
    trials[2].intermediate = {{1, 100.0}};
    const auto r = parameter_importance(spec, trials);
    BOOST_REQUIRE_EQUAL(r.size(), 2u);
    BOOST_TEST(r[0].first == "a");
    BOOST_TEST(r[0].second == 9.0 / 13.0, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(r[1].second == 4.0 / 13.0, boost::test_tools::tolerance(1e-12));
    // The direction does not change what explains the variance.
    BOOST_TEST(weight(parameter_importance(spec_of(spec.space, true), trials), "a") == 9.0 / 13.0,
               boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(equal_values_share_a_quantile_bin) {
    // n = 6, k = 2. a = 1 2 2 2 3 4: bins by rank floor(r*2/6) = 0 0 0 1 1 1, but the third 2
    // (rank 3) joins the first 2's bin 0, so the bins are {1,2,2,2} and {3,4}.
    // y = 0 1 1 1 4 5, mean 2, SS_total = 4+1+1+1+4+9 = 20.
    // a: means 0.75 and 4.5 -> SS = 4*1.25² + 2*2.5² = 18.75 -> η² = 15/16.
    // b (choice 0 0 0 1 1 1): means 2/3 and 10/3 -> SS = 6*(4/3)² = 32/3 -> η² = 8/15.
    // Normalised by 15/16 + 8/15 = 353/240: a = 225/353, b = 128/353.
    const StudySpec spec = spec_of({uniform("a", 0, 5), choice("b", {"p", "q"})});
    const std::vector<double> a = {1, 2, 2, 2, 3, 4}, b = {0, 0, 0, 1, 1, 1},
                              y = {0, 1, 1, 1, 4, 5};
    std::vector<TrialRecord> trials;
    for (std::size_t i = 0; i < 6; ++i) trials.push_back(complete(i, {a[i], b[i]}, y[i]));
    const auto r = parameter_importance(spec, trials);
    BOOST_TEST(weight(r, "a") == 225.0 / 353.0, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(weight(r, "b") == 128.0 / 353.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(importance_finds_the_parameter_the_objective_depends_on) {
    // The objective is a function of a only; b, c and d are drawn independently of it.
    const StudySpec spec = spec_of({log_uniform("b", 1e-4, 1e-1), uniform("a", 0, 1),
                                    choice("c", {"relu", "tanh", "gelu"}), uniform("d", 0, 1)});
    std::mt19937 g(7);
    const auto u = [&] { return static_cast<double>(g()) / 4294967296.0; };
    std::vector<TrialRecord> trials;
    for (std::uint64_t i = 0; i < 60; ++i) {
        const double b = 1e-4 * std::pow(1e3, u()), a = u(), c = std::floor(3 * u()), d = u();
        trials.push_back(complete(i, {b, a, c, d}, 10 * (a - 0.3) * (a - 0.3) + 0.01 * u()));
    }
    const auto r = parameter_importance(spec, trials);
    BOOST_REQUIRE_EQUAL(r.size(), 4u);
    BOOST_TEST(r[0].first == "a");
    BOOST_TEST(r[0].second > 0.7);
    double sum = 0.0;
    for (const auto& [name, w] : r) {
        BOOST_TEST(w >= 0.0, name);
        BOOST_TEST(w <= 1.0, name);
        sum += w;
    }
    BOOST_TEST(sum == 1.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(importance_edge_cases) {
    const StudySpec spec = spec_of({uniform("a", 0, 1), uniform("b", 0, 1)});
    BOOST_TEST(parameter_importance(spec, {}).empty());
    BOOST_TEST(parameter_importance(spec, {complete(0, {0.1, 0.2}, 1.0)}).empty());
    // A trial whose parameters or value a damaged database garbled does not count.
    BOOST_TEST(parameter_importance(
                   spec, {complete(0, {0.1, 0.2}, 1.0), complete(1, {0.3}, 2.0),
                          complete(2, {NAN, 0.5}, 3.0), complete(3, {0.5, 0.5}, INFINITY)})
                   .empty());
    // A constant objective: nothing is explained.
    const auto flat = parameter_importance(
        spec,
        {complete(0, {0.1, 0.2}, 0.1), complete(1, {0.3, 0.4}, 0.1), complete(2, {0.6, 0.1}, 0.1)});
    BOOST_REQUIRE_EQUAL(flat.size(), 2u);
    BOOST_TEST(flat[0].second == 0.0);
    BOOST_TEST(flat[1].second == 0.0);
    // Values near the double range do not overflow: a separates them, b does not.
    const auto huge = parameter_importance(
        spec, {complete(0, {0.1, 0.5}, -1e308), complete(1, {0.2, 0.1}, -1e308),
               complete(2, {0.8, 0.6}, 1e308), complete(3, {0.9, 0.2}, 1e308)});
    BOOST_TEST(huge[0].first == "a");
    BOOST_TEST(huge[0].second == 1.0, boost::test_tools::tolerance(1e-12));
}

// ---- the page ---------------------------------------------------------------------------

namespace {

// A maximized study with names that need escaping and every trial state; trial 2 is best.
StudySpec page_spec() {
    StudySpec s = spec_of({log_uniform("lr", 1e-4, 1e-1),
                           {"units<&>", SpaceKind::integer, 16, 128, 1, false, {}},
                           choice("act", {"<relu>", "tanh & \"x\""}),
                           {"layers", SpaceKind::integer, 1, 8, 1, true, {}}},
                          true);
    s.name = "mlp <study> & \"co\"";
    s.objective = "val_accuracy";
    return s;
}

std::vector<TrialRecord> page_trials() {
    std::vector<TrialRecord> t = {
        complete(0, {0.01, 64, 0, 2}, 0.80),
        trial(1, TrialState::pruned, {0.1, 16, 1, 1}),
        complete(2, {0.00123456789, 128, 1, 4}, 0.86),
        trial(3, TrialState::failed, {0.05, 32, 0, 8}),
        trial(4, TrialState::running, {0.002, 48, 1, 3}),
        complete(5, {0.003, 100, 7, 2}, 0.5)};  // choice index 7: a damaged database
    t[0].intermediate = {{1, 0.7}, {2, 0.75}, {3, 0.8}};
    t[1].intermediate = {{1, 0.5}};
    t[2].intermediate = {{1, 0.72}, {2, 0.8}, {3, 0.86}};
    t[3].intermediate = {{1, NAN}, {2, INFINITY}};
    t[4].intermediate = {{1, 0.6}};
    t[1].reason = "pruned at epoch 1: below the median";
    t[3].reason = "<script>alert(1)</script> diverged";
    t[5].rerun_of = 3;
    const std::uint64_t epochs[] = {3, 1, 3, 2, 1, 3};
    const double times[][2] = {{1000, 1100}, {1100, 1120}, {1120, 1300},
                               {1200, 1250}, {1290, 0},    {0, 0}};
    for (std::size_t i = 0; i < t.size(); ++i) {
        t[i].epochs = epochs[i];
        t[i].started = times[i][0];
        t[i].finished = times[i][1];
    }
    return t;
}

// "nan" or "inf" as a word anywhere: a non-finite number printed into the page.
bool prints_non_finite(const std::string& html) {
    static const std::regex word(R"(\b(nan|inf)\b)", std::regex::icase);
    return std::regex_search(html, word);
}

}  // namespace

BOOST_AUTO_TEST_CASE(page_shows_every_section_and_escapes_user_text) {
    const std::string html = render_study_report(page_spec(), page_trials(), {{"accuracy", 0.851}});
    for (const char* id : {"best", "history", "parameters", "curves", "importance", "trials"})
        BOOST_TEST(contains(html, std::string("<section id=\"") + id + "\">"), id);
    BOOST_TEST(contains(html, "Trial 2: val_accuracy = 0.86"));
    BOOST_TEST(contains(html, "<tr class=\"best\"><td>2</td>"));
    // The best trial's parameters exactly as substituted (to copy them); the table rounds.
    BOOST_TEST(contains(html, "<tr><td>lr</td><td>0.00123456789</td></tr>"));
    BOOST_TEST(contains(html, "<td>0.0012346</td>"));
    BOOST_TEST(contains(html, "(maximize)"));
    BOOST_TEST(contains(html, "0.851"));  // the best trial's test metric
    BOOST_TEST(!contains(html, "has not run yet"));
    // Escaped: study name, parameter name, choice texts, a failure reason.
    BOOST_TEST(contains(html, "mlp &lt;study&gt; &amp; &quot;co&quot;"));
    BOOST_TEST(contains(html, "units&lt;&amp;&gt;"));
    BOOST_TEST(contains(html, "&lt;relu&gt;"));
    BOOST_TEST(contains(html, "tanh &amp; &quot;x&quot;"));
    BOOST_TEST(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt; diverged"));
    BOOST_TEST(!contains(html, "<script"));
    BOOST_TEST(!contains(html, "<relu>"));
    BOOST_TEST(!prints_non_finite(html));
    // Counts by state; 1000 .. 1300 s is 5 min; trials ran 100 + 20 + 180 + 50 = 350 s; the
    // pruned trial stopped at epoch 1 of 3.
    for (const char* card :
         {"complete</div><div class=\"value\">3<", "pruned</div><div class=\"value\">1<",
          "failed</div><div class=\"value\">1<", "running</div><div class=\"value\">1<",
          "total time</div><div class=\"value\">5 min 00 s<",
          "time in trials</div><div class=\"value\">5 min 50 s<",
          "epochs saved by pruning</div><div class=\"value\">2<"})
        BOOST_TEST(contains(html, card), card);
    BOOST_TEST(contains(html, "lr (log scale)"));
    BOOST_TEST(contains(html, "layers (log scale)"));
    BOOST_TEST(contains(html, "stopped at epoch 1"));  // the pruned trial's mark
    BOOST_TEST(contains(html, "re-runs trial 3"));
    BOOST_TEST(!contains(html, "src="));  // nothing fetched
    BOOST_TEST(!contains(html, "href="));
}

BOOST_AUTO_TEST_CASE(page_edge_cases) {
    const StudySpec spec = page_spec();
    const std::string none = render_study_report(spec, {}, {});
    BOOST_TEST(contains(none, "No trials yet"));
    BOOST_TEST(contains(none, "No trial has completed yet"));
    BOOST_TEST(!contains(none, "<svg"));
    BOOST_TEST(!prints_non_finite(none));

    std::vector<TrialRecord> failed = {trial(0, TrialState::failed, {0.01, 16, 0, 1}),
                                       trial(1, TrialState::failed, {})};
    failed[1].reason = "crashed";
    const std::string all_failed = render_study_report(spec, failed, {});
    BOOST_TEST(contains(all_failed, "No trial has completed yet"));
    BOOST_TEST(contains(all_failed, "Needs at least two complete trials"));
    BOOST_TEST(contains(all_failed, "crashed"));
    BOOST_TEST(!prints_non_finite(all_failed));

    const std::string one = render_study_report(spec, {complete(0, {0.01, 16, 1, 1}, 0.9)}, {});
    BOOST_TEST(contains(one, "Trial 0: val_accuracy = 0.9"));
    BOOST_TEST(contains(one, "The test evaluation of the best trial has not run yet"));
    BOOST_TEST(contains(one, "Needs at least two complete trials"));
    BOOST_TEST(!prints_non_finite(one));

    // Values a damaged database may hold: beyond any axis, and spanning the double range.
    const std::string hostile = render_study_report(
        spec,
        {complete(0, {1e308, -1e308, 1, 1e300}, 1e308),
         complete(1, {-1e308, 1e308, 0, 1e-300}, -1e308), complete(2, {NAN, INFINITY, -1, 0}, 0.5)},
        {{"accuracy", NAN}});
    BOOST_TEST(contains(hostile, "<section id=\"trials\">"));
    BOOST_TEST(!prints_non_finite(hostile));

    // Lower is better when minimizing: trial 1.
    const std::string min = render_study_report(
        spec_of(spec.space),
        {complete(0, {0.01, 16, 1, 1}, 0.9), complete(1, {0.02, 32, 0, 2}, 0.4)}, {});
    BOOST_TEST(contains(min, "Trial 1: val_loss = 0.4"));
}

BOOST_AUTO_TEST_CASE(write_study_report_writes_the_page_atomically) {
    TempDir dir("study-report-write");
    write_study_report(page_spec(), page_trials(), {}, dir.path / "study.html");
    BOOST_TEST(read_text(dir.path / "study.html") ==
               render_study_report(page_spec(), page_trials(), {}));
    BOOST_CHECK_THROW(
        write_study_report(page_spec(), page_trials(), {}, dir.path / "missing" / "study.html"),
        plexus::Error);
    BOOST_TEST(!fs::exists(dir.path / "missing"));
}

// ---- a real browser ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(chromium_renders_the_study_page) {
    TempDir dir("study-report-browser");
    const fs::path page = dir.path / "study.html", shot = dir.path / "shot.png";
    write_study_report(page_spec(), page_trials(), {{"accuracy", 0.851}}, page);
    const auto b = run_chromium(dir.path, page, "--screenshot=" + shot.string());
    BOOST_TEST(b.exit_code == 0, b.log);
    BOOST_TEST(b.console.empty(), "the page logged to the console:\n" << b.log);
    BOOST_REQUIRE_MESSAGE(fs::exists(shot), "no screenshot was written:\n" << b.log);
    // The charts are drawn: pixels of the complete (blue), pruned (orange) and best-so-far
    // (red) colours; a blank or unstyled page has none of them.
    const Image img = decode_png(read_text(shot));
    std::size_t blue = 0, orange = 0, red = 0;
    for (std::size_t p = 0; p + 2 < img.rgb.size(); p += 3) {
        const auto near = [&](int r, int g, int bl) {
            return std::abs(img.rgb[p] - r) + std::abs(img.rgb[p + 1] - g) +
                       std::abs(img.rgb[p + 2] - bl) <
                   40;
        };
        blue += near(0x1f, 0x77, 0xb4);
        orange += near(0xff, 0x7f, 0x0e);
        red += near(0xc0, 0x39, 0x2b);
    }
    BOOST_TEST_MESSAGE("blue " << blue << ", orange " << orange << ", red " << red);
    BOOST_TEST(blue > 1000u);  // dots, curves and importance bars
    BOOST_TEST(orange > 50u);
    BOOST_TEST(red > 200u);
}

BOOST_AUTO_TEST_CASE(study_page_is_well_formed_xml) {
    // Served as XHTML, the page goes through Chromium's XML parser, which reports any
    // unbalanced tag or stray '&' as a <parsererror>; the broken page proves it would.
    TempDir dir("study-report-xml");
    const auto [good, bad] =
        plexus::test::parse_as_xhtml(dir.path, render_study_report(page_spec(), page_trials(), {}));
    BOOST_TEST(contains(good.log, "Parameter importance"), good.log);
    BOOST_TEST(!contains(good.log, "parsererror"), good.log);
    BOOST_TEST(contains(bad.log, "parsererror"), bad.log);
}
