// Issue 18: two metrics of one kind with different parameters wrote the same column, the second
// silently hiding the first. Each is now named (f1_macro, f1_micro, or name=) in every output:
// the progress line, history.csv, log.csv, metrics.json and evaluate --json. Also repeated --set
// for a list key, and the metric misconfigurations that are refused or warned about.
#define BOOST_TEST_MODULE metric_names
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.hpp"

namespace fs = std::filesystem;
using plexus::test::read_text;
using plexus::test::run_plexus;
using plexus::test::TempDir;

namespace {

const std::string kIris = std::string(PLEXUS_TEST_SOURCE_DIR) + "/examples/iris_mlp.ini";
const std::string kIrisCsv = std::string(PLEXUS_TEST_SOURCE_DIR) + "/examples/data/iris.csv";

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

std::size_t lines(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) n += c == '\n';
    return n;
}

/// Trains iris for `epochs` with the file's metric list replaced by `metrics` (each a --set).
plexus::test::CommandResult train(const fs::path& out, const std::vector<std::string>& metrics,
                                  const std::string& extra = {}) {
    std::string args = "train '" + kIris + "' --out '" + out.string() +
                       "' --set train.epochs=3 --set 'train.callback=csv_logger'";
    for (const auto& m : metrics) args += " --set 'train.metric=" + m + "'";
    return run_plexus(args + " " + extra);
}

fs::path only_run(const fs::path& out) {
    for (const auto& e : fs::directory_iterator(out))
        if (e.is_directory()) return e.path();
    BOOST_FAIL("no run folder under " << out);
    return {};
}

std::string first_line(const fs::path& file) {
    const std::string text = read_text(file);
    return text.substr(0, text.find('\n'));
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_f1_metrics_get_distinct_names_everywhere) {
    TempDir dir("metric-names");
    const auto r = train(dir.path, {"accuracy", "f1 average=macro", "f1 average=micro",
                                    "precision average=macro name=p_macro"});
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    const fs::path run = only_run(dir.path);
    const std::string want =
        "epoch,loss,accuracy,f1_macro,f1_micro,p_macro,val_loss,val_accuracy,val_f1_macro,"
        "val_f1_micro,val_p_macro,lr,seconds";
    BOOST_TEST(first_line(run / "history.csv") == want);
    const std::string log = first_line(run / "log.csv");
    for (const char* name : {"f1_macro", "f1_micro", "val_f1_macro", "val_f1_micro", "p_macro"})
        BOOST_TEST(contains(log, name), name << " missing from log.csv: " << log);
    BOOST_TEST(contains(r.out, "f1_macro"), r.out);  // the per-epoch line
    BOOST_TEST(contains(r.out, "val_f1_micro"), r.out);

    const auto m = nlohmann::json::parse(read_text(run / "metrics.json"));
    const auto& test = m["test"];
    for (const char* name : {"accuracy", "f1_macro", "f1_micro", "p_macro"})
        BOOST_TEST(test.contains(name), name << " missing from metrics.json: " << test.dump());
    BOOST_TEST(!test.contains("f1"));
    // For single-label rows micro F1 is the accuracy (every false positive of one class is a
    // false negative of another), which the macro average need not be.
    BOOST_TEST(test["f1_micro"].get<double>() == test["accuracy"].get<double>(),
               boost::test_tools::tolerance(1e-12));

    const auto e = run_plexus("evaluate '" + run.string() + "' --data 'csv:" + kIrisCsv +
                              " label=species' --metric 'f1 average=macro' --metric 'f1 "
                              "average=micro' --metric accuracy --json");
    BOOST_REQUIRE_MESSAGE(e.exit_code == 0, e.out << e.err);
    const auto j = nlohmann::json::parse(e.out)["metrics"];
    BOOST_TEST(j.size() == 3u, j.dump());
    BOOST_TEST(j["f1_micro"].get<double>() == j["accuracy"].get<double>(),
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(j.contains("f1_macro"), j.dump());
}

BOOST_AUTO_TEST_CASE(a_metric_alone_of_its_kind_keeps_its_name) {
    // What studies (objective = val_f1) and monitors rely on.
    TempDir dir("metric-names-single");
    const auto r = train(dir.path, {"f1 average=macro", "top_k_accuracy k=2"});
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    BOOST_TEST(first_line(only_run(dir.path) / "history.csv") ==
               "epoch,loss,f1,top_k_accuracy,val_loss,val_f1,val_top_k_accuracy,lr,seconds");
}

BOOST_AUTO_TEST_CASE(the_metric_left_at_its_defaults_keeps_the_plain_name) {
    // `f1` beside `f1 average=micro`: the first was called f1_<its default>, and a monitor or
    // study objective on val_f1 found nothing.
    TempDir dir("metric-names-default");
    const auto r = train(dir.path, {"f1", "f1 average=micro", "top_k_accuracy",
                                    "top_k_accuracy k=2"});
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    BOOST_TEST(first_line(only_run(dir.path) / "history.csv") ==
               "epoch,loss,f1,f1_micro,top_k_accuracy,top_k_accuracy_k2,val_loss,val_f1,"
               "val_f1_micro,val_top_k_accuracy,val_top_k_accuracy_k2,lr,seconds");
}

BOOST_AUTO_TEST_CASE(same_kinds_differing_in_a_number_and_in_two_parameters) {
    TempDir dir("metric-names-k");
    const auto r = train(dir.path, {"top_k_accuracy k=1", "top_k_accuracy k=2",
                                    "recall average=macro", "recall average=binary positive=2"});
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    BOOST_TEST(first_line(only_run(dir.path) / "history.csv") ==
               "epoch,loss,top_k_accuracy_k1,top_k_accuracy_k2,recall_macro,"
               "recall_binary_positive2,val_loss,val_top_k_accuracy_k1,val_top_k_accuracy_k2,"
               "val_recall_macro,val_recall_binary_positive2,lr,seconds");
}

BOOST_AUTO_TEST_CASE(clashing_names_are_one_line_errors) {
    TempDir dir("metric-names-bad");
    struct Case {
        std::vector<std::string> metrics;
        std::string message;
    };
    const Case cases[] = {
        {{"f1 average=macro", "f1 average=macro"},
         "--set train.metric=f1 average=macro: metric 'f1' is already at --set"},
        {{"accuracy", "f1 name=accuracy"}, "metric 'accuracy' is already at"},
        {{"f1 name=val_f1"}, "metric name 'val_f1' is one the history uses itself"},
        {{"f1 name=loss"}, "metric name 'loss' is one the history uses itself"},
        {{"f1 name=a,b"}, "metric name 'a,b' must be letters, digits"},
        {{"f1 average=binary"}, "f1 average=binary: the model has 3 classes"},
    };
    for (const auto& c : cases) {
        const auto r = train(dir.path, c.metrics);
        BOOST_TEST(r.exit_code != 0, c.message);
        BOOST_TEST(contains(r.err, c.message), "want '" << c.message << "', got: " << r.err);
        BOOST_TEST(lines(r.err) == 1u, r.err);
    }
    BOOST_TEST(fs::is_empty(dir.path), "a refused experiment left a run folder");
}

BOOST_AUTO_TEST_CASE(top_k_above_the_class_count_warns) {
    TempDir dir("metric-names-topk");
    const auto r = train(dir.path, {"top_k_accuracy k=20"});
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    BOOST_TEST(contains(r.err, "warning: top_k_accuracy k=20 on 3 classes is always 1 (used as "
                               "k=3)"),
               r.err);
}

BOOST_AUTO_TEST_CASE(repeated_set_builds_the_model_list) {
    // The file's [model] has dense 16, relu, dense 3; three --set model.layer replace it.
    TempDir dir("metric-names-layers");
    const auto r = run_plexus("train '" + kIris + "' --out '" + dir.path.string() +
                              "' --set train.epochs=1 --set 'model.layer=dense units=5' --set "
                              "model.layer=tanh --set 'model.layer=dense units=3'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    const std::string exp = read_text(only_run(dir.path) / "experiment.ini");
    BOOST_TEST(contains(exp, "[model]\nlayer = dense units=5\nlayer = tanh\nlayer = dense "
                             "units=3\n"),
               exp);
}
