#define BOOST_TEST_MODULE softmax_cross_entropy
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#define PLEXUS_CHECK_CLOSE_TOLERANCE 1e-6f
#include "check_close.hpp"

using plexus::testing::load;
using plexus::testing::make_tensor;
using plexus::testing::to_host;

using plexus::test::check_close;

namespace {


// Two rows: softmax([0, ln 3]) = [1/4, 3/4] with class 1, softmax([0, 0]) = [1/2, 1/2] with
// class 0. Cross-entropies ln(4/3) and ln 2.
std::vector<float> two_rows() {
    return {0, std::log(3.0f), 0, 0};
}
const std::vector<float> kTwoTargets = {0, 1, 1, 0};

// True when `e` is a plexus::Error whose message contains `part`.
auto says(const std::string& part) {
    return [part](const plexus::Error& e) {
        const bool found = std::string(e.what()).find(part) != std::string::npos;
        BOOST_TEST_MESSAGE(e.what());
        return found;
    };
}

}  // namespace

BOOST_AUTO_TEST_CASE(forward_and_backward_match_hand_computed_values) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    loss->build({2, 2}, *device);
    // Row 0: softmax([0, ln 3]) = [1/4, 3/4], class 1 -> -ln(3/4) = ln(4/3).
    // Row 1: softmax([0, 0]) = [1/2, 1/2], class 0 -> ln 2.
    const auto pred = make_tensor(*device, {2, 2}, {0, std::log(3.0f), 0, 0});
    const auto target = make_tensor(*device, {2, 2}, {0, 1, 1, 0});
    const double want = (std::log(4.0 / 3.0) + std::log(2.0)) / 2;  // 0.490415
    BOOST_TEST(loss->forward(pred, target) == want, boost::test_tools::tolerance(1e-6));

    // (softmax - target) / rows
    const auto dpred = device->alloc({2, 2});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {0.125f, -0.125f, -0.25f, 0.25f});
}

BOOST_AUTO_TEST_CASE(single_row_matches_ln_four_thirds) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    loss->build({1, 2}, *device);
    const auto pred = make_tensor(*device, {1, 2}, {0, std::log(3.0f)});
    const auto target = make_tensor(*device, {1, 2}, {0, 1});
    BOOST_TEST(loss->forward(pred, target) == std::log(4.0 / 3.0),
               boost::test_tools::tolerance(1e-6));  // 0.287682
}

BOOST_AUTO_TEST_CASE(huge_logits_stay_finite) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    loss->build({2, 2}, *device);
    // Row 0 is right with certainty (loss 0); row 1 is wrong by 1000 (loss 1000).
    const auto pred = make_tensor(*device, {2, 2}, {1000, 0, 0, 1000});
    const auto target = make_tensor(*device, {2, 2}, {1, 0, 1, 0});
    const float value = loss->forward(pred, target);
    BOOST_TEST(std::isfinite(value));
    BOOST_TEST(value == 500.0f, boost::test_tools::tolerance(1e-5f));
    const auto dpred = device->alloc({2, 2});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {0, 0, -0.5f, 0.5f});
}

BOOST_AUTO_TEST_CASE(smaller_batches_reuse_the_workspaces) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    loss->build({8, 2}, *device);
    const auto pred = make_tensor(*device, {2, 2}, {0, std::log(3.0f), 0, 0});
    const auto target = make_tensor(*device, {2, 2}, {0, 1, 1, 0});
    const auto dpred = device->alloc({2, 2});
    const auto before = device->counters().allocations;
    const float value = loss->forward(pred, target);
    loss->backward(pred, target, dpred);
    BOOST_TEST(device->counters().allocations == before);
    BOOST_TEST(value == (std::log(4.0 / 3.0) + std::log(2.0)) / 2,
               boost::test_tools::tolerance(1e-6));
    check_close(to_host(*device, dpred), {0.125f, -0.125f, -0.25f, 0.25f});
    // Only the scalar loss comes back to the host.
    device->reset_counters();
    loss->forward(pred, target);
    loss->backward(pred, target, dpred);
    BOOST_TEST(device->counters().d2h_bytes == sizeof(float));
    BOOST_TEST(device->counters().h2d_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(gradient_matches_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    const std::vector<float> target = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0};
    const auto r = plexus::testing::check_loss(*loss, *device, {4, 3}, target);
    BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
    BOOST_TEST(r.checked == 12u);
    // Soft targets (label smoothing) are valid too.
    const std::vector<float> soft = {0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f};
    const auto s = plexus::testing::check_loss(*loss, *device, {2, 3}, soft, {.seed = 3});
    BOOST_TEST(s.max_rel_error < 1e-2, "worst " << s.worst);
}

BOOST_AUTO_TEST_CASE(rejects_shapes_it_cannot_classify) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy");
    BOOST_CHECK_THROW(loss->build({4}, *device), plexus::ShapeError);
    BOOST_CHECK_THROW(loss->build({4, 1}, *device), plexus::ShapeError);
    loss->build({2, 3}, *device);
    const auto pred = device->alloc({4, 3});  // more rows than built for
    BOOST_CHECK_THROW(loss->forward(pred, pred), plexus::ShapeError);
}

BOOST_AUTO_TEST_CASE(label_smoothing_matches_hand_computed_values) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy label_smoothing=0.2");
    loss->build({2, 2}, *device);
    const auto pred = make_tensor(*device, {2, 2}, two_rows());
    const auto target = make_tensor(*device, {2, 2}, kTwoTargets);
    // t' = t·0.8 + 0.2/2: row 0 [0.1, 0.9], row 1 [0.9, 0.1].
    // Row 0: -(0.1 ln(1/4) + 0.9 ln(3/4)); row 1: -(0.9 + 0.1) ln(1/2) = ln 2.
    const double want =
        (0.1 * std::log(4.0) + 0.9 * std::log(4.0 / 3.0) + std::log(2.0)) / 2;  // 0.545345
    BOOST_TEST(loss->forward(pred, target) == want, boost::test_tools::tolerance(1e-6));
    // (softmax - t') / 2: row 0 (0.25 - 0.1, 0.75 - 0.9) / 2, row 1 (0.5 - 0.9, 0.5 - 0.1) / 2
    const auto dpred = device->alloc({2, 2});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {0.075f, -0.075f, -0.2f, 0.2f});
}

BOOST_AUTO_TEST_CASE(class_weight_list_weights_each_sample_and_divides_by_rows) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy class_weight=1,3");
    loss->build({2, 2}, *device);
    const auto pred = make_tensor(*device, {2, 2}, two_rows());
    const auto target = make_tensor(*device, {2, 2}, kTwoTargets);
    // Row 0 is class 1 (weight 3), row 1 class 0 (weight 1); divided by N = 2, not by Σw = 4.
    const double want = (3 * std::log(4.0 / 3.0) + 1 * std::log(2.0)) / 2;  // 0.778097
    BOOST_TEST(loss->forward(pred, target) == want, boost::test_tools::tolerance(1e-6));
    // w_i (softmax - t) / 2: row 0 3·(0.25, -0.25) / 2, row 1 1·(-0.5, 0.5) / 2
    const auto dpred = device->alloc({2, 2});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {0.375f, -0.375f, -0.25f, 0.25f});
}

BOOST_AUTO_TEST_CASE(equal_class_weights_of_one_equal_no_weights) {
    auto device = load<plexus::Device>("cpu");
    auto plain = load<plexus::Loss>("softmax_cross_entropy");
    auto ones = load<plexus::Loss>("softmax_cross_entropy class_weight=1,1");
    plain->build({2, 2}, *device);
    ones->build({2, 2}, *device);
    const auto pred = make_tensor(*device, {2, 2}, two_rows());
    const auto target = make_tensor(*device, {2, 2}, kTwoTargets);
    BOOST_TEST(ones->forward(pred, target) == plain->forward(pred, target),
               boost::test_tools::tolerance(1e-7f));
}

BOOST_AUTO_TEST_CASE(balanced_weights_come_from_the_class_counts) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy class_weight=balanced");
    // N = 10 over C = 3 classes: w = 10 / (3·[6, 3, 1]) = [5/9, 10/9, 10/3].
    loss->set_class_counts({6, 3, 1});
    loss->build({2, 3}, *device);
    // Row 0: softmax([0, 0, 0]) = 1/3 each, class 2 (weight 10/3): ln 3.
    // Row 1: softmax([0, ln 2, 0]) = [1/4, 1/2, 1/4], class 0 (weight 5/9): ln 4.
    const auto pred = make_tensor(*device, {2, 3}, {0, 0, 0, 0, std::log(2.0f), 0});
    const auto target = make_tensor(*device, {2, 3}, {0, 0, 1, 1, 0, 0});
    const double want = (10.0 / 3 * std::log(3.0) + 5.0 / 9 * std::log(4.0)) / 2;  // 2.216102
    BOOST_TEST(loss->forward(pred, target) == want, boost::test_tools::tolerance(1e-6));
    // Row 0: (10/3)·(1/3, 1/3, -2/3) / 2 = (5/9, 5/9, -10/9).
    // Row 1: (5/9)·(-3/4, 1/2, 1/4) / 2 = (-5/24, 5/36, 5/72).
    const auto dpred = device->alloc({2, 3});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred),
                {5.0f / 9, 5.0f / 9, -10.0f / 9, -5.0f / 24, 5.0f / 36, 5.0f / 72});
}

BOOST_AUTO_TEST_CASE(balanced_gives_a_class_absent_from_training_weight_zero) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy class_weight=balanced");
    loss->set_class_counts({4, 0});  // w = [4 / (2·4), 0] = [0.5, 0]
    loss->build({2, 2}, *device);
    const auto pred = make_tensor(*device, {2, 2}, two_rows());
    const auto target = make_tensor(*device, {2, 2}, kTwoTargets);
    // Row 0 (class 1) counts 0; row 1 (class 0): 0.5 · ln 2; divided by N = 2.
    BOOST_TEST(loss->forward(pred, target) == 0.5 * std::log(2.0) / 2,
               boost::test_tools::tolerance(1e-6));
    const auto dpred = device->alloc({2, 2});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {0, 0, -0.125f, 0.125f});  // 0.5·(-0.5, 0.5) / 2
}

BOOST_AUTO_TEST_CASE(smoothing_and_class_weights_combine) {
    auto device = load<plexus::Device>("cpu");
    auto loss = load<plexus::Loss>("softmax_cross_entropy label_smoothing=0.2 class_weight=1,3");
    loss->build({2, 2}, *device);
    const auto pred = make_tensor(*device, {2, 2}, two_rows());
    const auto target = make_tensor(*device, {2, 2}, kTwoTargets);
    // The weight follows the unsmoothed class and multiplies the whole smoothed cross-entropy.
    const double want =
        (3 * (0.1 * std::log(4.0) + 0.9 * std::log(4.0 / 3.0)) + std::log(2.0)) / 2;  // 0.735
    BOOST_TEST(loss->forward(pred, target) == want, boost::test_tools::tolerance(1e-6));
    // Row 0: 3·(0.15, -0.15) / 2; row 1: 1·(-0.4, 0.4) / 2
    const auto dpred = device->alloc({2, 2});
    loss->backward(pred, target, dpred);
    check_close(to_host(*device, dpred), {0.225f, -0.225f, -0.2f, 0.2f});
}

BOOST_AUTO_TEST_CASE(options_stay_finite_for_huge_logits) {
    auto device = load<plexus::Device>("cpu");
    // Row 0 is right by 1000, row 1 wrong by 1000; both rows are class 0.
    const auto pred = make_tensor(*device, {2, 2}, {1000, 0, 0, 1000});
    const auto target = make_tensor(*device, {2, 2}, {1, 0, 1, 0});
    // label_smoothing=0.2: t' = [0.9, 0.1]; row 0 0.1·1000, row 1 0.9·1000; / 2.
    // class_weight=2,1: row 0 0, row 1 2·1000; / 2.
    const std::pair<const char*, double> cases[] = {
        {"softmax_cross_entropy label_smoothing=0.2", (100.0 + 900.0) / 2},
        {"softmax_cross_entropy class_weight=2,1", (0.0 + 2 * 1000.0) / 2},
        {"softmax_cross_entropy label_smoothing=0.2 class_weight=2,1", 2 * (100.0 + 900.0) / 2}};
    for (const auto& [spec, want] : cases) {
        BOOST_TEST_CONTEXT(spec) {
            auto loss = load<plexus::Loss>(spec);
            loss->build({2, 2}, *device);
            const float value = loss->forward(pred, target);
            BOOST_TEST(std::isfinite(value));
            BOOST_TEST(value == want, boost::test_tools::tolerance(1e-5));
            const auto dpred = device->alloc({2, 2});
            loss->backward(pred, target, dpred);
            for (float g : to_host(*device, dpred)) BOOST_TEST(std::isfinite(g));
        }
    }
}

BOOST_AUTO_TEST_CASE(every_option_matches_finite_differences) {
    auto device = load<plexus::Device>("cpu");
    const std::vector<float> target = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0};
    for (const char* spec :
         {"softmax_cross_entropy label_smoothing=0.1", "softmax_cross_entropy class_weight=0.5,2,1",
          "softmax_cross_entropy class_weight=balanced",
          "softmax_cross_entropy class_weight=balanced label_smoothing=0.3",
          "softmax_cross_entropy class_weight=0,2.5,1 label_smoothing=0.05"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto loss = load<plexus::Loss>(spec);
            loss->set_class_counts({5, 2, 1});
            const auto r = plexus::testing::check_loss(*loss, *device, {4, 3}, target);
            BOOST_TEST(r.max_rel_error < 1e-2, "worst " << r.worst);
            BOOST_TEST(r.checked == 12u);
            const auto s = plexus::testing::check_loss(*loss, *device, {4, 3}, target, {.seed = 9});
            BOOST_TEST(s.max_rel_error < 1e-2, "worst " << s.worst);
        }
    }
}

BOOST_AUTO_TEST_CASE(smaller_batches_match_an_exact_build_for_every_option) {
    auto device = load<plexus::Device>("cpu");
    const auto pred = make_tensor(*device, {2, 3}, {0.5f, -1, 2, 0, 3, -0.25f});
    const auto target = make_tensor(*device, {2, 3}, {0, 0, 1, 0, 1, 0});
    for (const char* spec : {"softmax_cross_entropy", "softmax_cross_entropy label_smoothing=0.1",
                             "softmax_cross_entropy class_weight=0.5,2,1",
                             "softmax_cross_entropy class_weight=balanced label_smoothing=0.2"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto exact = load<plexus::Loss>(spec);
            auto larger = load<plexus::Loss>(spec);
            exact->set_class_counts({3, 1, 2});
            larger->set_class_counts({3, 1, 2});
            exact->build({2, 3}, *device);
            larger->build({32, 3}, *device);
            const auto d_exact = device->alloc({2, 3});
            const auto d_larger = device->alloc({2, 3});
            exact->backward(pred, target, d_exact);
            device->reset_counters();
            BOOST_TEST(larger->forward(pred, target) == exact->forward(pred, target));
            larger->backward(pred, target, d_larger);
            BOOST_TEST(device->counters().allocations == 0u);
            BOOST_TEST(device->counters().h2d_bytes == 0u);
            BOOST_TEST(device->counters().d2h_bytes == 2 * sizeof(float));  // two scalar losses
            check_close(to_host(*device, d_larger), to_host(*device, d_exact));
        }
    }
}

BOOST_AUTO_TEST_CASE(invalid_class_weights_are_clear_errors) {
    const std::pair<const char*, const char*> bad[] = {
        {"class_weight=heavy", "item 1 ('heavy') is not a number"},
        {"class_weight=1,,2", "item 2 ('') is not a number"},
        {"class_weight=1,2x", "item 2 ('2x') is not a number"},
        {"class_weight=1,-2", "must be finite and >= 0"},
        {"class_weight=1,inf", "must be finite and >= 0"},
        {"class_weight=1,1e40", "must be finite and >= 0"},  // beyond float32
        {"class_weight=0,0", "no positive weight"},
        {"label_smoothing=1", "label_smoothing"},
    };
    for (const auto& [param, message] : bad) {
        BOOST_TEST_CONTEXT(param) {
            BOOST_CHECK_EXCEPTION(load<plexus::Loss>(std::string("softmax_cross_entropy ") + param),
                                  plexus::Error, says(message));
        }
    }
}

BOOST_AUTO_TEST_CASE(class_weights_that_do_not_fit_the_classes_fail_in_build) {
    auto device = load<plexus::Device>("cpu");
    auto three = load<plexus::Loss>("softmax_cross_entropy class_weight=1,2,3");
    BOOST_CHECK_EXCEPTION(three->build({4, 2}, *device), plexus::ParamError,
                          says("class_weight has 3 weights but the model has 2 classes"));
    const auto two = device->alloc({4, 2});
    BOOST_CHECK_THROW(three->forward(two, two), plexus::ShapeError);  // still unbuilt
    three->build({4, 3}, *device);                                    // the right count is fine

    auto balanced = load<plexus::Loss>("softmax_cross_entropy class_weight=balanced");
    BOOST_CHECK_EXCEPTION(balanced->build({4, 2}, *device), plexus::ParamError,
                          says("needs the training split's class counts"));
    balanced->set_class_counts({1, 2, 3});
    BOOST_CHECK_EXCEPTION(balanced->build({4, 2}, *device), plexus::ParamError,
                          says("got counts for 3 classes but the model has 2"));
    balanced->set_class_counts({0, 0});
    BOOST_CHECK_EXCEPTION(balanced->build({4, 2}, *device), plexus::ParamError,
                          says("empty training split"));
}
