// plexus predict end to end: a model trained on CSV data with a fitted scaler, reloaded from
// model.safetensors, prepares new data exactly as training did; damaged models are refused
// with one line.
#define BOOST_TEST_MODULE predict
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli.hpp"

namespace fs = std::filesystem;
using plexus::test::read_text;
using plexus::test::run_plexus;
using plexus::test::TempDir;

namespace {

// Iris split by row parity into train.csv and test.csv (the header goes to both).
void split_iris(const fs::path& dir) {
    std::ifstream in(fs::path(PLEXUS_TEST_SOURCE_DIR) / "examples/data/iris.csv");
    std::ofstream train(dir / "train.csv"), test(dir / "test.csv");
    std::string line;
    std::getline(in, line);
    train << line << "\n";
    test << line << "\n";
    for (int i = 0; std::getline(in, line); ++i) (i % 2 ? test : train) << line << "\n";
}

fs::path only_run(const fs::path& runs) {
    fs::path found;
    for (const auto& e : fs::directory_iterator(runs)) found = e.path();
    return found;
}

struct TrainedIris {
    TempDir tmp{"predict"};
    fs::path run;
    double test_accuracy = 0.0;
    TrainedIris() {
        split_iris(tmp.path);
        std::ofstream(tmp.path / "iris.ini") << "[data]\n"
                                                "train = csv:train.csv label=species\n"
                                                "test = csv:test.csv label=species\n"
                                                "transform = standardize\n"
                                                "[model]\nlayer = dense units=8\nlayer = relu\nlayer = dense units=3\n"
                                                "[train]\noptimizer = adam lr=0.05\nbatch_size = 16\nepochs = 30\n"
                                                "verbose = 0\n";
        const auto r = run_plexus("train '" + (tmp.path / "iris.ini").string() + "' --out '" +
                                  (tmp.path / "runs").string() + "'");
        BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        run = only_run(tmp.path / "runs");
        const auto metrics = nlohmann::json::parse(read_text(run / "metrics.json"));
        test_accuracy = metrics["test"]["accuracy"].get<double>();
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(predict_reproduces_the_fitted_preprocessing) {
    TrainedIris t;
    BOOST_TEST(t.test_accuracy > 0.85);  // standardized iris is easy: training worked
    const fs::path out = t.tmp.path / "predictions.csv";
    const auto r = run_plexus("predict '" + t.run.string() + "' --data 'csv:" + (t.tmp.path / "test.csv").string() +
                              " label=species' --out '" + out.string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    // Same weights, same fitted scaler (now read back from the file): the same accuracy as the
    // trainer's own test evaluation, to the last sample.
    char expected[64];
    std::snprintf(expected, sizeof expected, "accuracy against the labels %.4f", t.test_accuracy);
    BOOST_TEST(r.out.find(expected) != std::string::npos, r.out << " vs " << expected);

    std::ifstream csv(out);
    std::string header, row;
    std::getline(csv, header);
    BOOST_TEST(header == "index,label,predicted,class,p_setosa,p_versicolor,p_virginica");
    int rows = 0;
    while (std::getline(csv, row)) {
        ++rows;
        // Probabilities of a row sum to one.
        double sum = 0.0;
        std::size_t pos = 0;
        for (int field = 0; field < 4; ++field) pos = row.find(',', pos) + 1;
        while (pos != 0) {
            sum += std::stod(row.substr(pos));
            pos = row.find(',', pos) + 1;
        }
        BOOST_TEST(sum == 1.0, boost::test_tools::tolerance(1e-4));
    }
    BOOST_TEST(rows == 75);
}

// A regression model with a fitted target transform predicts data without asking for metrics:
// the loader then reads no targets, and the predictions come back in the target's units.
BOOST_AUTO_TEST_CASE(predict_writes_a_standardized_regression_target_in_its_units) {
    TempDir tmp("predict_regression");
    const std::string data =
        "csv:" + (fs::path(PLEXUS_TEST_SOURCE_DIR) / "examples/data/diabetes.csv").string() +
        " target=progression";
    std::ofstream(tmp.path / "d.ini") << "[data]\ntrain = " << data
                                      << "\nsplit = 60:20:20\ntransform = standardize\n"
                                         "target_transform = standardize\n"
                                         "[model]\nlayer = dense units=1\nloss = mse\n"
                                         "[train]\noptimizer = adam lr=0.05\nepochs = 5\n"
                                         "metric = mae\nverbose = 0\n";
    const auto r = run_plexus("train '" + (tmp.path / "d.ini").string() + "' --out '" +
                              (tmp.path / "runs").string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const fs::path out = tmp.path / "predictions.csv";
    const auto p = run_plexus("predict '" + only_run(tmp.path / "runs").string() + "' --data '" +
                              data + "' --out '" + out.string() + "'");
    BOOST_REQUIRE_MESSAGE(p.exit_code == 0, p.err);
    std::ifstream csv(out);
    std::string header, row;
    std::getline(csv, header);
    BOOST_TEST(header == "index,progression,progression_predicted");
    int rows = 0;
    double predicted = 0.0;
    while (std::getline(csv, row)) {
        ++rows;
        predicted += std::stod(row.substr(row.rfind(',') + 1));
    }
    BOOST_TEST(rows == 442);
    // Progression runs from 25 to 346 (mean 152); z-scores would average near 0.
    BOOST_TEST(predicted / rows > 100.0);
}

BOOST_AUTO_TEST_CASE(a_damaged_model_is_refused_in_one_line) {
    TrainedIris t;
    const fs::path model = t.run / "model.safetensors";
    const std::string bytes = read_text(model);
    std::ofstream(model, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 10);
    const fs::path out = t.tmp.path / "predictions.csv";
    const auto r = run_plexus("predict '" + t.run.string() + "' --data 'csv:" + (t.tmp.path / "test.csv").string() +
                              " label=species' --out '" + out.string() + "'");
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(r.err.find(model.string()) != std::string::npos, r.err);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(!fs::exists(out));  // nothing half-written
}

BOOST_AUTO_TEST_CASE(data_of_another_shape_is_refused) {
    TrainedIris t;
    const auto r = run_plexus("predict '" + t.run.string() +
                              "' --data idx:/usr/share/datasets/fashion-mnist/t10k --out '" +
                              (t.tmp.path / "p.csv").string() + "'");
    BOOST_TEST(r.exit_code != 0);
    // Iris was 4 features and 3 named classes: either mismatch is one clear line.
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(r.err.find("t10k") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(evaluate_prints_the_classification_report_and_labelled_matrix) {
    TrainedIris t;
    const std::string data = "'csv:" + (t.tmp.path / "test.csv").string() + " label=species'";
    const auto r = run_plexus("evaluate '" + t.run.string() + "' --data " + data + " --metric 'f1 average=macro'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("precision    recall  f1-score   support") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("true \\ predicted") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("versicolor") != std::string::npos, r.out);
    // The JSON form: the matrix counts every test sample once, and accuracy is its trace.
    const auto j = run_plexus("evaluate '" + t.run.string() + "' --data " + data + " --json");
    BOOST_REQUIRE_MESSAGE(j.exit_code == 0, j.err);
    const auto doc = nlohmann::json::parse(j.out);
    double total = 0, trace = 0;
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t k = 0; k < 3; ++k) {
            total += doc["confusion_matrix"][i][k].get<double>();
            if (i == k) trace += doc["confusion_matrix"][i][k].get<double>();
        }
    BOOST_TEST(total == 75.0);
    BOOST_TEST(doc["metrics"]["accuracy"].get<double>() == trace / total, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(doc["metrics"]["accuracy"].get<double>() == t.test_accuracy, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(train_writes_the_report_and_diagnose_reads_the_run) {
    TrainedIris t;
    BOOST_TEST(fs::exists(t.run / "report.html"));
    const auto metrics = nlohmann::json::parse(read_text(t.run / "metrics.json"));
    BOOST_TEST(metrics["confusion_matrix"].size() == 3u);
    BOOST_TEST(metrics.contains("diagnosis"));
    const auto d = run_plexus("diagnose '" + t.run.string() + "'");
    BOOST_REQUIRE_MESSAGE(d.exit_code == 0, d.err);
    BOOST_TEST(d.out.find("diagnosis") != std::string::npos, d.out);
    fs::remove(t.run / "report.html");
    const auto r = run_plexus("report '" + t.run.string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(fs::exists(t.run / "report.html"));
    const auto bad = run_plexus("report '" + (t.tmp.path / "nothing").string() + "'");
    BOOST_TEST(bad.exit_code != 0);
    BOOST_TEST(bad.err.find("not a run folder") != std::string::npos, bad.err);
}
