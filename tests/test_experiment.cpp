#define BOOST_TEST_MODULE experiment
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "plexus/core/experiment/experiment.hpp"
#include "plexus/core/experiment/settings.hpp"
#include "plexus/error.hpp"

namespace fs = std::filesystem;
using plexus::ConfigError;
using plexus::core::Experiment;
using plexus::core::Setting;

namespace {

const char* const kGood = R"(; a comment line
# another comment line
[experiment]
name = fashion_mlp

[data]
train = idx:/usr/share/datasets/fashion-mnist/train
validation = 0.1 stratified        ; carved from train
seed = 42   # hash comment

[model]
layer = dense units=256 init=he_normal
layer = relu
layer = dense units=10
loss = softmax_cross_entropy

[train]
  epochs=3
optimizer = adam lr=1e-3
metric = accuracy
)";

// The ConfigError message parse() throws, or "" when it throws nothing.
std::string parse_error(const std::string& text, const std::string& name = "exp.ini") {
    try {
        Experiment::parse(text, name);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

std::string override_error(Experiment& exp, const std::string& assignment) {
    try {
        exp.apply_override(assignment);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

std::vector<std::string> values(const std::vector<Setting>& settings) {
    std::vector<std::string> out;
    for (const auto& s : settings) out.push_back(s.value);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(parses_sections_lists_and_lines) {
    const auto exp = Experiment::parse(kGood, "dir/good.ini");
    BOOST_TEST(exp.name() == "fashion_mlp");
    BOOST_TEST(exp.get_or("data.train", "") == "idx:/usr/share/datasets/fashion-mnist/train");
    BOOST_TEST(exp.get_or("data.validation", "") == "0.1 stratified");
    BOOST_TEST(exp.get_or("data.seed", "") == "42");
    BOOST_TEST(exp.get_or("model.loss", "") == "softmax_cross_entropy");
    BOOST_TEST(exp.get_or("train.optimizer", "") == "adam lr=1e-3");
    BOOST_TEST(exp.get_or("train.batch_size", "fallback") == "fallback");
    BOOST_TEST(!exp.get("train.batch_size").has_value());

    const auto layers = exp.get_all("model.layer");
    BOOST_TEST(values(layers) ==
                   (std::vector<std::string>{"dense units=256 init=he_normal", "relu",
                                             "dense units=10"}),
               boost::test_tools::per_element());
    BOOST_REQUIRE_EQUAL(layers.size(), 3u);
    BOOST_TEST(layers[0].where == "dir/good.ini:12");
    BOOST_TEST(layers[1].where == "dir/good.ini:13");
    BOOST_TEST(layers[2].where == "dir/good.ini:14");

    const auto epochs = exp.get("train.epochs");
    BOOST_REQUIRE(epochs.has_value());
    BOOST_TEST(epochs->value == "3");
    BOOST_TEST(epochs->where == "dir/good.ini:18");
    BOOST_TEST(exp.get("data.seed")->where == "dir/good.ini:9");
    BOOST_TEST(exp.get_all("train.metric").size() == 1u);
    BOOST_TEST(exp.get_all("train.callback").empty());
}

BOOST_AUTO_TEST_CASE(name_defaults_to_file_stem) {
    const auto exp = Experiment::parse("[train]\nepochs = 1\n", "examples/my_run.ini");
    BOOST_TEST(exp.name() == "my_run");
    BOOST_TEST(exp.path() == fs::path("examples/my_run.ini"));
}

BOOST_AUTO_TEST_CASE(overrides_replace_values) {
    auto exp = Experiment::parse(kGood, "good.ini");
    exp.apply_override("train.epochs=2");
    BOOST_TEST(exp.get("train.epochs")->value == "2");
    BOOST_TEST(exp.get("train.epochs")->where == "--set train.epochs=2");

    exp.apply_override(" model.layer = dense units=5 ");
    BOOST_TEST(values(exp.get_all("model.layer")) == (std::vector<std::string>{"dense units=5"}),
               boost::test_tools::per_element());

    exp.apply_override("train.batch_size=64");
    BOOST_TEST(exp.get_or("train.batch_size", "") == "64");

    exp.set("train.device", "cpu threads=2", "--device");
    BOOST_TEST(exp.get("train.device")->where == "--device");

    BOOST_TEST(override_error(exp, "foo") ==
               "--set foo: expected section.key=value (e.g. --set train.epochs=2)");
    BOOST_TEST(override_error(exp, "train.epochs=") ==
               "--set train.epochs=: expected section.key=value (e.g. --set train.epochs=2)");
    const std::string unknown = override_error(exp, "train.epochz=2");
    BOOST_TEST(unknown.rfind("--set train.epochz=2: unknown key 'train.epochz' (valid keys: ", 0) == 0u);
    BOOST_TEST(unknown.find("train.batch_size, train.bucket_bytes, train.callback,") !=
               std::string::npos);
    BOOST_TEST(unknown.find("; did you mean 'train.epochs'?)") != std::string::npos);
    const std::string bad_section = override_error(exp, "trian.epochs=2");
    BOOST_TEST(bad_section == "--set trian.epochs=2: unknown key 'trian.epochs' (valid sections: "
                              "data, experiment, model, train; did you mean 'train.epochs'?)");
    BOOST_TEST(exp.get("train.epochs")->value == "2");  // failed overrides change nothing
}

BOOST_AUTO_TEST_CASE(reports_syntax_errors_with_line) {
    BOOST_TEST(parse_error("[train]\nepochs = 2\nbatch_size 64\n") ==
               "exp.ini:3: syntax error: expected 'key = value' or '[section]', found "
               "'batch_size 64'");
    BOOST_TEST(parse_error("\n\n[train\n") ==
               "exp.ini:3: syntax error: expected 'key = value' or '[section]', found '[train'");
    BOOST_TEST(parse_error("[train]\n = 5\n") ==
               "exp.ini:2: syntax error: expected 'key = value' or '[section]', found '= 5'");
    BOOST_TEST(parse_error("epochs = 1\n").rfind("exp.ini:1: key 'epochs' before any section", 0) ==
               0u);
}

BOOST_AUTO_TEST_CASE(reports_unknown_sections_and_keys) {
    BOOST_TEST(parse_error("[data]\nseed = 1\n\n[trian]\nepochs = 2\n", "a/b.ini") ==
               "a/b.ini:4: unknown section [trian] (valid: data, experiment, model, train; did "
               "you mean [train]?)");
    BOOST_TEST(parse_error("[zzzzzzzz]\n") ==
               "exp.ini:1: unknown section [zzzzzzzz] (valid: data, experiment, model, train)");
    BOOST_TEST(parse_error("[train]\nepochs = 2\n; note\nepochz = 3\n") ==
               "exp.ini:4: unknown key 'epochz' in [train] (valid: batch_size, bucket_bytes, "
               "callback, device, epochs, layer_optimizer, metric, optimizer, overlap_allreduce, "
               "seed, verbose; did you mean 'epochs'?)");
    BOOST_TEST(parse_error("[model]\nlayers = relu\n") ==
               "exp.ini:2: unknown key 'layers' in [model] (valid: freeze, init_from, layer, loss; "
               "did you mean 'layer'?)");
}

BOOST_AUTO_TEST_CASE(reports_duplicates_and_empty_values) {
    BOOST_TEST(parse_error("[train]\nepochs = 2\nbatch_size = 8\nepochs = 3\n") ==
               "exp.ini:4: duplicate key 'epochs' in [train] (first set at exp.ini:2; only "
               "data.transform, model.layer, train.layer_optimizer, train.metric, train.callback may repeat)");
    BOOST_TEST(parse_error("[data]\ntrain =   ; nothing\n") ==
               "exp.ini:2: empty value for 'train' in [data]");
    // The same key in two [train] blocks is still a duplicate.
    BOOST_TEST(parse_error("[train]\nseed = 1\n[data]\nseed = 2\n[train]\nseed = 3\n")
                   .rfind("exp.ini:6: duplicate key 'seed' in [train]", 0) == 0u);
}

// Issue 18: repeated --set for a list key kept only the last value, silently.
BOOST_AUTO_TEST_CASE(repeated_overrides_of_a_list_key_build_the_list_in_order) {
    auto exp = Experiment::parse(kGood, "good.ini");
    exp.apply_override("model.layer=dense units=64");
    exp.apply_override("model.layer=relu");
    exp.apply_override("train.metric=f1 average=macro");
    exp.apply_override("model.layer=dense units=3");
    exp.apply_override("train.metric=f1 average=micro");
    BOOST_TEST(values(exp.get_all("model.layer")) ==
                   (std::vector<std::string>{"dense units=64", "relu", "dense units=3"}),
               boost::test_tools::per_element());
    BOOST_TEST(values(exp.get_all("train.metric")) ==
                   (std::vector<std::string>{"f1 average=macro", "f1 average=micro"}),
               boost::test_tools::per_element());
    BOOST_TEST(exp.get_all("model.layer")[1].where == "--set model.layer=relu");
    // A scalar key still takes the last value.
    exp.apply_override("train.epochs=3");
    exp.apply_override("train.epochs=4");
    BOOST_TEST(values(exp.get_all("train.epochs")) == (std::vector<std::string>{"4"}),
               boost::test_tools::per_element());
    // An appended value is checked like the first one.
    BOOST_TEST(override_error(exp, "model.layer=relu # x").find("comment marker") !=
               std::string::npos);
    BOOST_TEST(values(exp.get_all("model.layer")).size() == 3u);
}

BOOST_AUTO_TEST_CASE(resolved_text_round_trips) {
    auto exp = Experiment::parse(kGood, "good.ini");
    exp.apply_override("train.epochs=7");
    exp.apply_override("train.metric=f1 average=macro");
    const std::string text = exp.resolved_text();
    BOOST_TEST(text ==
               "[experiment]\nname = fashion_mlp\n\n"
               "[data]\ntrain = idx:/usr/share/datasets/fashion-mnist/train\n"
               "validation = 0.1 stratified\nseed = 42\n\n"
               "[model]\nlayer = dense units=256 init=he_normal\nlayer = relu\n"
               "layer = dense units=10\nloss = softmax_cross_entropy\n\n"
               "[train]\noptimizer = adam lr=1e-3\nepochs = 7\nmetric = f1 average=macro\n");

    const auto again = Experiment::parse(text, "resolved.ini");
    BOOST_TEST(again.resolved_text() == text);
    for (const auto& key : Experiment::known_keys())
        BOOST_TEST(values(again.get_all(key)) == values(exp.get_all(key)), key);
    BOOST_TEST(again.get("train.epochs")->where == "resolved.ini:17");
}

BOOST_AUTO_TEST_CASE(knows_its_keys) {
    const auto keys = Experiment::known_keys();
    BOOST_TEST(keys.size() == 31u);
    BOOST_TEST(std::is_sorted(keys.begin(), keys.end()));
    BOOST_TEST(keys.front() == "data.classes");
    BOOST_TEST(Experiment::is_list_key("data.transform"));
    BOOST_TEST(Experiment::is_list_key("model.layer"));
    BOOST_TEST(Experiment::is_list_key("train.metric"));
    BOOST_TEST(Experiment::is_list_key("train.callback"));
    BOOST_TEST(!Experiment::is_list_key("train.epochs"));
    BOOST_TEST(!Experiment::is_list_key("nonsense"));
}

BOOST_AUTO_TEST_CASE(loads_files) {
    const fs::path dir = fs::temp_directory_path() /
                         ("plexus_test_experiment_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path file = dir / "from_disk.ini";
    {
        std::ofstream out(file);
        out << "[train]\r\nepochs = 4\r\n";  // CRLF line ends are accepted
    }
    const auto exp = Experiment::load(file);
    BOOST_TEST(exp.get("train.epochs")->value == "4");
    BOOST_TEST(exp.get("train.epochs")->where == file.string() + ":2");
    BOOST_TEST(exp.name() == "from_disk");
    BOOST_TEST(exp.path() == file);

    try {
        Experiment::load(dir / "missing.ini");
        BOOST_FAIL("no error for a missing file");
    } catch (const ConfigError& e) {
        BOOST_TEST(std::string(e.what()) == (dir / "missing.ini").string() +
                                                ": cannot read (no such file)");
    }
    fs::remove_all(dir);
}

// Values are typed and checked against the key table once; unset keys take its defaults.
BOOST_AUTO_TEST_CASE(settings_take_the_table_defaults_and_check_ranges) {
    using plexus::core::read_settings;
    const auto defaults = read_settings(Experiment::parse("[data]\nseed = 7\n", "exp.ini"));
    BOOST_TEST(defaults.data.seed == 7u);
    BOOST_TEST(defaults.train.seed == 7u);  // train.seed defaults to data.seed
    BOOST_TEST(defaults.train.batch_size == 32u);
    BOOST_TEST(defaults.train.epochs == 1u);
    BOOST_TEST(defaults.data.prefetch);
    BOOST_TEST(defaults.data.divide == 255.0f);
    BOOST_TEST(defaults.train.device.value == "cpu");
    BOOST_TEST_REQUIRE(defaults.train.metrics.size() == 1u);
    BOOST_TEST(defaults.train.metrics[0].value == "accuracy");
    BOOST_TEST(defaults.model.loss.value == "softmax_cross_entropy");
    BOOST_TEST(!defaults.data.train.has_value());

    const auto full = read_settings(Experiment::parse("[train]\nbatch_size = full\nseed = 3\n", "exp.ini"));
    BOOST_TEST(full.train.batch_size == 0u);
    BOOST_TEST(full.train.seed == 3u);
    BOOST_TEST(full.data.seed == 42u);

    // Seeds above 2^53 are kept exactly (a double would round these two to one value), and
    // whole numbers written otherwise still count.
    const auto big = read_settings(Experiment::parse(
        "[data]\nseed = 3000000000000000001\n[train]\nseed = 3000000000000000002\nepochs = 1e1\n",
        "exp.ini"));
    BOOST_TEST(big.data.seed == 3000000000000000001u);
    BOOST_TEST(big.train.seed == 3000000000000000002u);
    BOOST_TEST(big.train.epochs == 10u);

    auto error = [](const std::string& text) {
        try {
            read_settings(Experiment::parse(text, "exp.ini"));
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    BOOST_TEST(error("[train]\nepochs = 2.5\n") == "exp.ini:2: train.epochs must be an integer in [1, 1000000], found '2.5'");
    BOOST_TEST(error("[train]\n\nbatch_size = fulll\n") ==
               "exp.ini:3: train.batch_size must be an integer in [1, 1048576], found 'fulll' (or 'full' for batch "
               "gradient descent)");
    BOOST_TEST(error("[data]\ndivide = 0\n") == "exp.ini:2: data.divide must be a number in [1e-30, 1e+30], found '0'");
    BOOST_TEST(error("[data]\nprefetch = yes\n") == "exp.ini:2: data.prefetch must be true or false, found 'yes'");
}
