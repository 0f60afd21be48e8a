#define BOOST_TEST_MODULE transforms_image
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "check_close.hpp"
#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

using plexus::Shape;
using plexus::Transform;
using plexus::test::check_close;
using plexus::testing::load;
using Floats = std::vector<float>;

namespace {

Floats apply(const Transform& t, const Floats& x, std::size_t rows, std::size_t out_numel) {
    Floats y(rows * out_numel, -99.0f);
    t.apply(x.data(), y.data(), rows, plexus::Mode::infer, {});
    return y;
}

std::string shape_error(Transform& t, const Shape& sample) {
    try {
        t.build(sample);
    } catch (const plexus::ShapeError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

BOOST_AUTO_TEST_CASE(grayscale_weights_rgb_with_bt601) {
    auto t = load<Transform>("grayscale");
    BOOST_TEST(!t->train_only());
    BOOST_TEST(!t->needs_fit());
    BOOST_TEST((t->build({3, 1, 2}) == Shape{1, 1, 2}));
    // Two 3×1×2 images, channel-major: R plane, G plane, B plane.
    const Floats x = {1, 0.5f, 1, 0.25f, 1, 1,   // white; (0.5, 0.25, 1)
                      0, 0,    1, 0,     0, 1};  // pure green; pure blue
    // 0.299 + 0.587 + 0.114 = 1; 0.1495 + 0.14675 + 0.114 = 0.41025.
    check_close(apply(*t, x, 2, 2), {1, 0.41025f, 0.587f, 0.114f}, 1e-6f);
}

BOOST_AUTO_TEST_CASE(grayscale_passes_one_channel_through_and_rejects_other_counts) {
    auto t = load<Transform>("grayscale");
    for (const Shape& s : {Shape{2, 2}, Shape{1, 2, 2}}) {
        BOOST_TEST((t->build(s) == s));
        const Floats x = {0.1f, 0.2f, 0.3f, 0.4f, 5, 6, 7, 8};
        BOOST_TEST(apply(*t, x, 2, 4) == x, boost::test_tools::per_element());
    }
    const std::string four = shape_error(*t, {4, 8, 8});
    BOOST_TEST(four.find("1 or 3 channels") != std::string::npos, four);
    BOOST_TEST(four.find("[4, 8, 8]") != std::string::npos, four);
    const std::string flat = shape_error(*t, {784});
    BOOST_TEST(flat.find("needs images") != std::string::npos, flat);
}

BOOST_AUTO_TEST_CASE(resize_enlarges_with_half_pixel_centres) {
    auto t = load<Transform>("resize size=4x4");
    BOOST_TEST((t->build({2, 2}) == Shape{4, 4}));
    // v(y, x) = 2y + x is linear, so bilinear sampling returns it exactly at the sample
    // points: output i reads input coordinate (i + 0.5)/2 - 0.5 = -0.25, 0.25, 0.75, 1.25,
    // clamped to 0, 0.25, 0.75, 1.
    const Floats x = {0, 1, 2, 3};
    check_close(apply(*t, x, 1, 16), {0, 0.25f, 0.75f, 1,        //
                                      0.5f, 0.75f, 1.25f, 1.5f,  //
                                      1.5f, 1.75f, 2.25f, 2.5f,  //
                                      2, 2.25f, 2.75f, 3});
    // Channels are resized independently: [2, 2, 2] -> [2, 4, 4].
    BOOST_TEST((t->build({2, 2, 2}) == Shape{2, 4, 4}));
    const Floats y = apply(*t, {0, 1, 2, 3, 5, 5, 5, 5}, 1, 32);
    check_close(Floats(y.begin(), y.begin() + 3), {0, 0.25f, 0.75f});
    BOOST_TEST(Floats(y.begin() + 16, y.end()) == Floats(16, 5.0f),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(resize_shrinks_by_averaging_the_two_middle_pixels) {
    auto t = load<Transform>("resize size=2x2");
    BOOST_TEST((t->build({1, 4, 4}) == Shape{1, 2, 2}));
    // v = 4y + x; outputs read coordinates 0.5 and 2.5 on each axis.
    Floats x(16);
    for (std::size_t i = 0; i < 16; ++i) x[i] = static_cast<float>(i);
    check_close(apply(*t, x, 1, 4), {2.5f, 4.5f, 10.5f, 12.5f});
}

BOOST_AUTO_TEST_CASE(resize_to_the_same_size_is_an_exact_copy) {
    auto t = load<Transform>("resize size=3x5");
    BOOST_TEST((t->build({2, 3, 5}) == Shape{2, 3, 5}));
    Floats x(60);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.37f * static_cast<float>(i * i % 17) - 1.3f;
    BOOST_TEST(apply(*t, x, 2, 30) == x, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(resize_needs_images_and_a_valid_size) {
    auto t = load<Transform>("resize size=8x8");
    BOOST_TEST(shape_error(*t, {784}) ==
               "resize needs images ([H,W] or [C,H,W]); these samples are [784] features");
    BOOST_TEST(shape_error(*t, {1, 2, 3, 4}).find("needs images") != std::string::npos);
    BOOST_CHECK_THROW(load<Transform>("resize"), plexus::ParamError);  // size is required
    for (const char* spec : {"resize size=32", "resize size=0x4", "resize size=4x",
                             "resize size=ax4", "resize size=-2x4"})
        BOOST_CHECK_THROW(load<Transform>(spec), plexus::Error);
}
