#define BOOST_TEST_MODULE study_file
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "plexus/core/experiment/experiment.hpp"
#include "plexus/core/experiment/settings.hpp"
#include "plexus/core/study/study.hpp"
#include "plexus/error.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::ConfigError;
using plexus::SpaceKind;
using plexus::core::load_study;
using plexus::core::StudySpec;

namespace {

const char* const kStudy = R"([study]
experiment = base.ini   ; with ${name} placeholders
objective = val_accuracy
sampler = tpe
pruner = hyperband
trials = 40
parallel = 2
seed = 7
timeout = 900
[space]
units = choice 128 256 512
lr = loguniform 1e-4 1e-1
dropout = uniform 0.0 0.5
depth = int 1 4
width = int 8 64 step=8
keep = uniform 0.1 0.3 step=0.05
opt = choice "adam lr=1e-3" sgd
)";

void write(const fs::path& file, const std::string& text) {
    std::ofstream(file) << text;
}

std::string error_of(const fs::path& file) {
    try {
        load_study(file);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_study_file_gives_its_settings_and_space) {
    plexus::test::TempDir dir("study-file");
    write(dir / "s.ini", kStudy);
    const StudySpec s = load_study(dir / "s.ini");
    BOOST_TEST(s.name == "s");
    BOOST_TEST(s.dir == dir.path / "s");
    BOOST_TEST(s.experiment == dir.path / "base.ini");
    BOOST_TEST(s.objective == "val_accuracy");
    BOOST_TEST(s.maximize);  // inferred from "accuracy"
    BOOST_TEST(s.sampler == "tpe");
    BOOST_TEST(s.pruner == "hyperband");
    BOOST_TEST(s.trials == 40u);
    BOOST_TEST(s.parallel == 2u);
    BOOST_TEST(s.seed == 7u);
    BOOST_TEST(s.timeout == 900.0);
    BOOST_REQUIRE(s.space.size() == 7u);
    BOOST_TEST((s.space[0].kind == SpaceKind::choice));
    BOOST_TEST(s.space[0].choices.size() == 3u);
    BOOST_TEST(s.space[0].high == 2.0);
    BOOST_TEST((s.space[1].kind == SpaceKind::log_uniform));
    BOOST_TEST(s.space[1].low == 1e-4);
    BOOST_TEST((s.space[3].kind == SpaceKind::integer));
    BOOST_TEST(s.space[3].step == 1.0);  // an int's default step
    BOOST_TEST(s.space[4].step == 8.0);
    BOOST_TEST(s.space[6].choices[0] == "adam lr=1e-3");  // quotes keep spaces
    BOOST_TEST(s.space_where[1] == (dir / "s.ini").string() + ":12");
}

BOOST_AUTO_TEST_CASE(values_read_as_they_are_substituted) {
    plexus::SpaceParam real{"lr", SpaceKind::log_uniform, 1e-4, 1e-1, 0, false, {}};
    BOOST_TEST(plexus::core::param_text(real, 0.1) == "0.1");
    BOOST_TEST(plexus::core::param_text(real, 0.0031622776601683794) == "0.0031622776601683794");
    plexus::SpaceParam lattice{"keep", SpaceKind::uniform, 0.1, 0.3, 0.05, false, {}};
    BOOST_TEST(plexus::core::param_text(lattice, 0.1 + 0.05) == "0.15");  // not 0.15000000000000002
    plexus::SpaceParam whole{"depth", SpaceKind::integer, 1, 4, 1, false, {}};
    BOOST_TEST(plexus::core::param_text(whole, 3.0) == "3");
    plexus::SpaceParam pick{"opt", SpaceKind::choice, 0, 1, 0, false, {"adam", "sgd"}};
    BOOST_TEST(plexus::core::param_text(pick, 1.0) == "sgd");
    BOOST_CHECK_THROW(plexus::core::param_text(pick, 2.0), plexus::Error);
}

BOOST_AUTO_TEST_CASE(malformed_study_files_name_the_line) {
    plexus::test::TempDir dir("study-file-bad");
    const std::string head = "[study]\nexperiment = b.ini\nobjective = val_loss\n[space]\n";
    const std::pair<std::string, std::string> cases[] = {
        {head + "lr = loguniform 0 1\n", ":5: parameter 'lr': a log scale needs low > 0"},
        {head + "lr = uniform 1 0\n", ":5: parameter 'lr': low 1 is above high 0"},
        {head + "lr = normal 0 1\n", ":5: parameter 'lr': unknown distribution 'normal'"},
        {head + "n = int 1 4.5\n", ":5: parameter 'n': int bounds and step must be whole"},
        {head + "x = uniform 0 1 step=0.3\n", "is not a whole number of steps"},
        {head + "x = uniform 0 1e999\n", "expected a number, found '1e999'"},
        {head + "x = choice a b a\n", "choice value 'a' is listed twice"},
        {head + "x = choice a\nx = choice b\n", ":6: parameter 'x' is defined twice"},
        {head + "x-y = choice a\n", "parameter name 'x-y' must be"},
        {"[study]\nexperiment = b.ini\nobjective = test_accuracy\n[space]\nx = choice a\n",
         ":3: objective 'test_accuracy' is a test-set value"},
        {"[study]\nexperiment = b.ini\nobjective = loss\n[space]\nx = choice a\n",
         ":3: objective 'loss' is not a validation value"},
        {"[study]\nexperiment = b.ini\nobjective = val_score\n[space]\nx = choice a\n",
         "set direction = minimize or maximize"},
        {"[study]\nexperiment = b.ini\nobjective = val_loss\nsampelr = tpe\n[space]\nx = choice "
         "a\n",
         ":4: unknown key 'sampelr' in [study]"},
        {"[study]\nexperiment = b.ini\nobjective = val_loss\ntrials = -3\n[space]\nx = choice a\n",
         ":4: trials must be a whole number from 1"},
        {"[study]\nexperiment = b.ini\nobjective = val_loss\n", "no [space] parameters"},
        {"[study]\nobjective = val_loss\n[space]\nx = choice a\n", "needs experiment = FILE.ini"},
        {"[sudy]\n", ":1: unknown section [sudy]"},
    };
    for (const auto& [text, expected] : cases) {
        write(dir / "s.ini", text);
        const std::string e = error_of(dir / "s.ini");
        BOOST_TEST(contains(e, expected), "expected '" << expected << "' in: " << e);
    }
    BOOST_TEST(contains(error_of(dir / "missing.ini"), "no such file"));
    // A FIFO would block the read forever; a huge file is not a study file.
    BOOST_REQUIRE(::mkfifo((dir / "fifo.ini").c_str(), 0600) == 0);
    BOOST_TEST(contains(error_of(dir / "fifo.ini"), "expected a regular file"));
    std::ofstream(dir / "big.ini") << std::string((1 << 20) + 1, ';');
    BOOST_TEST(contains(error_of(dir / "big.ini"), "larger than 1 MiB; is this a study file?"));
    BOOST_TEST(contains(error_of(dir.path), "found a directory"));
}

BOOST_AUTO_TEST_CASE(placeholders_must_match_the_space_both_ways) {
    plexus::test::TempDir dir("study-placeholders");
    write(dir / "s.ini",
          "[study]\nexperiment = b.ini\nobjective = val_loss\n[space]\n"
          "lr = loguniform 1e-4 1e-1\nunits = choice 64 128\n");
    const StudySpec s = load_study(dir / "s.ini");
    const std::string good =
        "[model]\nlayer = dense units=${units}\n[train]\noptimizer = adam lr=${lr}\n";
    BOOST_CHECK_NO_THROW(plexus::core::check_placeholders(good, s, "b.ini"));
    try {
        plexus::core::check_placeholders(good + "epochs = ${epochs}\n", s, "b.ini");
        BOOST_FAIL("an undefined placeholder was accepted");
    } catch (const ConfigError& e) {
        BOOST_TEST(contains(e.what(), "b.ini:5: placeholder ${epochs} is not a parameter"));
    }
    try {
        // A placeholder only inside a comment does not count as a use.
        plexus::core::check_placeholders("[train]\noptimizer = adam lr=${lr}  ; ${units}\n", s,
                                         "b.ini");
        BOOST_FAIL("an unused parameter was accepted");
    } catch (const ConfigError& e) {
        BOOST_TEST(contains(e.what(), "s.ini:6: parameter 'units' is never used as ${units}"));
    }
    const std::string text = plexus::core::substitute(good, s.space, {0.001, 1.0});
    BOOST_TEST(text == "[model]\nlayer = dense units=128\n[train]\noptimizer = adam lr=0.001\n");
    BOOST_TEST(plexus::core::substitute("echo ${units}", s.space, {0.5, 0.0}, true) == "echo '64'");
    // A comment may mention any ${name}; it is left as written.
    BOOST_TEST(plexus::core::substitute("lr=${lr} ; not ${epochs} # ${", s.space, {0.5, 0.0}) ==
               "lr=0.5 ; not ${epochs} # ${");
}

BOOST_AUTO_TEST_CASE(a_relocated_experiment_reads_the_same_data) {
    plexus::test::TempDir dir("study-relocate");
    fs::create_directories(dir / "project/data");
    fs::create_directories(dir / "project/study/trials/0003");
    const std::string text = "[data]\ntrain = csv:data/x.csv label=y\n[train]\nepochs = 1\n";
    const std::string moved =
        plexus::core::relocate_experiment(text, dir / "project", dir / "project/study/trials/0003");
    BOOST_TEST(contains(moved, "[experiment]\nbase_dir = ../../.."));
    auto exp = plexus::core::Experiment::parse(moved, "moved.ini");
    BOOST_TEST(exp.get("experiment.base_dir")->value == "../../..");
    // A file that already has a base_dir keeps pointing at the same folder.
    const std::string twice = plexus::core::relocate_experiment(
        moved, dir / "project/study/trials/0003", dir / "project/study");
    BOOST_TEST(contains(twice, "base_dir = ..  ;"), twice);
    BOOST_TEST(!contains(twice, "../../.."));
    // And with an [experiment] section but no base_dir, the key joins that section.
    const std::string named = plexus::core::relocate_experiment(
        "[experiment]\nname = x\n" + text, dir / "project", dir / "project/study");
    BOOST_TEST(contains(named, "[experiment]\nbase_dir = ..  ; data paths start here\nname = x\n"));
    // The settings resolve data paths from there.
    std::ofstream(dir / "project/study/trials/0003/e.ini") << moved;
    const auto settings = plexus::core::read_settings(
        plexus::core::Experiment::load(dir / "project/study/trials/0003/e.ini"));
    BOOST_TEST(fs::weakly_canonical(settings.data.base_dir) ==
               fs::weakly_canonical(dir / "project"));
}
