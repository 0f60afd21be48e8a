// series: sources (windows, horizons, strides, relative windows, keys, gap filling, hostile
// options) and chronological splits of them: no window crosses a split boundary, time order
// is kept, and a scaler fitted on the training split never sees the test part. Expected
// values are read off the fixtures by hand.
#define BOOST_TEST_MODULE series
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "plexus/core/data/pipeline.hpp"
#include "plexus/core/data/readers/sources.hpp"
#include "plexus/core/data/run_data.hpp"
#include "plexus/core/experiment/settings.hpp"
#include "plexus/core/registry/registry.hpp"
#include "plexus/error.hpp"
#include "plexus/plexus.hpp"
#include "reader_files.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::ConfigError;
using plexus::DataError;
using plexus::core::Dataset;
using plexus::test::check_eq;
using plexus::test::check_has;
using plexus::test::error_of;
using plexus::test::write_text;

namespace {

using Names = std::vector<std::string>;
using Floats = std::vector<float>;
using Ids = std::vector<std::uint32_t>;

struct TempDir : plexus::test::TempDir {
    TempDir() : plexus::test::TempDir("series") {}
    Dataset load(const std::string& spec) const {
        return plexus::core::load_dataset(spec, path, "exp.ini:4", nullptr);
    }
    // load_run_data for an experiment whose [data] section is `data`, paths relative to here.
    std::unique_ptr<plexus::core::RunData> run_data(const std::string& data) const {
        const auto exp =
            plexus::core::Experiment::parse("[data]\n" + data, (path / "exp.ini").string());
        return plexus::core::load_run_data(plexus::core::read_settings(exp).data);
    }
};

const char* kSix = "date,a,b\nd0,1,10\nd1,2,20\nd2,4,40\nd3,7,70\nd4,11,110\nd5,16,160\n";

// Rows 0..n-1 of "t,v" with v = t + (t >= jump_at ? jump : 0).
std::string ramp(std::size_t n, std::size_t jump_at = ~std::size_t{0}, double jump = 0) {
    std::string s = "t,v\n";
    for (std::size_t t = 0; t < n; ++t)
        s += std::to_string(t) + "," +
             std::to_string(static_cast<double>(t) + (t >= jump_at ? jump : 0.0)) + "\n";
    return s;
}

Ids iota(std::uint32_t from, std::uint32_t to) {  // from .. to, inclusive
    Ids v(to - from + 1);
    std::iota(v.begin(), v.end(), from);
    return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(windows_targets_and_keys) {
    TempDir tmp;
    write_text(tmp / "s.csv", kSix);
    const Dataset d = tmp.load("series:s.csv columns=a,b target=b window=2 horizon=1");
    BOOST_TEST(d.count == 4u);  // (6 - 2 - 1) / 1 + 1
    BOOST_TEST(d.sample_shape.str() == "[2, 2]");
    check_eq(d.f32, {1, 10, 2, 20, 2, 20, 4, 40, 4, 40, 7, 70, 7, 70, 11, 110});
    check_eq(d.targets, {40, 70, 110, 160});
    check_eq(d.target_names, Names{"b"});
    BOOST_TEST(d.target_width == 1u);
    BOOST_TEST(d.target_base.empty());
    check_eq(d.keys, Names{"d2", "d3", "d4", "d5"});
    BOOST_TEST(d.key_name == "date");
    BOOST_TEST(d.chronological);
    BOOST_TEST(d.labels.empty());
    BOOST_TEST(d.spans.size() == 4u);
    BOOST_TEST(d.spans[0][0] == 0u);
    BOOST_TEST(d.spans[0][1] == 2u);
    BOOST_TEST(d.spans[3][0] == 3u);
    BOOST_TEST(d.spans[3][1] == 5u);

    // Stride 2: windows start at rows 0 and 2; horizon 2 with window 3: rows 0-2 -> row 4.
    const Dataset strided = tmp.load("series:s.csv target=b window=2 stride=2");
    check_eq(strided.f32, {10, 20, 40, 70});
    check_eq(strided.targets, {40, 110});
    check_eq(strided.keys, Names{"d2", "d4"});
    const Dataset ahead = tmp.load("series:s.csv target=a window=3 horizon=2");
    check_eq(ahead.f32, {1, 2, 4, 2, 4, 7});
    check_eq(ahead.targets, {11, 16});
    BOOST_TEST(ahead.spans[1][1] == 5u);

    // Relative: each window minus its last row, the target as the change from the last value.
    const Dataset rel = tmp.load("series:s.csv columns=a,b target=b window=2 relative=true");
    check_eq(rel.f32, {-1, -10, 0, 0, -2, -20, 0, 0, -3, -30, 0, 0, -4, -40, 0, 0});
    check_eq(rel.targets, {20, 30, 40, 50});
    check_eq(rel.target_base, {20, 40, 70, 110});

    // Two targets; time= names the key column; without a time-like column, the row index.
    const Dataset two = tmp.load("series:s.csv columns=a target=a,b window=1 time=a");
    check_eq(two.targets, {2, 20, 4, 40, 7, 70, 11, 110, 16, 160});
    check_eq(two.keys, Names{"2", "4", "7", "11", "16"});
    write_text(tmp / "n.csv", "x,y\n1,5\n2,6\n3,7\n");
    const Dataset rows = tmp.load("series:n.csv target=y window=2");
    check_eq(rows.keys, Names{"2"});
    BOOST_TEST(rows.key_name == "row");
}

BOOST_AUTO_TEST_CASE(gaps_inside_are_interpolated_gaps_at_the_ends_are_errors) {
    TempDir tmp;
    write_text(tmp / "g.csv", "t,v\n1,1\n2,\n3,NA\n4,7\n5,nan\n6,9\n");
    const Dataset d = tmp.load("series:g.csv target=v window=1");
    check_eq(d.f32, {1, 3, 5, 7, 8});
    check_eq(d.targets, {3, 5, 7, 8, 9});
    BOOST_TEST(d.warnings.size() == 1u);
    check_has(d.warnings.at(0), {"warning: " + (tmp / "g.csv").string() +
                                 ": filled 3 missing values in column 'v' by linear "
                                 "interpolation"});
    const std::string p = (tmp / "").string();
    write_text(tmp / "start.csv", "t,v\n1,\n2,n/a\n3,5\n4,6\n");
    check_has(error_of<DataError>([&] { tmp.load("series:start.csv target=v window=1"); }),
              {p + "start.csv: column 'v' has no value on lines 2-3, at the start"});
    write_text(tmp / "end.csv", "t,v\n1,1\n2,2\n3,null\n");
    check_has(error_of<DataError>([&] { tmp.load("series:end.csv target=v window=1"); }),
              {p + "end.csv: column 'v' has no value on line 4, at the end"});
    write_text(tmp / "none.csv", "t,v\n1,\n2,\n");
    check_has(error_of<DataError>([&] { tmp.load("series:none.csv target=v window=1"); }),
              {p + "none.csv: column 'v' has no values"});
    // The shipped co2 series: 59 missing weeks, e.g. row 6 between 316.9 and 317.5.
    const fs::path data = fs::path(PLEXUS_TEST_SOURCE_DIR) / "examples" / "data";
    const Dataset co2 =
        plexus::core::load_dataset("series:co2.csv target=co2 window=52", data, "", nullptr);
    BOOST_TEST(co2.count == 2232u);  // 2284 weeks - 52 - 1 + 1
    BOOST_TEST(co2.f32[6] == 317.2f, boost::test_tools::tolerance(1e-4f));
    BOOST_TEST(co2.f32[9] == 317.55f, boost::test_tools::tolerance(1e-4f));  // 5-week gap, 1/6
    BOOST_TEST(co2.targets[0] == 316.7f);
    BOOST_TEST(co2.keys.front() == "19590328");
    BOOST_TEST(co2.keys.back() == "20011229");
    check_has(co2.warnings.at(0), {"filled 59 missing values in column 'co2'"});
}

BOOST_AUTO_TEST_CASE(hostile_options_and_files_get_one_line_errors) {
    TempDir tmp;
    const std::string p = (tmp / "").string();
    write_text(tmp / "s.csv", kSix);
    const auto config = [&](const std::string& spec) {
        return error_of<ConfigError>([&] { tmp.load(spec); });
    };
    check_has(config("series:s.csv target=b window=6"),
              {"exp.ini:4: " + p + "s.csv: window=6 + horizon=1 needs at least 7 rows", "has 6"});
    check_has(config("series:s.csv target=bb window=2"),
              {"target=bb names no column", "did you mean 'b'", "date, a, b"});
    check_has(config("series:s.csv columns=a,c target=b window=2"), {"columns=c names no column"});
    check_has(config("series:s.csv columns=a,a target=b window=2"), {"listed twice in columns="});
    check_has(config("series:s.csv target=b,b window=2"), {"listed twice in target="});
    check_has(config("series:s.csv target=b window=2 time=when"), {"time=when names no column"});
    for (const char* bad : {"0", "-1", "abc", "99999999999999999999999", "16777217"})
        check_has(
            config(std::string("series:s.csv target=b window=") + bad),
            {"exp.ini:4: bad value for window: '" + std::string(bad) + "'", "from 1 to 16777216"});
    check_has(config("series:s.csv target=b window=2 horizon=0"), {"bad value for horizon"});
    check_has(config("series:s.csv target=b window=2 stride=x"), {"bad value for stride"});
    check_has(config("series:s.csv target=b window=2 relative=yes"), {"bad value for relative"});
    check_has(config("series:s.csv window=2"), {"needs target=NAME"});
    check_has(config("series:s.csv target=b"), {"needs window=W"});
    check_has(config("series:s.csv target=b window=2 label=b"),
              {"unknown option 'label'", "columns, target, window"});

    const auto data = [&](const std::string& name, const std::string& text,
                          const std::string& options = " target=v window=1") {
        write_text(tmp / name, text);
        return error_of<DataError>([&] { tmp.load("series:" + name + options); });
    };
    check_has(data("h.csv", "t,v\n"), {p + "h.csv: no data rows"});
    check_has(data("e.csv", ""), {p + "e.csv: empty file"});
    check_has(data("x.csv", "t,v\n1,2\n2,abc\n"),
              {p + "x.csv:3: column 'v' is not a number: 'abc'"});
    check_has(data("i.csv", "t,v\n1,2\n2,inf\n"), {p + "i.csv:3: column 'v' is not a number"});
    check_has(data("r.csv", "t,v\n1,2\n2\n"), {p + "r.csv:3: expected 2 columns, found 1"});
    check_has(data("o.csv", "date,v\n20200102,1\n20200101,2\n20200103,3\n"),
              {p + "o.csv:3: column 'date' goes back in time ('20200101' after '20200102')"});
    // 40,000 rows in windows of 20,000: 20,000 windows would take 4e8 floats.
    check_has(data("big.csv", ramp(40000), " target=v window=20000"),
              {p + "big.csv: 20000 windows of 20000 x 1 values exceed the limit", "stride="});
}

BOOST_AUTO_TEST_CASE(chronological_splits_never_cross_a_boundary) {
    TempDir tmp;
    write_text(tmp / "r.csv", ramp(100));
    // No split key: 70:15:15 chronological. Window 5 + horizon 1 reads 6 rows: train windows
    // end before row 70 (i <= 64), validation ones lie in rows 70-84 (i = 70..79), test ones
    // in rows 85-99 (i = 85..94); the 10 windows that cross a cut belong to no split.
    const auto d = tmp.run_data("train = series:r.csv target=v window=5\n");
    check_eq(d->train.indices, iota(0, 64));
    check_eq(d->validation.indices, iota(70, 79));
    check_eq(d->test.indices, iota(85, 94));
    BOOST_TEST(d->split_json["chronological"]["dropped_at_cuts"] == 10);
    // The values themselves are row numbers: every row a train window reads comes before
    // every row a validation window reads, and those before the test windows' rows.
    const auto rows = [&](const plexus::core::Subset& s, bool lowest) {
        float v = lowest ? 1e9f : -1e9f;
        for (auto i : s.indices) {
            for (std::size_t k = 0; k < 5; ++k)
                v = lowest ? std::min(v, s.data->f32[i * 5 + k])
                           : std::max(v, s.data->f32[i * 5 + k]);
            v = lowest ? v : std::max(v, s.data->targets[i]);
        }
        return v;
    };
    BOOST_TEST(rows(d->train, false) < rows(d->validation, true));
    BOOST_TEST(rows(d->validation, false) < rows(d->test, true));

    // split = 80:20 with validation = 0.1: the last 10 % of the 80 training rows validate.
    const auto v = tmp.run_data(
        "train = series:r.csv target=v window=5\nsplit = 80:20\n"
        "validation = 0.1\n");
    check_eq(v->train.indices, iota(0, 66));        // rows up to 71
    check_eq(v->validation.indices, iota(72, 74));  // rows 72-79
    check_eq(v->test.indices, iota(80, 94));        // rows 80-99

    // A part too short for one window is an error, not an empty split.
    write_text(tmp / "short.csv", ramp(20));
    check_has(error_of<ConfigError>(
                  [&] { tmp.run_data("train = series:short.csv target=v window=5\n"); }),
              {"chronological validation part (15 % of the rows) holds no whole window",
               "each reads 6 rows"});
}

BOOST_AUTO_TEST_CASE(chronological_data_refuses_stratified_and_keeps_file_order) {
    TempDir tmp;
    write_text(tmp / "r.csv", ramp(100));
    check_has(
        error_of<ConfigError>([&] {
            tmp.run_data("train = series:r.csv target=v window=5\nsplit = 80:20 stratified\n");
        }),
        {"exp.ini:3: 'stratified' keeps class proportions", "has float targets",
         "a series splits chronologically", "drop 'stratified'"});
    write_text(tmp / "c.csv", "x,y\n1,0.5\n2,1.5\n3,2.5\n4,3.5\n5,4.5\n");
    check_has(error_of<ConfigError>([&] {
                  tmp.run_data("train = csv:c.csv target=y\nvalidation = 0.2 stratified\n");
              }),
              {"exp.ini:3: 'stratified' keeps class proportions", "has float targets"});
    write_text(tmp / "k.csv", "x,k\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n7,a\n8,b\n9,a\n10,b\n");
    check_has(error_of<ConfigError>([&] {
                  tmp.run_data(
                      "train = csv:k.csv\nsplit = 80:20 chronological\n"
                      "validation = 0.1 stratified\n");
              }),
              {"'stratified' and 'chronological' cannot be combined"});

    // Plain rows split chronologically: the last 20 % test, in order.
    const auto rows = tmp.run_data("train = csv:k.csv\nsplit = 80:20 chronological\n");
    check_eq(rows->train.indices, iota(0, 7));
    check_eq(rows->test.indices, iota(8, 9));

    // A series test file keeps its time order (a forecast is read in order).
    write_text(tmp / "later.csv", ramp(30));
    const auto f = tmp.run_data(
        "train = series:r.csv target=v window=5\ntest = series:later.csv target=v window=5\n");
    check_eq(f->test.indices, iota(0, 24));
    BOOST_TEST(f->validation.size() == 0u);
    check_eq(f->train.indices, iota(0, 94));
    // A test series cut into other windows is refused, even with as many values per window.
    write_text(tmp / "two.csv", "t,v,w\n" + std::string("1,2,3\n2,3,4\n3,4,5\n4,5,6\n"));
    check_has(error_of<DataError>([&] {
                  tmp.run_data(
                      "train = series:r.csv target=v window=4\n"
                      "test = series:two.csv columns=v,w target=v window=2\n");
              }),
              {"two.csv: windows are [2, 2] (window x columns), the training windows [4, 1]"});
    check_has(error_of<DataError>([&] {
                  tmp.run_data(
                      "train = series:r.csv target=v window=4 relative=true\n"
                      "test = series:later.csv target=v window=4\n");
              }),
              {"later.csv: relative=false, the training series relative=true"});
}

BOOST_AUTO_TEST_CASE(scalers_see_only_the_training_part) {
    TempDir tmp;
    // Rows 85-99 (the test part) jump by a million: if a test window leaked into the fit,
    // the fitted mean would move by more than 100,000.
    write_text(tmp / "j.csv", ramp(100, 85, 1e6));
    const auto d = tmp.run_data("train = series:j.csv target=v window=5\n");
    for (auto i : d->train.indices) BOOST_TEST(d->train_data.targets[i] < 1000.0f);
    static const plexus::core::Registry registry;
    plexus::core::Pipeline p;
    p.add(registry.create_as<plexus::Transform>("standardize"), "standardize");
    p.build(d->train_data.sample_shape, 8, 1.0f, 1);
    p.fit(d->train_data, d->train.indices);
    // Train windows i = 0..64 hold rows i..i+4: position k has mean 32 + k and the
    // population standard deviation of 0..64, sqrt((65^2 - 1) / 12) = sqrt(352).
    std::vector<float> out(5);
    const Ids first = {0};
    p.prepare(d->train_data, first.data(), 1, plexus::Mode::infer, 0, out.data());
    for (std::size_t k = 0; k < 5; ++k)
        BOOST_TEST(out[k] == (double(k) - (32.0 + double(k))) / std::sqrt(352.0),
                   boost::test_tools::tolerance(1e-4));
}
