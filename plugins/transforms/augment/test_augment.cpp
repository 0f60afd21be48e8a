#define BOOST_TEST_MODULE transforms_augment
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
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
using Ids = std::vector<std::uint32_t>;

namespace {

const char* const kAll[] = {"flip", "rotate", "shift", "zoom", "brightness", "contrast", "noise"};

Floats train(const Transform& t, const Floats& x, std::size_t rows, const Ids* ids = nullptr,
             std::uint64_t epoch = 0, std::uint64_t seed = 42) {
    Floats y(x.size(), -99.0f);
    plexus::ApplyContext context;
    context.seed = seed;
    context.epoch = epoch;
    context.sample_ids = ids ? ids->data() : nullptr;
    t.apply(x.data(), y.data(), rows, plexus::Mode::train, context);
    return y;
}

// Values in (0.2, 0.8) without symmetry, so every augmentation changes them visibly.
Floats pattern(std::size_t n, std::size_t salt = 0) {
    Floats v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = 0.2f + 0.6f * static_cast<float>((i * 7 + salt * 13 + i * i) % 23) / 22.0f;
    return v;
}

struct Moments {
    double mass = 0, x = 0, y = 0;  // total, and centre of mass relative to the image centre
};

Moments moments(const float* image, std::size_t height, std::size_t width) {
    Moments m;
    for (std::size_t i = 0; i < height * width; ++i) {
        m.mass += image[i];
        m.x += image[i] * (static_cast<double>(i % width) - static_cast<double>(width - 1) / 2);
        m.y += image[i] * (static_cast<double>(i / width) - static_cast<double>(height - 1) / 2);
    }
    m.x /= m.mass;
    m.y /= m.mass;
    return m;
}

Floats row(const Floats& v, std::size_t r, std::size_t n) {
    return Floats(v.begin() + static_cast<std::ptrdiff_t>(r * n),
                  v.begin() + static_cast<std::ptrdiff_t>((r + 1) * n));
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_augmentation_is_train_only_and_the_identity_in_infer_mode) {
    for (const char* spec : kAll) {
        BOOST_TEST_CONTEXT(spec) {
            auto t = load<Transform>(spec);
            BOOST_TEST(t->train_only());
            BOOST_TEST(!t->needs_fit());
            BOOST_TEST((t->build({2, 4, 5}) == Shape{2, 4, 5}));
            const Floats x = pattern(80);
            Floats y(80, -1.0f);
            t->apply(x.data(), y.data(), 2, plexus::Mode::infer, {7, 3, nullptr});
            BOOST_TEST(y == x, boost::test_tools::per_element());
            BOOST_TEST(t->state().empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(the_draw_depends_on_seed_epoch_and_sample_id_only) {
    const std::size_t n = 20, rows = 16;  // [1, 4, 5] images
    Floats x;
    Ids ids;
    for (std::size_t r = 0; r < rows; ++r) {
        const Floats p = pattern(n, r);
        x.insert(x.end(), p.begin(), p.end());
        ids.push_back(static_cast<std::uint32_t>(100 + 3 * r));
    }
    for (const char* spec : kAll) {
        BOOST_TEST_CONTEXT(spec) {
            auto t = load<Transform>(spec);
            t->build({1, 4, 5});
            const Floats a = train(*t, x, rows, &ids);
            // Rows 5 and 2 alone, in another order and batch position: the same outputs.
            Floats pair = row(x, 5, n);
            const Floats r2 = row(x, 2, n);
            pair.insert(pair.end(), r2.begin(), r2.end());
            const Ids pair_ids = {ids[5], ids[2]};
            const Floats b = train(*t, pair, 2, &pair_ids);
            BOOST_TEST(row(b, 0, n) == row(a, 5, n), boost::test_tools::per_element());
            BOOST_TEST(row(b, 1, n) == row(a, 2, n), boost::test_tools::per_element());
            // Without ids a row's id is its index.
            const Ids index_ids = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
            BOOST_TEST(train(*t, x, rows) == train(*t, x, rows, &index_ids),
                       boost::test_tools::per_element());
            BOOST_TEST(train(*t, x, rows, &ids) == a, boost::test_tools::per_element());
            BOOST_TEST(train(*t, x, rows, &ids, 1) != a);      // another epoch
            BOOST_TEST(train(*t, x, rows, &ids, 0, 43) != a);  // another seed
            BOOST_TEST(a != x);
        }
    }
}

BOOST_AUTO_TEST_CASE(flip_mirrors_exactly) {
    const Floats x = {1, 2, 3, 4,  5,  6,  // channel 0, 2×3
                      7, 8, 9, 10, 11, 12};
    auto h = load<Transform>("flip p=1");
    h->build({2, 2, 3});
    BOOST_TEST(train(*h, x, 1) == Floats({3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}),
               boost::test_tools::per_element());
    auto v = load<Transform>("flip mode=vertical p=1");
    v->build({2, 2, 3});
    BOOST_TEST(train(*v, x, 1) == Floats({4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9}),
               boost::test_tools::per_element());
    auto both = load<Transform>("flip mode=horizontal_and_vertical p=1");
    both->build({2, 3});
    BOOST_TEST(train(*both, {1, 2, 3, 4, 5, 6}, 1) == Floats({6, 5, 4, 3, 2, 1}),
               boost::test_tools::per_element());
    auto never = load<Transform>("flip mode=horizontal_and_vertical p=0");
    never->build({2, 2, 3});
    BOOST_TEST(train(*never, x, 1) == x, boost::test_tools::per_element());

    // p = 0.5: about half of 2000 one-row images are mirrored (standard error 11).
    auto half = load<Transform>("flip");
    half->build({1, 2});
    Floats many;
    for (int i = 0; i < 2000; ++i) many.insert(many.end(), {0, 1});
    const Floats out = train(*half, many, 2000);
    int flipped = 0;
    for (int i = 0; i < 2000; ++i) flipped += out[2 * i] == 1;
    BOOST_TEST(std::abs(flipped - 1000) < 60, flipped);
}

BOOST_AUTO_TEST_CASE(rotate_draws_angles_in_both_directions_up_to_degrees) {
    // A dot 3 pixels right of the centre of 11×11 ends up at (3 cos a, -3 sin a) from the
    // centre (y grows downwards); its centre of mass recovers a within bilinear blur.
    auto t = load<Transform>("rotate degrees=90");
    const std::size_t rows = 200, n = 121;
    Floats x(rows * n, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) x[r * n + 5 * 11 + 8] = 1.0f;
    t->build({11, 11});
    const Floats y = train(*t, x, rows);
    double low = 0, high = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        const Moments m = moments(y.data() + r * n, 11, 11);
        BOOST_REQUIRE(m.mass > 0.5);
        const double degrees = std::atan2(-m.y, m.x) * 180 / 3.141592653589793;
        BOOST_TEST(std::abs(degrees) <= 90 + 12, degrees);
        low = std::min(low, degrees);
        high = std::max(high, degrees);
    }
    BOOST_TEST(low < -60);
    BOOST_TEST(high > 60);
}

BOOST_AUTO_TEST_CASE(zero_ranges_are_the_identity_and_constant_images_stay_constant) {
    const Floats x = pattern(3 * 25);
    for (const char* spec : {"rotate degrees=0", "shift width=0 height=0", "zoom factor=0",
                             "brightness delta=0", "noise stddev=0"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto t = load<Transform>(spec);
            t->build({3, 5, 5});
            BOOST_TEST(train(*t, x, 1) == x, boost::test_tools::per_element());
        }
    }
    const Floats flat(2 * 49, 0.375f);
    for (const char* spec : {"rotate degrees=180 fill=nearest", "rotate fill=reflect",
                             "shift width=0.5 height=0.5 fill=nearest",
                             "zoom factor=0.9 fill=reflect", "contrast factor=1"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto t = load<Transform>(spec);
            t->build({7, 7});
            BOOST_TEST(train(*t, flat, 2) == flat, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(shift_moves_a_dot_by_at_most_the_fraction_and_keeps_its_mass) {
    auto t = load<Transform>("shift width=0.2 height=0.1");  // at most 1.8 and 0.9 pixels
    const std::size_t rows = 200;
    Floats x(rows * 81, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) x[r * 81 + 40] = 1.0f;  // the centre of 9×9
    t->build({9, 9});
    const Floats y = train(*t, x, rows);
    double max_dx = 0, max_dy = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        const Moments m = moments(y.data() + r * 81, 9, 9);
        BOOST_TEST(std::abs(m.mass - 1.0) < 1e-5);
        BOOST_TEST(std::abs(m.x) <= 1.8 + 1e-6);
        BOOST_TEST(std::abs(m.y) <= 0.9 + 1e-6);
        max_dx = std::max(max_dx, std::abs(m.x));
        max_dy = std::max(max_dy, std::abs(m.y));
    }
    BOOST_TEST(max_dx > 1.5);  // the whole interval is used
    BOOST_TEST(max_dy > 0.7);
}

BOOST_AUTO_TEST_CASE(zoom_scales_about_the_centre) {
    // Channel 0 holds v = x, channel 1 v = y: the centre keeps its value and the slopes become
    // the scales sx, sy in [0.5, 1.5], equal unless independent=true.
    const std::size_t rows = 100, n = 2 * 81;
    Floats x(rows * n);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>((i % n) < 81 ? i % 9 : (i % 81) / 9);
    for (const bool independent : {false, true}) {
        auto t =
            load<Transform>(independent ? "zoom factor=0.5 independent=true" : "zoom factor=0.5");
        t->build({2, 9, 9});
        const Floats y = train(*t, x, rows);
        double low = 2, high = 0;
        std::size_t unequal = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            const float* vx = y.data() + r * n;
            const float* vy = vx + 81;
            BOOST_TEST(vx[40] == 4.0f);
            BOOST_TEST(vy[40] == 4.0f);
            const double sx = vx[41] - vx[40], sy = vy[49] - vy[40];
            BOOST_TEST((sx >= 0.5 - 1e-6 && sx <= 1.5 + 1e-6), sx);
            BOOST_TEST((sy >= 0.5 - 1e-6 && sy <= 1.5 + 1e-6), sy);
            unequal += std::abs(sx - sy) > 1e-5;
            low = std::min(low, sx);
            high = std::max(high, sx);
        }
        BOOST_TEST(low < 0.6);
        BOOST_TEST(high > 1.4);
        BOOST_TEST(unequal == (independent ? rows : 0u));
    }
}

BOOST_AUTO_TEST_CASE(brightness_shifts_whole_samples_and_stays_in_range) {
    auto t = load<Transform>("brightness delta=0.5");
    const std::size_t rows = 50, n = 30;
    t->build({n});  // works on feature vectors too
    Floats x(rows * n);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 11) / 10.0f;
    for (std::size_t r = 0; r < rows; ++r) x[r * n + 5] = 0.5f;  // never clipped
    const Floats y = train(*t, x, rows);
    for (std::size_t r = 0; r < rows; ++r) {
        const float offset = y[r * n + 5] - x[r * n + 5];
        BOOST_TEST(std::abs(offset) <= 0.5f);
        for (std::size_t i = 0; i < n; ++i) {
            const float v = y[r * n + i];
            BOOST_TEST((v >= 0.0f && v <= 1.0f));
            BOOST_TEST(std::abs(v - std::clamp(x[r * n + i] + offset, 0.0f, 1.0f)) < 1e-6f);
        }
    }
    auto wide = load<Transform>("brightness delta=3 range=-1,2");
    wide->build({n});
    for (float v : train(*wide, x, rows)) BOOST_TEST((v >= -1.0f && v <= 2.0f));
}

BOOST_AUTO_TEST_CASE(contrast_scales_each_channel_about_its_mean_by_one_factor) {
    auto t = load<Transform>("contrast factor=0.5");
    const std::size_t rows = 40, plane = 16;
    t->build({2, 4, 4});
    Floats x(rows * 2 * plane);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = 0.4f + 0.2f * static_cast<float>((i * 5) % 17) / 16.0f;  // never clipped
    const Floats y = train(*t, x, rows);
    for (std::size_t r = 0; r < rows; ++r) {
        double c_first = 0;
        for (std::size_t ch = 0; ch < 2; ++ch) {
            const std::size_t base = (r * 2 + ch) * plane;
            double mean = 0;
            for (std::size_t i = 0; i < plane; ++i) mean += x[base + i];
            mean /= plane;
            // The factor read from the pixel farthest from the mean predicts every pixel of
            // both channels.
            std::size_t far = 0;
            for (std::size_t i = 1; i < plane; ++i)
                if (std::abs(x[base + i] - mean) > std::abs(x[base + far] - mean)) far = i;
            const double c = (y[base + far] - mean) / (x[base + far] - mean);
            if (ch == 0) c_first = c;
            BOOST_TEST((c >= 0.5 - 1e-3 && c <= 1.5 + 1e-3), c);
            BOOST_TEST(std::abs(c - c_first) < 1e-3);
            for (std::size_t i = 0; i < plane; ++i)
                BOOST_TEST(std::abs(y[base + i] - (mean + c * (x[base + i] - mean))) < 1e-5);
        }
    }
}

BOOST_AUTO_TEST_CASE(noise_has_the_requested_spread_on_any_shape) {
    auto t = load<Transform>("noise stddev=0.05");
    const std::size_t rows = 100, n = 1000;
    t->build({n});
    const Floats y = train(*t, Floats(rows * n, 0.25f), rows);
    double sum = 0, sum_sq = 0;
    for (float v : y) {
        sum += v - 0.25;
        sum_sq += (v - 0.25) * (v - 0.25);
    }
    const double count = static_cast<double>(y.size());
    const double mean = sum / count, sd = std::sqrt(sum_sq / count - mean * mean);
    // 100 000 draws: the standard error of the mean is 1.6e-4, of the std 1.1e-4.
    BOOST_TEST(std::abs(mean) < 8e-4, mean);
    BOOST_TEST(std::abs(sd - 0.05) < 6e-4, sd);

    auto clipped = load<Transform>("noise stddev=1 clip=true");
    clipped->build({n});
    std::size_t at_zero = 0;
    for (float v : train(*clipped, Floats(n, 0.0f), 1)) {
        BOOST_TEST((v >= 0.0f && v <= 1.0f));
        at_zero += v == 0.0f;
    }
    BOOST_TEST(at_zero > 400u);  // half the draws are negative
}

BOOST_AUTO_TEST_CASE(image_augmentations_need_images) {
    for (const char* spec : {"flip", "rotate", "shift", "zoom", "contrast"}) {
        BOOST_TEST_CONTEXT(spec) {
            auto t = load<Transform>(spec);
            BOOST_CHECK_THROW(t->build({784}), plexus::ShapeError);
            BOOST_TEST((t->build({28, 28}) == Shape{28, 28}));
        }
    }
    for (const char* spec : {"brightness", "noise"})
        BOOST_TEST((load<Transform>(spec)->build({784}) == Shape{784}));
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_rejected) {
    for (const char* spec : {"flip mode=diagonal", "flip p=1.5", "rotate degrees=200",
                             "rotate fill=wrap", "shift width=2", "zoom factor=1",
                             "noise stddev=-1", "contrast factor=1.5", "brightness delta=-0.1"})
        BOOST_CHECK_THROW(load<Transform>(spec), plexus::ParamError);
    for (const char* spec : {"brightness range=1,0", "contrast range=0", "noise range=x,1"})
        BOOST_CHECK_THROW(load<Transform>(spec), plexus::Error);
}
