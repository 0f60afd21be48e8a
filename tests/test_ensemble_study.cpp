// plexus ensemble STUDY_DIR --top K: a study's best K complete trials (by the objective as the
// storage holds it) become the members.
#define BOOST_TEST_MODULE ensemble_study
#include <algorithm>
#include <boost/test/unit_test.hpp>

#include "cli.hpp"
#include "tune_study.hpp"

namespace fs = std::filesystem;
using namespace plexus;
using namespace plexus::test;

BOOST_AUTO_TEST_CASE(top_k_trials_of_a_study) {
    TempDir dir{"ensemble_study"};
    write_iris_experiment(dir.path, "base.ini", "layer = relu\n", "", "", 4);
    write_text(dir / "s.ini",
               "[study]\nexperiment = base.ini\nobjective = val_accuracy\ndirection = maximize\n"
               "sampler = grid\n[space]\nunits = choice 2 4 16\n");
    // The grid varies the hidden layer's width through the experiment's first dense layer.
    write_text(dir / "base.ini", read_text(dir / "base.ini").replace(
                                     read_text(dir / "base.ini").find("dense units=8"), 13,
                                     "dense units=${units}"));
    const auto tune = run_plexus("tune '" + (dir / "s.ini").string() + "'");
    BOOST_REQUIRE_MESSAGE(tune.exit_code == 0, tune.err);

    // The two best by the stored objective, ranked here from the storage itself.
    auto trials = stored_trials(dir / "s.ini");
    BOOST_REQUIRE_EQUAL(trials.size(), 3u);
    std::stable_sort(trials.begin(), trials.end(),
                     [](const auto& a, const auto& b) { return *a.value > *b.value; });
    const auto r = run_plexus("ensemble '" + (dir / "s").string() + "' --top 2 --data 'csv:" +
                              (dir / "iris.csv").string() + " label=species'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    for (std::size_t i = 0; i < 3; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "%04llu", static_cast<unsigned long long>(trials[i].number));
        const bool listed = r.out.find(std::string("trials/") + name) != std::string::npos;
        BOOST_TEST(listed == (i < 2), name << " in\n" << r.out);
    }
    BOOST_TEST(r.out.find("ensemble (average)") != std::string::npos, r.out);

    const auto too_many = run_plexus("ensemble '" + (dir / "s").string() + "' --top 4 --data 'csv:" +
                                     (dir / "iris.csv").string() + " label=species'");
    BOOST_TEST(too_many.exit_code == 1, too_many.err);
    BOOST_TEST(too_many.err.find("has 3 complete trials") != std::string::npos, too_many.err);
}
