// Float regression targets in the csv: and npy: readers (target=, columns=, targets=), and a
// test set checked against the training set's targets. Fixtures are written by the test;
// every expected value is read off the fixture by hand.
#define BOOST_TEST_MODULE reader_targets
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"
#include "reader_files.hpp"
#include "temp_dir.hpp"

using plexus::ConfigError;
using plexus::DataError;
using plexus::core::Dataset;
using plexus::core::load_dataset;
using plexus::test::check_eq;
using plexus::test::check_has;
using plexus::test::error_of;
using plexus::test::npy;
using plexus::test::raw;
using plexus::test::write_bytes;
using plexus::test::write_text;

namespace {

using Names = std::vector<std::string>;
using Floats = std::vector<float>;

struct TempDir : plexus::test::TempDir {
    TempDir() : plexus::test::TempDir("reader-targets") {}
    Dataset load(const std::string& spec, const Dataset* reference = nullptr) const {
        return load_dataset(spec, path, "exp.ini:3", reference);
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(csv_target_columns_are_float_targets) {
    TempDir tmp;
    write_text(tmp / "r.csv", "a,y,b,z\n1,0.7756,2,-3\n4,1e3,5,0.5\n7,-2,8,6\n");
    const Dataset one = tmp.load("csv:r.csv target=y");
    BOOST_TEST(one.count == 3u);
    BOOST_TEST(one.sample_shape.str() == "[3]");
    check_eq(one.f32, {1.f, 2.f, -3.f, 4.f, 5.f, 0.5f, 7.f, 8.f, 6.f});
    BOOST_TEST(one.target_width == 1u);
    check_eq(one.targets, {0.7756f, 1000.f, -2.f});
    check_eq(one.target_names, Names{"y"});
    BOOST_TEST(one.labels.empty());
    BOOST_TEST(one.classes == 0u);
    BOOST_TEST(one.has_targets());
    BOOST_TEST(!one.chronological);

    // Two targets in the order given (one by index), and columns= picks the features.
    const Dataset two = tmp.load("csv:r.csv target=z,1 columns=b");
    BOOST_TEST(two.target_width == 2u);
    check_eq(two.target_names, Names{"z", "y"});
    check_eq(two.targets, {-3.f, 0.7756f, 0.5f, 1000.f, 6.f, -2.f});
    check_eq(two.f32, {2.f, 5.f, 8.f});

    // columns= also works for classification, in the order given; unlisted columns are not read.
    write_text(tmp / "c.csv", "date,u,v,class\n2020-01-01,1,2,cat\n2020-01-02,3,4,dog\n");
    const Dataset cls = tmp.load("csv:c.csv columns=v,u");
    check_eq(cls.f32, {2.f, 1.f, 4.f, 3.f});
    check_eq(cls.class_names, Names{"cat", "dog"});
    BOOST_TEST(!cls.has_targets());

    write_text(tmp / "n.csv", "1,2,3.5\n4,5,6.25\n");
    const Dataset bare = tmp.load("csv:n.csv header=false target=2");
    check_eq(bare.targets, {3.5f, 6.25f});
    check_eq(bare.target_names, Names{"t0"});
}

BOOST_AUTO_TEST_CASE(csv_target_errors_name_file_line_and_column) {
    TempDir tmp;
    const std::string p = (tmp / "").string();
    write_text(tmp / "r.csv", "a,y\n1,2\n3,abc\n");
    check_has(error_of<DataError>([&] { tmp.load("csv:r.csv target=y"); }),
              {p + "r.csv:3: column 'y' (a target) is not a finite number: 'abc'"});
    for (const char* bad : {"nan", "inf", "-inf", "1e39", ""}) {
        write_text(tmp / "f.csv", std::string("a,y\n1,2\n3,") + bad + "\n");
        check_has(error_of<DataError>([&] { tmp.load("csv:f.csv target=y"); }),
                  {p + "f.csv:3: column 'y' (a target) is not a finite number"});
    }
    write_text(tmp / "h.csv", "a,y\n");
    check_has(error_of<DataError>([&] { tmp.load("csv:h.csv target=y"); }),
              {p + "h.csv: no data rows"});
    // Without target= a float column is still a label, and the message points at target=.
    check_has(error_of<ConfigError>([&] { tmp.load("csv:r.csv columns=y"); }),
              {"column 'y' is both a feature (columns=) and the label"});
    write_text(tmp / "g.csv", "a,y\n1,0.5\n");
    check_has(error_of<DataError>([&] { tmp.load("csv:g.csv"); }),
              {p + "g.csv:2: label '0.5'", "not a class id", "target=NAME"});

    const auto config = [&](const std::string& options) {
        return error_of<ConfigError>([&] { tmp.load("csv:g.csv " + options); });
    };
    check_has(config("target=yy"),
              {"exp.ini:3: " + p + "g.csv: target=yy names no column", "did you mean 'y'"});
    check_has(config("target=y label=a"), {"label= and target= are both given", "keep one"});
    check_has(config("target=y,y"), {"target column 'y' is listed twice"});
    check_has(config("target=y columns=a,y"),
              {"column 'y' is both a feature (columns=) and a target"});
    check_has(config("columns=a,a target=y"), {"column 'a' is listed twice in columns="});
    check_has(config("target=a,y"), {"no feature column is left besides a target"});
    check_has(config("target=5"), {"target=5 is out of range (the file has 2 columns"});
    check_has(config("target=y,"), {"exp.ini:3: bad value for target: 'y,'"});
    check_has(config("columns=,a"), {"bad value for columns: ',a'"});
}

BOOST_AUTO_TEST_CASE(test_sets_read_the_training_targets) {
    TempDir tmp;
    write_text(tmp / "train.csv", "a,y\n1,2.5\n");
    write_text(tmp / "test.csv", "y,a\n7.5,3\n");
    const Dataset train = tmp.load("csv:train.csv target=y");
    // Without label= or target=, a test CSV takes the training data's target columns.
    const Dataset test = tmp.load("csv:test.csv", &train);
    check_eq(test.targets, {7.5f});
    check_eq(test.f32, {3.f});
    check_has(error_of<DataError>([&] { tmp.load("csv:test.csv label=a", &train); }),
              {"exp.ini:3: " + (tmp / "test.csv").string() +
                   ": has class labels, the training data float targets (y)",
               "same label= or target= columns"});
    write_text(tmp / "cls.csv", "a,y\n1,0\n");
    const Dataset classes = tmp.load("csv:cls.csv");
    check_has(error_of<DataError>([&] { tmp.load("csv:test.csv target=a", &classes); }),
              {"has float targets (a), the training data class labels"});
    // A reference that knows neither classes nor targets checks nothing.
    Dataset unknown;
    unknown.sample_shape = {1};
    check_eq(tmp.load("csv:test.csv target=y", &unknown).targets, {7.5f});
}

BOOST_AUTO_TEST_CASE(npy_targets_are_float_rows) {
    TempDir tmp;
    write_bytes(tmp / "x.npy", npy("<f4", "(3, 2)", raw(Floats{1, 2, 3, 4, 5, 6})));
    write_bytes(tmp / "t.npy", npy("<f8", "(3,)", raw(std::vector<double>{0.5, -1.25, 1e3})));
    const Dataset a = tmp.load("npy:x.npy targets=t.npy");
    BOOST_TEST(a.count == 3u);
    BOOST_TEST(a.sample_shape.str() == "[2]");
    BOOST_TEST(a.target_width == 1u);
    check_eq(a.targets, {0.5f, -1.25f, 1000.f});
    check_eq(a.target_names, Names{"t0"});
    BOOST_TEST(a.labels.empty());

    write_bytes(tmp / "t2.npy",
                npy("<i4", "(3, 2)", raw(std::vector<std::int32_t>{1, -2, 3, 4, 5, 6})));
    const Dataset b = tmp.load("npy:x.npy targets=t2.npy");
    BOOST_TEST(b.target_width == 2u);
    check_eq(b.targets, {1.f, -2.f, 3.f, 4.f, 5.f, 6.f});
    check_eq(b.target_names, Names{"t0", "t1"});
}

BOOST_AUTO_TEST_CASE(npy_targets_reject_hostile_files) {
    TempDir tmp;
    const std::string p = (tmp / "").string();
    write_bytes(tmp / "x.npy", npy("<f4", "(2, 1)", raw(Floats{1, 2})));
    const auto err = [&](const std::string& name, const plexus::test::Bytes& bytes) {
        write_bytes(tmp / name, bytes);
        return error_of<DataError>([&] { tmp.load("npy:x.npy targets=" + name); });
    };
    check_has(err("n.npy", npy("<f4", "(3,)", raw(Floats{1, 2, 3}))),
              {p + "n.npy: target count does not match the data (expected 2 rows", "found 3"});
    check_has(err("r.npy", npy("<f4", "(2, 1, 1)", raw(Floats{1, 2}))),
              {p + "r.npy: targets must have shape (2,) or (2, k)", "found (2, 1, 1)"});
    check_has(err("k.npy", npy("<f4", "(2, 0)", {})), {"k >= 1", "found (2, 0)"});
    check_has(err("s.npy", npy("<f4", "()", raw(Floats{1}))), {p + "s.npy: targets must have"});
    // A header claiming an absurd shape is refused against the file size, before allocating.
    check_has(err("big.npy", npy("<f4", "(2, 4611686018427387904)", raw(Floats{1, 2}))),
              {p + "big.npy: shape (2, 4611686018427387904) is too large"});
    check_has(err("huge.npy", npy("<f4", "(2, 1000000000000)", raw(Floats{1, 2}))),
              {p + "huge.npy: truncated data"});
    const plexus::test::Bytes good = npy("<f4", "(2,)", raw(Floats{1, 2}));
    check_has(err("cut.npy", plexus::test::Bytes(good.begin(), good.end() - 2)),
              {p + "cut.npy: truncated data"});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    check_has(err("nan.npy", npy("<f4", "(2,)", raw(Floats{1, nan}))),
              {p + "nan.npy: target nan at index 1 (sample 1) is not a finite float32 value"});
    check_has(err("ovf.npy", npy("<f8", "(2,)", raw(std::vector<double>{1, 1e300}))),
              {"target 1.0000000000000001e+300 at index 1", "not a finite float32"});
    check_has(err("str.npy", npy("<U3", "(2,)", plexus::test::Bytes(24, 0))),
              {p + "str.npy: unsupported dtype '<U3'"});

    check_has(error_of<ConfigError>([&] { tmp.load("npy:x.npy"); }),
              {"exp.ini:3: npy:x.npy needs labels=PATH", "or targets=PATH"});
    check_has(error_of<ConfigError>([&] { tmp.load("npy:x.npy labels=a.npy targets=b.npy"); }),
              {"has both labels= and targets=; keep one"});
}
