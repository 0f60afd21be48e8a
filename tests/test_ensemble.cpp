// Ensembles on members whose probabilities are known by construction (a dense layer with zero
// weights and bias log(p) predicts p for every sample), so every combined value below is
// computed by hand; members that disagree; the saved ensemble read back by predict and
// evaluate, and damaged ensemble files.
#define BOOST_TEST_MODULE ensemble
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "plexus/core/data/readers/sources.hpp"
#include "plexus/core/modelfile/ensemble.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/plexus.hpp"
#include "reader_files.hpp"

namespace fs = std::filesystem;
using namespace plexus;
using plexus::test::check_has;
using plexus::test::error_of;
using plexus::test::read_text;
using plexus::test::run_plexus;
using plexus::test::write_text;

namespace {

// A one-dense-layer model over `features` inputs whose output is `bias` for every sample.
fs::path constant_model(const fs::path& file, const std::vector<float>& bias,
                        core::ModelCard card) {
    core::Registry registry;
    auto device = registry.create_as<Device>("cpu");
    core::Sequential model;
    const std::string dense = "dense units=" + std::to_string(bias.size());
    model.add(registry.create_as<Layer>(dense), "dense");
    model.build(Shape{1, card.input_shape.numel()}, *device, 0);
    std::vector<core::HostTensor> tensors;
    for (const auto& w : model.weights())
        tensors.push_back({w.name, w.value.shape(),
                           w.value.shape().rank() == 1 ? bias
                                                       : std::vector<float>(w.value.numel(), 0.f)});
    card.layers = {dense};
    core::write_safetensors(file, tensors, card.to_metadata());
    return file;
}

core::ModelCard class_card(std::vector<std::string> names = {"a", "b", "c"}, std::size_t f = 4) {
    core::ModelCard c;
    c.experiment = "constant";
    c.loss = "softmax_cross_entropy";
    c.input_shape = Shape{f};
    c.classes = names.size();
    c.class_names = std::move(names);
    return c;
}

std::vector<float> logs(std::vector<float> p) {
    for (float& v : p) v = std::log(v);
    return p;
}

// A: (0.9, 0.05, 0.05) -> a; B and C: (0.3, 0.4, 0.3) -> b. Every sample's label is b.
struct Members {
    plexus::test::TempDir tmp{"ensemble"};
    core::Registry registry;
    fs::path a = constant_model(tmp / "a.safetensors", logs({0.9f, 0.05f, 0.05f}), class_card());
    fs::path b = constant_model(tmp / "b.safetensors", logs({0.3f, 0.4f, 0.3f}), class_card());
    fs::path c = constant_model(tmp / "c.safetensors", logs({0.3f, 0.4f, 0.3f}), class_card());
    std::string data = "csv:" + (tmp / "data.csv").string() + " label=label";
    Members() { write_text(tmp / "data.csv", "f1,f2,f3,f4,label\n1,2,3,4,b\n4,3,2,1,b\n0,0,0,1,b\n"); }

    std::unique_ptr<core::Ensemble> make(const std::vector<fs::path>& files,
                                         const std::string& method,
                                         std::vector<double> weights = {}) const {
        std::vector<std::unique_ptr<core::SavedModel>> m;
        std::vector<std::string> names;
        for (const auto& f : files) {
            m.push_back(core::load_model(f, registry, "cpu", 2));
            names.push_back(f.string());
        }
        return core::make_ensemble(std::move(m), names, method, std::move(weights));
    }
    std::vector<float> predict(core::Ensemble& e) const {
        const core::Dataset d = core::load_dataset(data, {}, "", nullptr);
        std::vector<std::uint32_t> ids = {0, 1, 2};
        std::vector<float> out;
        e.predict(d, ids, out);
        return out;
    }
    std::string cli(const std::string& args) const {
        return "ensemble '" + a.string() + "' '" + b.string() + "' '" + c.string() +
               "' --data '" + data + "' " + args;
    }
};

// The table row that starts with `start`.
std::string line_of(const std::string& out, const std::string& start) {
    const std::size_t at = out.find(start);
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
}

void check_rows(const std::vector<float>& got, const std::vector<float>& row) {
    BOOST_REQUIRE_EQUAL(got.size(), 3 * row.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        BOOST_TEST(std::abs(got[i] - row[i % row.size()]) < 1e-5, i << ": " << got[i]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(average_vote_and_weighted_by_hand) {
    Members m;
    // (0.9 + 0.3 + 0.3) / 3, (0.05 + 0.4 + 0.4) / 3, (0.05 + 0.3 + 0.3) / 3
    check_rows(m.predict(*m.make({m.a, m.b, m.c}, "average")), {0.5f, 0.85f / 3, 0.65f / 3});
    // one vote for a, two for b
    check_rows(m.predict(*m.make({m.a, m.b, m.c}, "vote")), {1.f / 3, 2.f / 3, 0.f});
    // weights 1:2:2 -> (0.9 + 0.6 + 0.6) / 5, (0.05 + 0.8 + 0.8) / 5, (0.05 + 0.6 + 0.6) / 5
    check_rows(m.predict(*m.make({m.a, m.b, m.c}, "weighted", {1, 2, 2})), {0.42f, 0.33f, 0.25f});
    // a tie: one vote each for a and b; the lowest class id (a) wins
    check_rows(m.predict(*m.make({m.a, m.b}, "vote")), {0.5f, 0.5f, 0.f});
}

BOOST_AUTO_TEST_CASE(one_table_of_members_and_ensemble) {
    Members m;
    // A says a (wrong on every sample), B and C say b (right); the average says a (0.5), the
    // vote b.
    auto r = run_plexus(m.cli("--method average"));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("accuracy") != std::string::npos, r.out);
    BOOST_TEST(line_of(r.out, m.a.string()).find(" 0.0000") != std::string::npos, r.out);
    BOOST_TEST(line_of(r.out, m.b.string()).find(" 1.0000") != std::string::npos, r.out);
    BOOST_TEST(line_of(r.out, "ensemble (average)").find(" 0.0000") != std::string::npos, r.out);
    r = run_plexus(m.cli("--method vote --out '" + (m.tmp / "ens").string() + "'"));
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(line_of(r.out, "ensemble (vote)").find(" 1.0000") != std::string::npos, r.out);

    // The saved ensemble predicts what the one in memory does, and evaluates the same.
    r = run_plexus("predict '" + (m.tmp / "ens").string() + "' --data '" + m.data + "' --out '" +
                   (m.tmp / "p.csv").string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("accuracy against the labels 1.0000") != std::string::npos, r.out);
    BOOST_TEST(read_text(m.tmp / "p.csv") ==
               "index,label,predicted,class,p_a,p_b,p_c\n0,1,1,b,0.333333,0.666667,0\n"
               "1,1,1,b,0.333333,0.666667,0\n2,1,1,b,0.333333,0.666667,0\n");
    r = run_plexus("evaluate '" + (m.tmp / "ens" / "ensemble.json").string() + "' --data '" +
                   m.data + "' --json");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("\"accuracy\": 1.0") != std::string::npos, r.out);
}

// Each member's device prints its op table (PLEXUS_PROFILE): one forward product per member
// for the whole table — its own row and the ensemble's come from the same pass (3 samples,
// one batch), where the ensemble's row used to run every member again.
BOOST_AUTO_TEST_CASE(each_member_runs_once_for_the_table) {
    Members m;
    const auto r = run_plexus(m.cli("--method average"), "PLEXUS_PROFILE=1");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(line_of(r.out, "ensemble (average)").find(" 0.0000") != std::string::npos, r.out);
    std::size_t tables = 0, forward_calls = 0;
    for (std::size_t at = 0; (at = r.err.find("device profile", at)) != std::string::npos; ++at)
        ++tables;
    const std::string key = "gemm NN 3x3x4";
    for (std::size_t at = 0; (at = r.err.find(key, at)) != std::string::npos; at += key.size()) {
        forward_calls += std::strtoul(r.err.c_str() + at + key.size(), nullptr, 10);
    }
    BOOST_TEST(tables == 3u, r.err);
    BOOST_TEST(forward_calls == 3u, r.err);
}

// evaluate_outputs on the members' own outputs gives what evaluate and predict give.
BOOST_AUTO_TEST_CASE(evaluate_outputs_combines_given_member_outputs) {
    Members m;
    const std::vector<std::uint32_t> ids = {0, 1, 2};
    for (const std::string method : {"average", "vote", "weighted"}) {
        auto e = m.make({m.a, m.b, m.c}, method, method == "weighted" ? std::vector<double>{1, 2, 2}
                                                                       : std::vector<double>{});
        const core::Dataset reference = e->reference();  // label b is the models' class 1
        const core::Dataset d = core::load_dataset(m.data, {}, "", &reference);
        std::vector<std::vector<float>> outputs(3);
        for (std::size_t i = 0; i < 3; ++i) e->members[i]->predict(d, ids, outputs[i]);
        const auto accuracy = [&](auto&& run) {
            std::vector<std::shared_ptr<Metric>> metrics{m.registry.create_as<Metric>("accuracy")};
            std::vector<float> out;
            run(metrics, out);
            return std::make_pair(metrics.front()->result().front().second, out);
        };
        const auto [given, given_out] = accuracy([&](const auto& metrics, auto& out) {
            e->evaluate_outputs(d, ids, outputs, metrics, &out);
        });
        const auto [ran, ran_out] = accuracy([&](const auto& metrics, auto& out) {
            e->evaluate(d, ids, metrics, &out);
        });
        BOOST_TEST(given == ran, method);
        BOOST_TEST(given_out == ran_out, boost::test_tools::per_element());
        // vote says b, right on every sample; the average (0.5 for a) and the 1:2:2 weights
        // (0.42 for a) say a, wrong on every one
        BOOST_TEST(given == (method == "vote" ? 1.0 : 0.0), method << ": " << given);
    }
    auto e = m.make({m.a, m.b}, "average");
    const core::Dataset reference = e->reference();
    const core::Dataset d = core::load_dataset(m.data, {}, "", &reference);
    std::vector<std::vector<float>> one(1, std::vector<float>(9, 0.5f));
    BOOST_CHECK_THROW(e->evaluate_outputs(d, ids, one, {}, nullptr), Error);
    one.resize(2, std::vector<float>(6, 0.5f));  // the second has the wrong size
    BOOST_CHECK_THROW(e->evaluate_outputs(d, ids, one, {}, nullptr), Error);
}

BOOST_AUTO_TEST_CASE(regression_members_average) {
    plexus::test::TempDir tmp{"ensemble_values"};
    core::ModelCard card;
    card.experiment = "constant";
    card.loss = "mse";
    card.input_shape = Shape{2};
    card.target = "values";
    card.target_names = {"y"};
    const fs::path two = constant_model(tmp / "two.safetensors", {2.f}, card);
    const fs::path six = constant_model(tmp / "six.safetensors", {6.f}, card);
    write_text(tmp / "d.csv", "x1,x2,y\n1,2,4\n3,4,5\n");
    // two is off by 2 and 3 (mae 2.5), six by 2 and 1 (1.5); their average 4 by 0 and 1 (0.5).
    const auto r = run_plexus("ensemble '" + two.string() + "' '" + six.string() + "' --data 'csv:" +
                              (tmp / "d.csv").string() + " target=y' --metric mae");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(line_of(r.out, two.string()).find(" 2.5000") != std::string::npos, r.out);
    BOOST_TEST(line_of(r.out, six.string()).find(" 1.5000") != std::string::npos, r.out);
    BOOST_TEST(line_of(r.out, "ensemble (average)").find(" 0.5000") != std::string::npos, r.out);
    const auto v = run_plexus("ensemble '" + two.string() + "' '" + six.string() +
                              "' --method vote --data 'csv:" + (tmp / "d.csv").string() +
                              " target=y'");
    BOOST_TEST(v.exit_code == 1, v.err);
    BOOST_TEST(v.err.find("vote needs class predictions") != std::string::npos, v.err);
}

BOOST_AUTO_TEST_CASE(members_that_disagree_are_named) {
    Members m;
    const fs::path other =
        constant_model(m.tmp / "other.safetensors", logs({0.5f, 0.25f, 0.25f}),
                       class_card({"a", "b", "x"}));
    const fs::path wide =
        constant_model(m.tmp / "wide.safetensors", logs({0.5f, 0.25f, 0.25f}), class_card({"a", "b", "c"}, 5));
    for (const auto& [bad, what] : std::vector<std::pair<fs::path, std::string>>{
             {other, "classes a, b, c against a, b, x"}, {wide, "samples [4] against [5]"}}) {
        const std::string msg = error_of<DataError>([&] { m.make({m.a, bad}, "average"); });
        check_has(msg, {m.a.string(), bad.string(), what});
        const auto r = run_plexus("ensemble '" + m.a.string() + "' '" + bad.string() +
                                  "' --data '" + m.data + "'");
        BOOST_TEST(r.exit_code == 1, r.err);
        BOOST_TEST(r.err.find(what) != std::string::npos, r.err);
    }
    BOOST_TEST(error_of<ConfigError>([&] { m.make({m.a, m.b}, "weighted", {1}); })
                   .find("1 weights for 2 members") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_ensemble_files) {
    Members m;
    const fs::path dir = m.tmp / "bad";
    fs::create_directories(dir);
    fs::copy_file(m.a, dir / "member_1.safetensors");
    const std::string member = R"({"file": "member_1.safetensors", "weight": 1})";
    const auto with = [&](const std::string& members, const std::string& method = "average") {
        return R"({"format": "plexus-ensemble", "version": 1, "method": ")" + method +
               R"(", "members": [)" + members + "]}";
    };
    std::string many;
    for (int i = 0; i < 65; ++i) many += (i ? "," : "") + member;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"not json {", "not a JSON object"},
        {std::string(2u << 20, ' '), "larger than"},
        {with(member, "median"), "is not average, vote or weighted"},
        {with(""), "1 to 64 members"},
        {with(many), "1 to 64 members"},
        {with(R"({"file": "../a.safetensors", "weight": 1})"), "not a plain NAME.safetensors"},
        {with(R"({"file": "/etc/passwd.safetensors", "weight": 1})"), "not a plain"},
        {with(R"({"file": "member_1.safetensors", "weight": -1})"), "weight is not a finite"},
        {with(R"({"file": "member_1.safetensors", "weight": 1e400})"), "not a JSON object"},
        {with(R"({"file": "member_1.safetensors"})"), "is not {\"file\""},
        {with(R"({"file": "missing.safetensors", "weight": 1})"), "no such model"},
        {R"({"format": "plexus-ensemble", "version": 2, "method": "vote", "members": []})",
         "\"version\" is not 1"},
        {std::string(100000, '['), "not a JSON object"},
        {R"({"format": "plexus-ensemble", "version": 1, "method": "vote", "members": [], "x": 1})",
         "unknown key 'x'"},
        {with(R"({"file": "member_1.safetensors", "weight": 0})", "weighted"), "sum to 0"},
    };
    for (const auto& [text, phrase] : cases) {
        write_text(dir / "ensemble.json", text);
        const auto r = run_plexus("predict '" + dir.string() + "' --data '" + m.data +
                                  "' --out '" + (m.tmp / "p.csv").string() + "'");
        BOOST_TEST(r.exit_code == 1, phrase << ": " << r.err);
        BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err.substr(0, 300));
        BOOST_TEST(r.err.find(phrase) != std::string::npos, phrase << ": " << r.err.substr(0, 300));
        BOOST_TEST(!fs::exists(m.tmp / "p.csv"));
    }
}

BOOST_AUTO_TEST_CASE(out_never_takes_over_a_run_folder_nor_loses_a_member) {
    Members m;
    // A run folder (it holds a model and a history) is refused and left as it was.
    const fs::path run = m.tmp / "run";
    fs::create_directories(run);
    fs::copy_file(m.a, run / "model.safetensors");
    write_text(run / "history.csv", "epoch,loss\n1,0.5\n");
    auto r = run_plexus(m.cli("--out '" + run.string() + "'"));
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(r.out.find("ensemble (") == std::string::npos, r.out);  // refused before the work
    check_has(r.err.substr(0, r.err.find_last_not_of('\n') + 1),
              {run.string(), "new or empty folder"});
    BOOST_TEST(!fs::exists(run / "ensemble.json"));
    BOOST_TEST(!fs::exists(run / "member_1.safetensors"));

    // Re-saving an ensemble into its own folder with its members swapped: each member is read
    // before member_1 is replaced, so the two files trade places intact.
    const fs::path ens = m.tmp / "ens";
    r = run_plexus("ensemble '" + m.a.string() + "' '" + m.b.string() + "' --data '" + m.data +
                   "' --out '" + ens.string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const std::string one = read_text(ens / "member_1.safetensors");
    const std::string two = read_text(ens / "member_2.safetensors");
    BOOST_REQUIRE(one != two);
    r = run_plexus("ensemble '" + (ens / "member_2.safetensors").string() + "' '" +
                   (ens / "member_1.safetensors").string() + "' --data '" + m.data + "' --out '" +
                   ens.string() + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(read_text(ens / "member_1.safetensors") == two);
    BOOST_TEST(read_text(ens / "member_2.safetensors") == one);
}

BOOST_AUTO_TEST_CASE(weighted_reads_each_members_best_epoch) {
    // A member's model file holds its best epoch's weights, so its weight is that epoch's
    // val_accuracy (history.csv at metrics.json's best_epoch), not the last epoch's.
    Members m;
    const auto run = [&](const std::string& name, const fs::path& model, const std::string& hist,
                         int best, double last) {
        const fs::path dir = m.tmp / name;
        fs::create_directories(dir);
        fs::copy_file(model, dir / "model.safetensors");
        write_text(dir / "experiment.ini", "[experiment]\nname = " + name + "\n");
        write_text(dir / "history.csv", "epoch,loss,val_loss,val_accuracy\n" + hist);
        write_text(dir / "metrics.json",
                   "{\"best_epoch\": " + std::to_string(best) +
                       ", \"final_epoch\": {\"val_accuracy\": " + std::to_string(last) + "}}");
        return (dir / "model.safetensors").string();
    };
    const std::string a = run("ra", m.a, "1,1,1,0.2\n2,0.5,0.5,0.75\n3,0.4,0.9,0.5\n", 2, 0.5);
    const std::string b = run("rb", m.b, "1,1,1,0.25\n2,0.5,0.6,0.6\n", 1, 0.6);
    auto r = run_plexus("ensemble '" + a + "' '" + b + "' --method weighted --data '" + m.data +
                        "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(r.out.find("at its best epoch") != std::string::npos, r.out);
    BOOST_TEST(line_of(r.out, a).find(" 0.7500") != std::string::npos, r.out);
    BOOST_TEST(line_of(r.out, b).find(" 0.2500") != std::string::npos, r.out);
    // Without a history row for the best epoch the last epoch's value is what there is: the
    // weights 0.75 and 0.6, shown normalised (0.75 / 1.35, 0.6 / 1.35).
    write_text(m.tmp / "rb" / "history.csv", "epoch,loss\n1,1\n");
    r = run_plexus("ensemble '" + a + "' '" + b + "' --method weighted --data '" + m.data + "'");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    BOOST_TEST(line_of(r.out, a).find(" 0.5556") != std::string::npos, r.out);
    BOOST_TEST(line_of(r.out, b).find(" 0.4444") != std::string::npos, r.out);
}
