// Transfer learning through the `plexus` binary: [model] init_from copies a saved model's
// layers (hand-checked against the source file's tensors), freeze keeps layers bit-identical
// while the others train, the unfreeze callback makes them train again, a resumed run neither
// copies again nor forgets what unfreeze did, and every bad input is one line. Then
// [train] layer_optimizer (parameter groups: a backbone's own rate or optimizer), hand-checked
// on the core class and through the binary.
#define BOOST_TEST_MODULE transfer
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>

#include "cli.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/core/training/layer_optimizers.hpp"
#include "plexus/testing.hpp"
#include "support/child_run.hpp"

namespace fs = std::filesystem;
using namespace plexus::test;

namespace {

/// 600 samples of `features` features in 3 classes, from a fixed generator.
fs::path write_data(const fs::path& dir, int features = 8) {
    std::uint64_t s = 777;
    auto next = [&] {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<double>(s >> 11) / 9007199254740992.0;
    };
    std::ostringstream csv;
    for (int f = 0; f < features; ++f) csv << "x" << f << ",";
    csv << "y\n";
    for (int i = 0; i < 600; ++i) {
        double sum = 0;
        for (int f = 0; f < features; ++f) {
            const double v = next() * 2 - 1;
            sum += f % 2 ? v : -0.5 * v;
            csv << v << ",";
        }
        csv << (sum < -0.4 ? 0 : sum < 0.4 ? 1 : 2) << "\n";
    }
    const fs::path file = dir / ("data" + std::to_string(features) + ".csv");
    std::ofstream(file) << csv.str();
    return file;
}

constexpr const char* kLayers =
    "layer = dense units=16\nlayer = batchnorm\nlayer = relu\nlayer = dense units=3\n";

/// `layers` (dense(16) batchnorm relu dense(3)) on `features` features; `model` and `train`
/// add lines to their sections.
fs::path write_experiment(const fs::path& dir, const std::string& name, const std::string& model,
                          const std::string& train = "", int features = 8,
                          const std::string& layers = kLayers) {
    const fs::path file = dir / (name + ".ini");
    std::ofstream(file) << "[experiment]\nname = " << name << "\n[data]\ntrain = csv:"
                        << write_data(dir, features).string()
                        << " label=y\nvalidation = 0.2\ntransform = standardize\nseed = 5\n"
                        << "[model]\n" << layers << model << "[train]\noptimizer = adam lr=0.01\nbatch_size = 32\n"
                        << "epochs = 2\nverbose = 0\n" << train;
    return file;
}

fs::path train(const fs::path& exp, const fs::path& out, const std::string& set = "") {
    std::vector<std::string> args{"train", exp.string(), "--out", out.string()};
    if (!set.empty()) args.insert(args.end(), {"--set", set});
    const int code = wait_exit(spawn_plexus(args, out.string() + ".log"));
    BOOST_TEST_REQUIRE(code == 0, slurp(out.string() + ".log"));
    return only_run(out);
}

std::map<std::string, std::vector<float>> tensors(const fs::path& file) {
    std::map<std::string, std::vector<float>> out;
    for (auto& t : plexus::core::read_safetensors(file).tensors) out[t.name] = t.values;
    return out;
}

/// The source model every case starts from, trained once.
struct Source {
    TempDir dir{"transfer"};
    fs::path run = train(write_experiment(dir.path, "source", ""), dir / "source");
    std::map<std::string, std::vector<float>> weights = tensors(run / "model.safetensors");
};

Source& source() {
    static Source s;
    return s;
}

std::string one_line_error(const fs::path& exp, const std::string& set = "") {
    const auto r = run_plexus("train '" + exp.string() + "' --out '" +
                              (exp.parent_path() / "bad").string() + "'" +
                              (set.empty() ? "" : " --set '" + set + "'"));
    BOOST_TEST(r.exit_code != 0, r.out);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(!fs::exists(exp.parent_path() / "bad"), "a failed start left a run folder");
    return r.err;
}

}  // namespace

// init_from copies layers 0-1 (dense, batchnorm with its running statistics); freeze=0-1 keeps
// them bit-identical through two epochs while layer 3 trains; the seed differs from the
// source's, so without the copy layer 0 would hold other numbers.
BOOST_AUTO_TEST_CASE(init_from_copies_and_freeze_keeps_the_copied_layers) {
    Source& src = source();
    const fs::path exp = write_experiment(
        src.dir.path, "target",
        "init_from = " + src.run.string() + " layers=0-1\nfreeze = 0-1\n", "seed = 99\n");
    const fs::path run = train(exp, src.dir / "target");
    BOOST_TEST(slurp(src.dir.path.string() + "/target.log").find("init_from: copied layers 0-1") !=
               std::string::npos);
    auto got = tensors(run / "model.safetensors");
    for (const char* name : {"layer0.kernel", "layer0.bias", "layer1.gamma", "layer1.beta",
                             "layer1.moving_mean", "layer1.moving_variance"}) {
        BOOST_TEST_REQUIRE(got.count(name) == 1u, name);
        BOOST_TEST((got[name] == src.weights[name]), name << " is not the source's");
    }
    // Not copied, and trained: neither the source's values nor equal to each other's.
    BOOST_TEST((got["layer3.kernel"] != src.weights["layer3.kernel"]));
    // The source's running statistics moved during its training (momentum 0.99, 30 steps):
    // a frozen layer that updated them would not match above.
    BOOST_TEST((src.weights["layer1.moving_mean"] != std::vector<float>(16, 0.0f)));
}

// Without layers=, every layer of the same kind and shapes is copied, up to the first that
// differs: all four of the same architecture; 0-2 when a dropout comes in at 3.
BOOST_AUTO_TEST_CASE(default_matching_stops_at_the_first_layer_that_differs) {
    Source& src = source();
    const std::string from = "init_from = " + src.run.string() + "\n";
    const fs::path same = train(write_experiment(src.dir.path, "same", from), src.dir / "same");
    BOOST_TEST(slurp(src.dir.path.string() + "/same.log").find("init_from: copied layers 0-3 from") !=
               std::string::npos);
    (void)same;
    const std::string longer = std::string(kLayers).insert(std::string(kLayers).rfind("layer"),
                                                          "layer = dropout rate=0.1\n");
    train(write_experiment(src.dir.path, "longer", from + "freeze = 0-1\n", "", 8, longer),
          src.dir / "longer");
    const std::string log = slurp(src.dir.path.string() + "/longer.log");
    BOOST_TEST(log.find("init_from: copied layers 0-2 from") != std::string::npos, log);
    BOOST_TEST(log.find("layer 3 (dropout) differs: dense there") != std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(a_shape_mismatch_names_both_layers_both_shapes_and_the_file) {
    Source& src = source();
    const fs::path exp = write_experiment(
        src.dir.path, "narrow", "init_from = " + src.run.string() + " layers=0-1\n", "", 8,
        "layer = dense units=12\nlayer = batchnorm\nlayer = relu\nlayer = dense units=3\n");
    const std::string err = one_line_error(exp);
    BOOST_TEST(err.find("narrow.ini:") != std::string::npos, err);
    BOOST_TEST(err.find("layer 0 (dense) of " + (src.run / "model.safetensors").string() +
                        " holds layer0.kernel [8, 16] where layer 0 (dense) of this model holds "
                        "layer0.kernel [8, 12]") != std::string::npos,
               err);
}

BOOST_AUTO_TEST_CASE(bad_ranges_missing_files_and_other_inputs_are_one_line) {
    Source& src = source();
    const std::string from = "init_from = " + src.run.string();
    const fs::path& d = src.dir.path;
    BOOST_TEST(one_line_error(write_experiment(d, "b1", from + " layers=3-1\n")).find("runs backwards") !=
               std::string::npos);
    BOOST_TEST(one_line_error(write_experiment(d, "b2", from + " layers=0-7\n")).find("layer 7 does not exist") !=
               std::string::npos);
    BOOST_TEST(one_line_error(write_experiment(d, "b3", from + " layers=x\n")).find("'x'") !=
               std::string::npos);
    BOOST_TEST(one_line_error(write_experiment(d, "b4", from + " layer=1\n")).find("unknown option") !=
               std::string::npos);
    BOOST_TEST(one_line_error(write_experiment(d, "b5", "freeze = 0-4\n")).find("freeze: layer 4 does not exist") !=
               std::string::npos);
    BOOST_TEST(one_line_error(write_experiment(d, "b6", "freeze = -1\n")).find("not a list of indices") !=
               std::string::npos);
    BOOST_TEST(one_line_error(write_experiment(d, "b7", "init_from = nowhere\n")).find("no such model") !=
               std::string::npos);
    // A model for 6 features given to an experiment on 8.
    const std::string other = one_line_error(write_experiment(d, "b8", from + "\n", "", 6));
    BOOST_TEST(other.find("was trained on samples [8], this experiment's are [6]") != std::string::npos,
               other);
    // Kinds differ at an index layers= names.
    const std::string kind = one_line_error(write_experiment(
        d, "b9", from + " layers=0-2\n", "", 8,
        "layer = dense units=16\nlayer = dropout rate=0.1\nlayer = relu\nlayer = dense units=3\n"));
    BOOST_TEST(kind.find("layer 1 (batchnorm) of " + (src.run / "model.safetensors").string() +
                         " is not layer 1 (dropout) of this model") != std::string::npos,
               kind);
}

// unfreeze at epoch 2 of 3 (lr x0.5) on a model frozen at 0-1; interrupted after epoch 2 and
// resumed with the source gone: the resumed run must not copy again (the file is missing) and
// must train layers 0-1 in epoch 3 as the uninterrupted run did (bit-identical model).
BOOST_AUTO_TEST_CASE(unfreeze_trains_the_layers_again_and_survives_resume) {
    Source& src = source();
    TempDir dir("transfer-unfreeze");
    fs::copy(src.run, dir / "base", fs::copy_options::recursive);
    const std::string model = "init_from = " + (dir / "base").string() + " layers=0-1\nfreeze = 0-1\n";
    const std::string cb = "callback = unfreeze epoch=2 layers=0-1 lr_factor=0.5\n";
    const fs::path exp = write_experiment(dir.path, "fine", model, cb);
    const fs::path whole = train(exp, dir / "whole", "train.epochs=3");
    const auto history = slurp(whole / "history.csv");
    auto w = tensors(whole / "model.safetensors");
    BOOST_TEST((w["layer0.kernel"] != src.weights["layer0.kernel"]), "layer 0 never trained");
    BOOST_TEST((w["layer1.moving_mean"] != src.weights["layer1.moving_mean"]));
    // lr column: 0.01, then 0.005 from epoch 2 on.
    BOOST_TEST(history.find(",0.01,") != std::string::npos, history);
    BOOST_TEST(history.find(",0.005,") != std::string::npos, history);

    const fs::path part = train(exp, dir / "part", "train.epochs=2");
    fs::remove_all(dir / "base");
    // The new keys are part of the experiment --resume checks: another freeze is refused.
    const auto changed = run_plexus("train --resume '" + part.string() + "' --set model.freeze=0");
    BOOST_TEST(changed.exit_code != 0);
    BOOST_TEST(changed.err.find("model.freeze") != std::string::npos, changed.err);
    const int code = wait_exit(spawn_plexus({"train", "--resume", part.string(), "--set", "train.epochs=3"},
                                            part.string() + ".resume.log"));
    BOOST_TEST_REQUIRE(code == 0, slurp(part.string() + ".resume.log"));
    BOOST_TEST(without_seconds(slurp(part / "history.csv")) == without_seconds(history));
    BOOST_TEST((slurp(part / "model.safetensors") == slurp(whole / "model.safetensors")));
}

// Only freeze's effect, against a control: the same run without freeze changes layer 0.
BOOST_AUTO_TEST_CASE(without_freeze_the_copied_layers_train) {
    Source& src = source();
    const fs::path exp = write_experiment(src.dir.path, "unfrozen",
                                          "init_from = " + src.run.string() + " layers=0-1\n");
    auto got = tensors(train(exp, src.dir / "unfrozen") / "model.safetensors");
    BOOST_TEST((got["layer0.kernel"] != src.weights["layer0.kernel"]));
}

// [data] classes keeps the samples of the classes named, renumbered from 0; train_limit then
// takes its subset from them. The counts come from the CSV itself.
BOOST_AUTO_TEST_CASE(data_classes_keeps_the_chosen_classes_renumbered) {
    TempDir dir("transfer-classes");
    const fs::path exp = write_experiment(
        dir.path, "two", "", "", 8,
        "layer = dense units=16\nlayer = relu\nlayer = dense units=2\n");
    std::ifstream csv(dir / "data8.csv");
    std::string line;
    std::getline(csv, line);
    std::size_t chosen = 0;
    while (std::getline(csv, line)) chosen += line.back() != '0';
    const auto r = run_plexus("train '" + exp.string() + "' --out '" + (dir / "runs").string() +
                              "' --set data.classes=1-2 --set train.epochs=1");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    std::size_t train = 0, validation = 0;
    const auto at = r.out.find("data: ");
    BOOST_TEST_REQUIRE(at != std::string::npos, r.out);
    std::istringstream(r.out.substr(at + 6)) >> train >> line >> validation;
    BOOST_TEST(train + validation == chosen, r.out << " (" << chosen << " of classes 1-2)");
    BOOST_TEST(chosen < 600u);
    BOOST_TEST(r.out.find("; 2 classes") != std::string::npos, r.out);

    const auto limited = run_plexus("train '" + exp.string() + "' --out '" + (dir / "runs").string() +
                                    "' --set data.classes=1-2 --set data.train_limit=100 --set train.epochs=1");
    BOOST_TEST_REQUIRE(limited.exit_code == 0, limited.err);
    BOOST_TEST(limited.out.find("data: 80 train, 20 validation") != std::string::npos, limited.out);

    const auto bad = run_plexus("train '" + exp.string() + "' --out '" + (dir / "bad").string() +
                                "' --set data.classes=1-3");
    BOOST_TEST(bad.exit_code != 0);
    BOOST_TEST(bad.err.find("data.classes: class 3 does not exist") != std::string::npos, bad.err);
    BOOST_TEST(std::count(bad.err.begin(), bad.err.end(), '\n') == 1, bad.err);
}

// ---- [train] layer_optimizer

namespace {

using plexus::core::LayerOptimizers;

/// dense(3) relu dense(2) on 2 features, built; every parameter's gradient set to 0.5, 1, ...
struct Groups {
    plexus::core::Registry registry;
    std::shared_ptr<plexus::Device> device = registry.create_as<plexus::Device>("cpu");
    plexus::core::Sequential model;
    Groups() {
        model.add(registry.create_as<plexus::Layer>("dense units=3"), "dense");
        model.add(registry.create_as<plexus::Layer>("relu"), "relu");
        model.add(registry.create_as<plexus::Layer>("dense units=2"), "dense");
        model.build(plexus::Shape{4, 2}, *device, 7);
        float g = 0.5f, sign = 1.0f;
        for (plexus::Parameter* p : model.parameters()) {
            std::vector<float> grad(p->grad.numel());
            for (float& v : grad) v = (g += 0.25f) * (sign = -sign);
            device->upload(p->grad, grad);
        }
    }
    LayerOptimizers::Group group(const std::string& layers, const std::string& spec) {
        return {plexus::support::parse_index_ranges(layers, "test"), layers,
                registry.create_as<plexus::Optimizer>(spec), "test.ini:9: layer_optimizer"};
    }
    std::vector<std::vector<float>> values() {
        std::vector<std::vector<float>> all;
        for (plexus::Parameter* p : model.parameters())
            all.push_back(plexus::testing::to_host(*device, p->value));
        return all;
    }
    std::vector<std::vector<float>> grads() {
        std::vector<std::vector<float>> all;
        for (plexus::Parameter* p : model.parameters())
            all.push_back(plexus::testing::to_host(*device, p->grad));
        return all;
    }
};

/// A BOOST_CHECK_EXCEPTION predicate: the message contains `text`.
auto says(std::string text) {
    return [text = std::move(text)](const plexus::Error& e) {
        return std::string(e.what()).find(text) != std::string::npos;
    };
}

}  // namespace

// Layer 0 on plain SGD at 0.5, layer 2 on the main optimizer (SGD at 0.1): one step at the
// main rate moves each by its own rate times the gradient; a step at half the main rate (a
// schedule) halves both. Then Adam for layer 2: its first step is lr * g / (|g| + eps).
BOOST_AUTO_TEST_CASE(each_group_steps_at_its_own_rate_and_schedules_scale_all) {
    Groups t;
    auto main = t.registry.create_as<plexus::Optimizer>("sgd lr=0.1");
    std::vector<LayerOptimizers::Group> groups;
    groups.push_back(t.group("0", "sgd lr=0.5"));
    LayerOptimizers opt(main, std::move(groups), t.model);
    opt.build(t.model.parameters(), *t.device);
    BOOST_TEST(opt.learning_rate() == 0.1f);
    const auto w0 = t.values(), g = t.grads();
    const auto allocations = t.device->counters().allocations;
    opt.step(t.model.parameters(), 0.1f);
    opt.step(t.model.parameters(), 0.05f);
    BOOST_TEST(t.device->counters().allocations == allocations);
    const auto w = t.values();
    BOOST_TEST_REQUIRE(w.size() == 4u);  // kernel and bias of layers 0 and 2
    for (std::size_t k = 0; k < w.size(); ++k) {
        const float rate = t.model.parameter_layers()[k] == 0 ? 0.5f + 0.25f : 0.1f + 0.05f;
        for (std::size_t i = 0; i < w[k].size(); ++i)
            BOOST_TEST(w[k][i] == w0[k][i] - rate * g[k][i], boost::test_tools::tolerance(1e-6f));
    }

    Groups a;
    std::vector<LayerOptimizers::Group> adam;
    adam.push_back(a.group("2", "adam lr=0.01"));
    LayerOptimizers mixed(a.registry.create_as<plexus::Optimizer>("sgd lr=0.1"), std::move(adam),
                          a.model);
    mixed.build(a.model.parameters(), *a.device);
    const auto v0 = a.values(), ga = a.grads();
    mixed.step(a.model.parameters(), 0.1f);
    const auto v = a.values();
    for (std::size_t k = 0; k < v.size(); ++k)
        for (std::size_t i = 0; i < v[k].size(); ++i) {
            const float want = a.model.parameter_layers()[k] == 2
                                   ? v0[k][i] - 0.01f * ga[k][i] / (std::abs(ga[k][i]) + 1e-7f)
                                   : v0[k][i] - 0.1f * ga[k][i];
            BOOST_TEST(v[k][i] == want, boost::test_tools::tolerance(1e-5f));
        }
    // Both optimizers' state, the group's under its own prefix: no name twice.
    std::set<std::string> names;
    for (const auto& s : mixed.state()) BOOST_TEST(names.insert(s.name).second, s.name);
    BOOST_TEST(names.count("step") == 1u);
    BOOST_TEST(names.count("group1/step") == 1u);
    BOOST_TEST(names.count("group1/layer2.kernel.m") == 1u);
}

BOOST_AUTO_TEST_CASE(groups_that_overlap_miss_the_model_or_hold_no_parameters_are_refused) {
    Groups t;
    std::vector<LayerOptimizers::Group> overlap;
    overlap.push_back(t.group("0-1", "sgd"));
    overlap.push_back(t.group("1-2", "adam"));
    BOOST_CHECK_EXCEPTION(LayerOptimizers::check_groups(overlap, 3), plexus::ConfigError,
                          says("layer 1 already has an optimizer"));
    std::vector<LayerOptimizers::Group> beyond;
    beyond.push_back(t.group("2-3", "sgd"));
    BOOST_CHECK_EXCEPTION(LayerOptimizers::check_groups(beyond, 3), plexus::Error,
                          says("layer 3 does not exist"));
    std::vector<LayerOptimizers::Group> relu;
    relu.push_back(t.group("1", "sgd"));
    LayerOptimizers opt(t.registry.create_as<plexus::Optimizer>("sgd"), std::move(relu), t.model);
    BOOST_CHECK_EXCEPTION(opt.build(t.model.parameters(), *t.device), plexus::ConfigError,
                          says("test.ini:9: layer_optimizer: layers 1 hold no parameters"));
}

// Through the binary: layer 0 at a rate too small to move a float keeps its weights exactly
// as freeze = 0 does, while layer 3 trains the same in both; a run interrupted after epoch 1
// resumes into the same groups (bit-identical model); bad lines are one line each.
BOOST_AUTO_TEST_CASE(layer_optimizer_trains_resumes_and_refuses_bad_lines) {
    TempDir dir("transfer-groups");
    const std::string tiny = "layer_optimizer = 0: sgd lr=1e-30\n";
    const fs::path still = train(write_experiment(dir.path, "still", "", tiny), dir / "still");
    const fs::path frozen = train(write_experiment(dir.path, "frozen", "freeze = 0\n"), dir / "frozen");
    auto a = tensors(still / "model.safetensors"), b = tensors(frozen / "model.safetensors");
    BOOST_TEST((a["layer0.kernel"] == b["layer0.kernel"]));
    BOOST_TEST_REQUIRE(a["layer3.kernel"].size() == b["layer3.kernel"].size());
    for (std::size_t i = 0; i < a["layer3.kernel"].size(); ++i)
        BOOST_TEST(a["layer3.kernel"][i] == b["layer3.kernel"][i], boost::test_tools::tolerance(1e-4f));

    const std::string groups = "layer_optimizer = 0-1: sgd lr=0.05 momentum=0.9 nesterov=true\n";
    const fs::path exp = write_experiment(dir.path, "groups", "", groups);
    const fs::path whole = train(exp, dir / "whole", "train.epochs=3");
    BOOST_TEST((tensors(whole / "model.safetensors")["layer0.kernel"] != a["layer0.kernel"]));
    const fs::path part = train(exp, dir / "part", "train.epochs=1");
    const int code = wait_exit(spawn_plexus({"train", "--resume", part.string(), "--set", "train.epochs=3"},
                                            part.string() + ".resume.log"));
    BOOST_TEST_REQUIRE(code == 0, slurp(part.string() + ".resume.log"));
    BOOST_TEST(without_seconds(slurp(part / "history.csv")) == without_seconds(slurp(whole / "history.csv")));
    BOOST_TEST((slurp(part / "model.safetensors") == slurp(whole / "model.safetensors")));

    const std::pair<const char*, const char*> bad[] = {
        {"layer_optimizer = sgd lr=0.1\n", "names no layers"},
        {"layer_optimizer = 0-1: sgd\nlayer_optimizer = 1: adam\n", "layer 1 already has an optimizer"},
        {"layer_optimizer = 4: sgd\n", "layer_optimizer: layer 4 does not exist"},
        {"layer_optimizer = 2: sgd\n", "hold no parameters"},
        {"layer_optimizer = 0: sgdd lr=0.1\n", "sgdd"},
        {"layer_optimizer = 0: sgd lr=-1\n", "lr"}};
    int i = 0;
    for (const auto& [lines, says] : bad) {
        const std::string err =
            one_line_error(write_experiment(dir.path, "g" + std::to_string(++i), "", lines));
        BOOST_TEST(err.find(says) != std::string::npos, err);
    }
}
