// The diagnosis rules on histories: real runs of the example experiments (copied from their
// history.csv), then synthetic curves just above and just below every threshold.
#define BOOST_TEST_MODULE diagnose
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>

#include "plexus/core/reporting/diagnose.hpp"

using namespace plexus::core;

namespace {

using Row = std::array<double, 4>;  // loss, accuracy, val_loss, val_accuracy
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Columns as the trainer writes them (epoch, loss, accuracy, val_loss, val_accuracy, lr).
History run(const std::vector<Row>& rows, double lr = 0.001) {
    History h{{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}, {}};
    for (const auto& r : rows)
        h.rows.push_back({double(h.rows.size() + 1), r[0], r[1], r[2], r[3], lr, 1.0});
    return h;
}

/// Only losses (no metric): epoch, loss, val_loss.
History losses(const std::vector<std::array<double, 2>>& rows) {
    History h{{"epoch", "loss", "val_loss"}, {}};
    for (const auto& r : rows) h.rows.push_back({double(h.rows.size() + 1), r[0], r[1]});
    return h;
}

std::vector<std::string> kinds(const Diagnosis& d) {
    std::vector<std::string> k;
    for (const auto& f : d.findings) k.push_back(f.kind);
    return k;
}

bool has(const Diagnosis& d, const std::string& kind) {
    for (const auto& f : d.findings)
        if (f.kind == kind) return true;
    return false;
}

const Finding& get(const Diagnosis& d, const std::string& kind) {
    for (const auto& f : d.findings)
        if (f.kind == kind) return f;
    BOOST_ERROR("no finding " << kind << " in:\n" << d.to_text());
    static const Finding none;
    return none;
}

bool says(const std::vector<std::string>& lines, const std::string& text) {
    for (const auto& line : lines)
        if (line.find(text) != std::string::npos) return true;
    return false;
}

// examples/overfit_demo.ini, 40 epochs (2,000 training images, two 1024-unit layers).
const std::vector<Row> kOverfitDemo{
    {0.976114, 0.663, 0.73774, 0.736},    {0.579371, 0.797, 0.650452, 0.754},
    {0.437561, 0.839, 0.578291, 0.794},   {0.362332, 0.8715, 0.649063, 0.798},
    {0.404173, 0.85, 0.865673, 0.734},    {0.342678, 0.8845, 0.627873, 0.8},
    {0.284048, 0.897, 0.653408, 0.784},   {0.271111, 0.9075, 0.609011, 0.784},
    {0.271351, 0.897, 0.549978, 0.818},   {0.198256, 0.927, 0.587169, 0.822},
    {0.215083, 0.923, 0.676387, 0.79},    {0.156837, 0.9495, 0.681408, 0.796},
    {0.149313, 0.9425, 0.711037, 0.79},   {0.192761, 0.9355, 0.752155, 0.794},
    {0.217236, 0.915, 0.71309, 0.78},     {0.157543, 0.9415, 0.725894, 0.818},
    {0.209841, 0.927, 0.683205, 0.81},    {0.153036, 0.9465, 0.74614, 0.804},
    {0.14557, 0.9495, 0.655646, 0.808},   {0.0912012, 0.972, 0.780852, 0.792},
    {0.156314, 0.9415, 0.847953, 0.784},  {0.155897, 0.9455, 0.701047, 0.79},
    {0.106277, 0.9645, 0.732156, 0.81},   {0.0798285, 0.9735, 0.732283, 0.812},
    {0.0839729, 0.972, 0.88181, 0.804},   {0.0822125, 0.976, 0.85669, 0.802},
    {0.0789591, 0.974, 0.876631, 0.8},    {0.0919716, 0.9655, 0.965736, 0.772},
    {0.0942921, 0.9675, 0.822422, 0.804}, {0.0592, 0.981, 0.799862, 0.818},
    {0.0377465, 0.9885, 0.902376, 0.804}, {0.0445457, 0.985, 0.921752, 0.806},
    {0.0625092, 0.9765, 0.929986, 0.802}, {0.0735621, 0.973, 0.905464, 0.802},
    {0.0707002, 0.976, 0.981989, 0.804},  {0.0420081, 0.9855, 0.906258, 0.804},
    {0.0518424, 0.9805, 1.00031, 0.8},    {0.0298745, 0.9905, 0.924307, 0.824},
    {0.0210829, 0.9955, 0.960071, 0.81},  {0.0178294, 0.9955, 0.914238, 0.82}};

// A 784-1-10 MLP (one hidden unit), Adam 1e-3, 5,000 images, 5 epochs.
const std::vector<Row> kOneUnit{{2.18242, 0.201778, 2.13768, 0.208},
                                {2.09955, 0.206, 2.08708, 0.216},
                                {2.05553, 0.210889, 2.05296, 0.214},
                                {2.02313, 0.214667, 2.02241, 0.216},
                                {1.99257, 0.217333, 1.99224, 0.218}};

// examples/fashion_mlp.ini (SGD lr=0.15), 10 epochs: val_loss spikes at epochs 3 and 6.
const std::vector<Row> kFashionMlp{
    {0.625079, 0.777815, 0.486487, 0.829667}, {0.429755, 0.843611, 0.387389, 0.860667},
    {0.382604, 0.85887, 0.432233, 0.85},      {0.352953, 0.870593, 0.348411, 0.879333},
    {0.331318, 0.879519, 0.3402, 0.8765},     {0.313025, 0.884574, 0.40037, 0.8495},
    {0.302192, 0.886963, 0.317677, 0.889833}, {0.290008, 0.891741, 0.33493, 0.877},
    {0.278193, 0.896333, 0.33731, 0.879333},  {0.2717, 0.897852, 0.311519, 0.887}};

// fashion_mlp.ini with optimizer = adam lr=0.05: the training loss stalls near 0.72.
const std::vector<Row> kAdamTooHigh{
    {1.47336, 0.58637, 0.852562, 0.665667},   {0.749851, 0.722407, 0.681538, 0.754333},
    {0.759589, 0.723593, 0.684082, 0.751833}, {0.716878, 0.747907, 0.762708, 0.736},
    {0.728052, 0.741167, 0.922444, 0.696167}, {0.729557, 0.74463, 0.706831, 0.770667},
    {0.686885, 0.762815, 0.736018, 0.756667}, {0.724108, 0.749278, 0.685311, 0.7815},
    {0.710652, 0.726704, 0.714073, 0.742},    {0.70878, 0.717056, 0.745401, 0.7165}};

// examples/fashion_mlp_tuned.ini: early stopping at epoch 23, best epoch 17.
const std::vector<Row> kTuned{
    {0.518091, 0.815593, 0.397905, 0.857667}, {0.384352, 0.859204, 0.370136, 0.868167},
    {0.348353, 0.872333, 0.34881, 0.869833},  {0.323189, 0.880444, 0.360873, 0.865167},
    {0.305874, 0.887093, 0.342882, 0.8695},   {0.288162, 0.892815, 0.321892, 0.879833},
    {0.277444, 0.896537, 0.310708, 0.8875},   {0.265378, 0.90063, 0.321195, 0.878667},
    {0.25773, 0.903222, 0.307358, 0.8855},    {0.24947, 0.906111, 0.305487, 0.8895},
    {0.236651, 0.910907, 0.340232, 0.877833}, {0.230568, 0.913148, 0.311465, 0.883},
    {0.201139, 0.923685, 0.282248, 0.903833}, {0.188914, 0.929074, 0.285565, 0.898333},
    {0.18324, 0.931556, 0.292316, 0.897167},  {0.165475, 0.938407, 0.279765, 0.902},
    {0.159939, 0.9395, 0.278651, 0.905},      {0.156691, 0.941704, 0.281336, 0.906833},
    {0.152494, 0.943111, 0.284156, 0.902333}, {0.141876, 0.947241, 0.279301, 0.903667},
    {0.137026, 0.949889, 0.283683, 0.907833}, {0.132739, 0.951222, 0.280688, 0.908333},
    {0.130179, 0.951963, 0.281144, 0.908833}};

}  // namespace

BOOST_AUTO_TEST_SUITE(real_runs)

BOOST_AUTO_TEST_CASE(overfit_demo_is_overfitting) {
    const Diagnosis d = diagnose(run(kOverfitDemo));
    BOOST_TEST(kinds(d) == std::vector<std::string>{"overfitting"},
               boost::test_tools::per_element());
    const Finding& f = d.findings[0];
    BOOST_TEST(says(f.evidence, "epoch 40: training error 0.45 %, validation error 18.0 %"));
    BOOST_TEST(says(f.evidence, "val_loss rose 66.2 % from its minimum 0.55 at epoch 9"));
    BOOST_TEST(says(f.next_steps, "dropout"));
    BOOST_TEST(says(f.next_steps, "early_stopping"));
    BOOST_TEST(d.best_epoch == 9u);
    BOOST_TEST(d.headline.find("overfitting (high variance)") == 0u);
}

BOOST_AUTO_TEST_CASE(one_hidden_unit_is_underfitting) {
    const Diagnosis d = diagnose(run(kOneUnit));
    BOOST_TEST(kinds(d) == std::vector<std::string>{"underfitting"},
               boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[0].evidence, "training error 78.3 %"));
    BOOST_TEST(d.findings[0].summary.find("close to the validation error") != std::string::npos);
    BOOST_TEST(says(d.findings[0].next_steps, "more capacity"));
    BOOST_TEST(says(d.findings[0].next_steps, "raise the learning rate (lr 0.001 -> 0.002"));
}

BOOST_AUTO_TEST_CASE(lr_too_high_example_diverges) {
    // examples/lr_too_high.ini (SGD lr=1e5) stops in the first epoch: no row at all.
    const History empty = run({});
    const std::string stop =
        "loss became NaN at epoch 1 step 3 (last finite loss 1.833e+14): lower the learning rate";
    const Diagnosis d = diagnose(empty, stop);
    BOOST_TEST(kinds(d) == std::vector<std::string>{"diverged"}, boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[0].evidence, "1.833e+14"));
    BOOST_TEST(says(d.findings[0].next_steps, "lower the learning rate 10x to 100x"));
    BOOST_TEST(d.headline.find("learning rate too high") != std::string::npos);
    BOOST_TEST(d.best_epoch == 0u);
}

BOOST_AUTO_TEST_CASE(fashion_mlp_is_a_good_fit_and_its_5_epochs_still_improve) {
    // Two single-epoch val_loss spikes while the training loss keeps falling: no lr finding.
    const Diagnosis ten = diagnose(run(kFashionMlp, 0.15));
    BOOST_TEST(kinds(ten) == std::vector<std::string>{"good_fit"},
               boost::test_tools::per_element());
    BOOST_TEST(ten.findings[0].summary == "training error 10.2 %, validation error 11.3 %");
    BOOST_TEST(says(ten.findings[0].next_steps, "avoidable bias"));

    const std::vector<Row> five(kFashionMlp.begin(), kFashionMlp.begin() + 5);
    const Diagnosis d = diagnose(run(five, 0.15));
    BOOST_TEST(kinds(d) == std::vector<std::string>{"lr_too_low_or_too_short"},
               boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[0].evidence,
                    "val_loss fell from 0.3874 at epoch 2 to 0.3402 at "
                    "epoch 5 (4.2 % per epoch)"));
    BOOST_TEST(says(d.findings[0].next_steps, "train.epochs = 10"));
    BOOST_TEST(says(d.findings[0].next_steps, "lr 0.15 -> 0.3 to 0.45"));
}

BOOST_AUTO_TEST_CASE(tuned_mlp_is_a_good_fit) {
    const std::string stop = "early stopping at epoch 23: val_loss did not improve for 6 epochs";
    const Diagnosis d = diagnose(run(kTuned), stop);
    BOOST_TEST(kinds(d) == std::vector<std::string>{"good_fit"}, boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[0].evidence, "avoidable bias 4.8 points, variance 4.3 points"));
    BOOST_TEST(d.best_epoch == 17u);
    BOOST_TEST(d.to_json()["stop_reason"] == stop);
}

BOOST_AUTO_TEST_CASE(adam_at_0_05_oscillates_and_underfits) {
    const Diagnosis d = diagnose(run(kAdamTooHigh, 0.05));
    BOOST_TEST(kinds(d) == (std::vector<std::string>{"lr_too_high", "underfitting"}),
               boost::test_tools::per_element());
    const Finding& f = d.findings[0];
    BOOST_TEST(says(f.evidence, "val_loss changed direction 5 times"));
    BOOST_TEST(says(f.evidence, "0.7627 -> 0.9224 -> 0.7068 at epochs 4-6"));
    BOOST_TEST(says(f.evidence, "loss fell only 2.6 %"));
    BOOST_TEST(says(f.next_steps, "lr 0.05 -> 0.005 to 0.01667"));
    // Raising the learning rate would make it worse: the underfitting advice says so.
    BOOST_TEST(says(d.findings[1].next_steps, "fix the learning rate first"));
    BOOST_TEST(!says(d.findings[1].next_steps, "raise the learning rate"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(thresholds)

BOOST_AUTO_TEST_CASE(gap_absolute) {
    // Training error 10 % (bias below 15 %): validation error 15.1 % overfits, 14.9 % does not.
    BOOST_TEST(has(diagnose(run({{0.3, 0.9, 0.4, 0.849}})), "overfitting"));
    BOOST_TEST(!has(diagnose(run({{0.3, 0.9, 0.4, 0.851}})), "overfitting"));
    const Diagnosis d = diagnose(run({{0.3, 0.9, 0.4, 0.851}}));
    BOOST_TEST(kinds(d) == std::vector<std::string>{"good_fit"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gap_relative_and_both_bias_and_variance) {
    // Training error 20 %: a gap of 9 points is under half of it, 11 points is over.
    BOOST_TEST(
        kinds(diagnose(run({{0.5, 0.8, 0.6, 0.71}}))) == std::vector<std::string>{"underfitting"},
        boost::test_tools::per_element());
    const Diagnosis d = diagnose(run({{0.5, 0.8, 0.6, 0.69}}));
    // Both: the larger (avoidable bias 20 points vs variance 11) comes first (Ng, ch. 21).
    BOOST_TEST(kinds(d) == (std::vector<std::string>{"underfitting", "overfitting"}),
               boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[1].evidence, "gap 11.0 points = 0.55x the training error"));
    BOOST_TEST(d.findings[0].summary == "training error 20.0 % is high");  // not "close to"
    const Diagnosis v = diagnose(run({{0.5, 0.8, 0.6, 0.55}}));            // variance 25 > bias 20
    BOOST_TEST(kinds(v) == (std::vector<std::string>{"overfitting", "underfitting"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(underfitting_and_baseline_error) {
    BOOST_TEST(has(diagnose(run({{0.5, 0.849, 0.5, 0.845}})), "underfitting"));
    BOOST_TEST(!has(diagnose(run({{0.5, 0.851, 0.5, 0.845}})), "underfitting"));
    // A task whose best possible error is 5 %: 19 % training error is 14 points of bias.
    DiagnoseOptions o;
    o.baseline_error = 0.05;
    const Diagnosis d = diagnose(run({{0.5, 0.81, 0.5, 0.8}}), "", o);
    BOOST_TEST(!has(d, "underfitting"));
    BOOST_TEST(says(d.findings[0].evidence, "avoidable bias 14.0 points"));
    o.baseline_error = 0.03;
    const Diagnosis u = diagnose(run({{0.5, 0.81, 0.5, 0.8}}), "", o);
    BOOST_TEST(says(get(u, "underfitting").evidence,
                    "avoidable bias 16.0 points over a baseline "
                    "error of 3.0 %"));
}

BOOST_AUTO_TEST_CASE(val_loss_rising_from_its_minimum) {
    // Accuracy gap small (no gap rule); val_loss minimum 0.5 at epoch 2, loss falls 20 %.
    const auto with_last = [](double val_loss, double loss) {
        return run({{0.6, 0.9, 0.6, 0.88},
                    {0.5, 0.9, 0.5, 0.88},
                    {0.45, 0.9, 0.52, 0.88},
                    {loss, 0.9, val_loss, 0.88}});
    };
    const Diagnosis d = diagnose(with_last(0.551, 0.4));
    BOOST_TEST(kinds(d) == std::vector<std::string>{"overfitting"},
               boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[0].evidence,
                    "val_loss rose 10.2 % from its minimum 0.5 at epoch 2 "
                    "to 0.551 at epoch 4 while loss fell 20.0 %"));
    BOOST_TEST(!has(diagnose(with_last(0.549, 0.4)), "overfitting"));  // rose 9.8 %
    BOOST_TEST(!has(diagnose(with_last(0.6, 0.455)), "overfitting"));  // loss fell only 9 %
    BOOST_TEST(has(diagnose(with_last(0.6, 0.445)), "overfitting"));   // loss fell 11 %
}

BOOST_AUTO_TEST_CASE(loss_gap_without_a_metric) {
    const Diagnosis over = diagnose(losses({{0.1, 0.31}}));
    BOOST_TEST(says(get(over, "overfitting").evidence, "epoch 1: loss 0.1, val_loss 0.31 (3.1x)"));
    const Diagnosis fine = diagnose(losses({{0.1, 0.29}}));
    BOOST_TEST(kinds(fine) == std::vector<std::string>{"good_fit"},
               boost::test_tools::per_element());
    BOOST_TEST(fine.findings[0].summary == "epoch 1: loss 0.1, val_loss 0.29");
    BOOST_TEST(says(fine.notes, "no accuracy values: underfitting (bias) cannot be judged"));
}

BOOST_AUTO_TEST_CASE(oscillation) {
    // val_loss zigzags by `step` (relative); the training loss falls by `fall` over the last
    // half of the run (epochs 4-8).
    const auto zigzag = [](double step, double fall) {
        std::vector<Row> rows;
        const double v[] = {1.0, 0.9, 0.9, 0.9 * (1 + step), 0.9, 0.9 * (1 + step), 0.9, 0.9};
        for (int i = 0; i < 7; ++i) {
            const double loss = i < 3 ? 1.0 : 1.0 - fall * (i - 3) / 3.0;
            rows.push_back({loss, 0.9, v[i + 1], 0.89});
        }
        rows.insert(rows.begin(), {1.2, 0.9, 1.0, 0.89});
        return run(rows, 0.5);
    };
    // Moves of 3.5 % (the first drop from 1.0 is 10 %): down, up, down, up, down = 4 turns.
    const Diagnosis d = diagnose(zigzag(0.035, 0.0));
    BOOST_TEST(kinds(d) == std::vector<std::string>{"lr_too_high"},
               boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[0].evidence, "changed direction 4 times, counting moves of 3.0 %"));
    BOOST_TEST(says(d.findings[0].next_steps, "lr 0.5 -> 0.05 to 0.1667"));
    BOOST_TEST(!has(diagnose(zigzag(0.028, 0.0)), "lr_too_high"));   // moves below 3 %
    BOOST_TEST(has(diagnose(zigzag(0.035, 0.09)), "lr_too_high"));   // training loss stalls
    BOOST_TEST(!has(diagnose(zigzag(0.035, 0.11)), "lr_too_high"));  // it still learns
    DiagnoseOptions o;
    o.oscillation_turns = 5;
    BOOST_TEST(!has(diagnose(zigzag(0.035, 0.0), "", o), "lr_too_high"));
}

BOOST_AUTO_TEST_CASE(still_falling_steeply) {
    // val_loss falls by `rate` per epoch over the last 3 epochs and ends at its minimum.
    const auto falling = [](double rate) {
        std::vector<Row> rows;
        for (int i = 0; i < 5; ++i) {
            const double v = std::pow(1.0 - rate, i);
            rows.push_back({v * 0.95, 0.9, v, 0.89});
        }
        return run(rows);
    };
    const Diagnosis d = diagnose(falling(0.021));
    BOOST_TEST(kinds(d) == std::vector<std::string>{"lr_too_low_or_too_short"},
               boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[0].evidence, "(2.1 % per epoch), and epoch 5 is the best so far"));
    BOOST_TEST(!has(diagnose(falling(0.019)), "lr_too_low_or_too_short"));
    // Not the best epoch at the end: not "still falling", however steep the last drop.
    History h = run(
        {{1, 0.9, 1.0, 0.89}, {0.9, 0.9, 0.5, 0.89}, {0.8, 0.9, 0.8, 0.89}, {0.7, 0.9, 0.6, 0.89}});
    BOOST_TEST(!has(diagnose(h), "lr_too_low_or_too_short"));
}

BOOST_AUTO_TEST_CASE(divergence) {
    const auto grown = [](double last) {
        return run({{1.0, 0.5, 1.0, 0.5}, {0.5, 0.6, 0.5, 0.6}, {last, 0.5, last, 0.5}});
    };
    const Diagnosis d = diagnose(grown(1.05));  // 2.1x the minimum and above epoch 1
    BOOST_TEST(kinds(d) == std::vector<std::string>{"diverged"}, boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[0].evidence,
                    "loss rose from its minimum 0.5 at epoch 2 to 1.05 at "
                    "epoch 3 (2.1x), above epoch 1's 1"));
    BOOST_TEST(says(d.findings[0].next_steps, "lr 0.001 -> 1e-05 to 0.0001"));
    BOOST_TEST(!has(diagnose(grown(0.95)), "diverged"));  // 1.9x
    // 2.5x its minimum but still below where it started: a spike, not divergence.
    BOOST_TEST(
        !has(diagnose(run({{3.0, 0.5, 3.0, 0.5}, {0.4, 0.6, 0.4, 0.6}, {1.0, 0.5, 1.0, 0.5}})),
             "diverged"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(odd_histories)

BOOST_AUTO_TEST_CASE(non_finite_values_and_stop_reasons) {
    const double inf = std::numeric_limits<double>::infinity();
    const Diagnosis d = diagnose(run({{0.5, 0.8, 0.5, 0.8}, {0.4, 0.8, inf, 0.1}}),
                                 "val_loss became infinite at epoch 2: lower the learning rate");
    BOOST_TEST(kinds(d) == std::vector<std::string>{"diverged"}, boost::test_tools::per_element());
    BOOST_TEST(says(d.findings[0].evidence, "stopped: val_loss became infinite at epoch 2"));
    BOOST_TEST(says(d.findings[0].evidence, "epoch 2: val_loss inf"));
    const Diagnosis nan_loss = diagnose(run({{0.5, 0.8, 0.5, 0.8}, {kNaN, 0.8, 0.5, 0.8}}));
    BOOST_TEST(says(get(nan_loss, "diverged").evidence, "epoch 2: loss nan"));
    BOOST_TEST(d.to_json()["findings"][0]["kind"] == "diverged");
}

BOOST_AUTO_TEST_CASE(missing_validation) {
    History h{{"epoch", "loss", "accuracy", "lr"}, {{1, 2.0, 0.3, 0.01}, {2, 1.9, 0.32, 0.01}}};
    const Diagnosis d = diagnose(h);
    // Bias is still judged, and the training loss stands in for "still falling".
    BOOST_TEST(kinds(d) == (std::vector<std::string>{"underfitting", "lr_too_low_or_too_short"}),
               boost::test_tools::per_element());
    BOOST_TEST(says(d.notes, "no validation data: overfitting (variance) cannot be judged"));
    BOOST_TEST(says(d.findings[0].evidence, "epoch 2: training error 68.0 %"));
    // Still diagnoses divergence from the stop reason.
    BOOST_TEST(has(diagnose(h, "loss became NaN at epoch 3 step 1"), "diverged"));
    // A val_loss column of NaN only is no validation data either; the best epoch is then
    // chosen by the training loss.
    History nan_val{{"epoch", "loss", "val_loss"}, {{1, 0.5, kNaN}, {2, 0.45, kNaN}}};
    const Diagnosis n = diagnose(nan_val);
    BOOST_TEST(says(n.notes, "no validation data"));
    BOOST_TEST(n.best_epoch == 2u);
    BOOST_TEST(n.to_json()["figures"].contains("best_loss"));
}

BOOST_AUTO_TEST_CASE(missing_metric_values) {
    // A NaN accuracy at the last epoch: the losses stand in, with a note.
    const Diagnosis d = diagnose(run({{0.5, 0.8, 0.5, 0.8}, {0.1, kNaN, 0.5, kNaN}}));
    BOOST_TEST(says(d.notes, "no accuracy values"));
    BOOST_TEST(says(get(d, "overfitting").evidence, "epoch 2: loss 0.1, val_loss 0.5 (5x)"));
}

BOOST_AUTO_TEST_CASE(one_epoch) {
    const Diagnosis d = diagnose(run({{0.1, 0.98, 0.5, 0.85}}));
    BOOST_TEST(kinds(d) == std::vector<std::string>{"overfitting"},
               boost::test_tools::per_element());
    BOOST_TEST(says(d.notes, "one epoch only"));
    BOOST_TEST(d.best_epoch == 1u);
}

BOOST_AUTO_TEST_CASE(empty_history) {
    for (const History& h : {History{}, run({})}) {
        const Diagnosis d = diagnose(h);
        BOOST_TEST(d.findings.empty());
        BOOST_TEST(d.headline == "nothing to diagnose: no completed epoch");
        BOOST_TEST(d.to_text() ==
                   "diagnosis: nothing to diagnose: no completed epoch\n"
                   "note: the history has no row with a training loss\n");
        BOOST_TEST(d.to_json()["findings"].empty());
    }
}

BOOST_AUTO_TEST_CASE(text_and_json) {
    const Diagnosis d = diagnose(run(kAdamTooHigh, 0.05));
    const std::string text = d.to_text();
    BOOST_TEST(text.find("diagnosis: learning rate too high: val_loss oscillates") == 0u);
    BOOST_TEST(text.find("\nalso: underfitting (high avoidable bias): training error 28.3 %") !=
               std::string::npos);
    BOOST_TEST(text.find("\n  evidence: lr 0.05\n") != std::string::npos);
    BOOST_TEST(text.find("\n  try: ") != std::string::npos);
    BOOST_TEST(text.find("\nfigures: epoch 10, loss 0.7088, val_loss 0.7454, train_error 28.3 %") !=
               std::string::npos);
    const auto j = d.to_json();
    BOOST_TEST(j["headline"] == d.headline);
    BOOST_TEST(j["best_epoch"] == 2);
    BOOST_TEST(j["findings"].size() == 2u);
    BOOST_TEST(j["findings"][1]["kind"] == "underfitting");
    BOOST_TEST(j["figures"]["val_error"].get<double>() == 1 - 0.7165,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(finding_label("lr_too_low_or_too_short").find("still improving") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
