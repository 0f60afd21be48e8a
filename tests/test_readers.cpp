// CSV, .npy and image-folder readers and the data-source dispatcher. Every fixture is written
// by the test itself (PNG and .npy by small independent writers, not by the libraries the
// readers use), and every expected value is worked out by hand.
#define BOOST_TEST_MODULE readers
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"
#include "png.hpp"
#include "reader_files.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::ConfigError;
using plexus::DataError;
using plexus::core::Dataset;
using plexus::core::load_dataset;

namespace {

using plexus::test::Bytes;
using plexus::test::check_eq;
using plexus::test::check_has;
using plexus::test::error_of;
using plexus::test::npy;
using plexus::test::png;
using plexus::test::raw;
using plexus::test::write_bytes;
using plexus::test::write_text;

using Names = std::vector<std::string>;
using Labels = std::vector<std::uint32_t>;

struct TempDir : plexus::test::TempDir {
    TempDir() : plexus::test::TempDir("readers") {}
    // Loads SPEC relative to this folder, as an experiment file here would.
    Dataset load(const std::string& spec, const Dataset* reference = nullptr) const {
        return load_dataset(spec, path, "exp.ini:7", reference);
    }
};

}  // namespace

// ---- CSV ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(csv_reads_quotes_bom_crlf_and_sorts_string_labels) {
    TempDir tmp;
    write_text(tmp / "d.csv",
               "\xEF\xBB\xBF"
               "a,b,species\r\n1.5,2,virginica\r\n-3,4e2,setosa\r\n"
               "0.25, +7 ,\"vers,\"\"icolor\"\r\n\r\n\n");
    const Dataset ds = tmp.load("csv:d.csv");
    BOOST_TEST(ds.count == 3u);
    BOOST_TEST(ds.sample_shape.str() == "[2]");
    BOOST_TEST(ds.u8.empty());
    check_eq(ds.f32, {1.5f, 2.0f, -3.0f, 400.0f, 0.25f, 7.0f});
    check_eq(ds.class_names, Names{"setosa", "vers,\"icolor", "virginica"});
    check_eq(ds.labels, Labels{2, 0, 1});
    BOOST_TEST(ds.classes == 3u);
}

BOOST_AUTO_TEST_CASE(csv_integer_labels_label_column_delimiters_and_no_header) {
    TempDir tmp;
    write_text(tmp / "n.csv", "x,y,target\n1,2,3\n4,5,0\n");
    const Dataset a = tmp.load("csv:n.csv");
    check_eq(a.labels, Labels{3, 0});
    check_eq(a.class_names, Names{"0", "1", "2", "3"});
    BOOST_TEST(a.classes == 4u);

    for (const char* spec : {"csv:n.csv label=x", "csv:n.csv label=0"}) {
        const Dataset b = tmp.load(spec);
        check_eq(b.f32, {2.f, 3.f, 5.f, 0.f});
        check_eq(b.labels, Labels{1, 4});
    }
    write_text(tmp / "t.tsv", "1\t2\tb\n3\t4\ta\n");
    const Dataset c = tmp.load("csv:t.tsv delimiter=tab header=false");
    check_eq(c.f32, {1.f, 2.f, 3.f, 4.f});
    check_eq(c.labels, Labels{1, 0});
    write_text(tmp / "s.csv", "7;1.0\n8;2.0\n");  // ids written as floats are still ids
    const Dataset d = tmp.load("csv:s.csv delimiter=semicolon header=false label=1");
    check_eq(d.labels, Labels{1, 2});
    check_eq(d.f32, {7.f, 8.f});
}

BOOST_AUTO_TEST_CASE(csv_reports_file_line_and_column) {
    TempDir tmp;
    const auto err = [&](const std::string& name, const std::string& text,
                         const std::string& options = "") {
        write_text(tmp / name, text);
        return error_of<DataError>([&] { tmp.load("csv:" + name + options); });
    };
    const std::string p = (tmp / "").string();
    check_has(err("r.csv", "a,b,c\n1,2,x\n3,4\n"), {p + "r.csv:3: expected 3 columns, found 2"});
    check_has(err("n.csv", "a,b,c\n1,2,x\n3,abc,y\n"),
              {p + "n.csv:3: column 'b' is not a number: 'abc'"});
    check_has(err("e.csv", "a,b,c\n1,,x\n"), {p + "e.csv:2: column 'b' is not a number: ''"});
    check_has(err("h.csv", "a,b,c\n", ""), {p + "h.csv: no data rows"});
    check_has(err("z.csv", ""), {p + "z.csv: empty file"});
    check_has(err("q.csv", "a,b\n1,\"x\n2,y\n"), {p + "q.csv:2: unterminated quoted field"});
    // A quoted line break moves the physical line numbers on.
    check_has(err("m.csv", "a,b\n1,\"two\nlines\"\n2,z,9\n"), {p + "m.csv:4: expected 2 columns"});
    check_has(err("f.csv", "a,b\n1,0.5\n2,1\n"), {p + "f.csv:2: label '0.5'", "not a class id"});
    check_has(err("i.csv", "a,b\n1,nan\n2,1\n", " label=a"), {p + "i.csv:2: column 'b'"});
    check_has(error_of<ConfigError>([&] { tmp.load("csv:r.csv label=zz"); }),
              {"exp.ini:7: " + p + "r.csv: label=zz names no column", "a, b, c"});
    check_has(error_of<DataError>([&] { tmp.load("csv:missing.csv"); }),
              {p + "missing.csv: cannot open"});
}

BOOST_AUTO_TEST_CASE(test_set_classes_follow_the_training_set) {
    TempDir tmp;
    write_text(tmp / "train.csv", "f,animal\n1,dog\n2,cat\n3,emu\n");
    write_text(tmp / "test.csv", "f,animal\n4,emu\n5,cat\n");
    const Dataset train = tmp.load("csv:train.csv");
    check_eq(train.class_names, Names{"cat", "dog", "emu"});
    const Dataset test = tmp.load("csv:test.csv", &train);
    check_eq(test.labels, Labels{2, 0});  // alone, the test file would say emu=1, cat=0
    check_eq(test.class_names, train.class_names);
    BOOST_TEST(test.classes == 3u);

    write_text(tmp / "bad.csv", "f,animal\n4,emu\n\n5,fox\n");
    check_has(error_of<DataError>([&] { tmp.load("csv:bad.csv", &train); }),
              {(tmp / "bad.csv").string() + ":4: label 'fox' is not a class of the training data",
               "cat, dog, emu"});

    // Plain ids keep their meaning against named classes (e.g. Fashion-MNIST's).
    Dataset named;
    named.classes = 3;
    named.class_names = {"T-shirt", "Trouser", "Pullover"};
    write_text(tmp / "ids.csv", "f,y\n1,2\n2,0\n");
    const Dataset ids = tmp.load("csv:ids.csv", &named);
    check_eq(ids.labels, Labels{2, 0});
    check_eq(ids.class_names, named.class_names);
    write_text(tmp / "big.csv", "f,y\n1,2\n2,5\n");
    check_has(error_of<DataError>([&] { tmp.load("csv:big.csv", &named); }),
              {(tmp / "big.csv").string() + ":3: label '5'"});
}

BOOST_AUTO_TEST_CASE(shipped_example_csvs_load) {
    const fs::path data = fs::path(PLEXUS_TEST_SOURCE_DIR) / "examples" / "data";
    const Dataset iris = load_dataset("csv:iris.csv", data, "");
    BOOST_TEST(iris.count == 150u);
    BOOST_TEST(iris.features() == 4u);
    check_eq(iris.class_names, Names{"setosa", "versicolor", "virginica"});
    check_eq(std::vector<float>(iris.f32.begin(), iris.f32.begin() + 4), {5.1f, 3.5f, 1.4f, 0.2f});
    const Dataset bc = load_dataset("csv:" + (data / "breast_cancer.csv").string(), {}, "");
    BOOST_TEST(bc.count == 569u);
    BOOST_TEST(bc.features() == 30u);
    check_eq(bc.class_names, Names{"benign", "malignant"});
    std::size_t malignant = 0;
    for (auto l : bc.labels) malignant += l;
    BOOST_TEST(malignant == 212u);
}

// ---- .npy --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(npy_reads_float_and_byte_arrays_with_integer_labels) {
    TempDir tmp;
    write_bytes(tmp / "x.npy", npy("<f4", "(3, 2)", raw(std::vector<float>{1, 2, 3, 4, 5, 6.5f})));
    write_bytes(tmp / "y.npy", npy("<i8", "(3,)", raw(std::vector<std::int64_t>{2, 0, 2})));
    const Dataset a = tmp.load("npy:x.npy labels=y.npy");
    BOOST_TEST(a.count == 3u);
    BOOST_TEST(a.sample_shape.str() == "[2]");
    check_eq(a.f32, {1.f, 2.f, 3.f, 4.f, 5.f, 6.5f});
    check_eq(a.labels, Labels{2, 0, 2});
    check_eq(a.class_names, Names{"0", "1", "2"});

    write_bytes(tmp / "d.npy", npy("<f8", "(2, 1)", raw(std::vector<double>{0.25, -1e3}), 2));
    write_bytes(tmp / "l.npy", npy("<f4", "(2, 1)", raw(std::vector<float>{1, 0})));
    const Dataset b = tmp.load("npy:d.npy labels=l.npy");
    check_eq(b.f32, {0.25f, -1000.f});
    check_eq(b.labels, Labels{1, 0});

    Bytes pixels = {0, 1, 2, 3, 250, 251, 252, 253};
    write_bytes(tmp / "u.npy", npy("|u1", "(2, 2, 2)", pixels));
    write_bytes(tmp / "ul.npy", npy("|u1", "(2,)", {1, 1}));
    const Dataset c = tmp.load("npy:u.npy labels=ul.npy");
    BOOST_TEST(c.f32.empty());
    check_eq(c.u8, pixels);
    BOOST_TEST(c.sample_shape.str() == "[2, 2]");
    check_eq(c.labels, Labels{1, 1});
}

BOOST_AUTO_TEST_CASE(npy_rejects_malformed_files) {
    TempDir tmp;
    write_bytes(tmp / "y.npy", npy("<i4", "(2,)", raw(std::vector<std::int32_t>{0, 1})));
    const auto err = [&](const std::string& name, const Bytes& bytes) {
        write_bytes(tmp / name, bytes);
        return error_of<DataError>([&] { tmp.load("npy:" + name + " labels=y.npy"); });
    };
    const std::string p = (tmp / "").string();
    const Bytes good = npy("<f4", "(2, 2)", raw(std::vector<float>{1, 2, 3, 4}));
    Bytes magic = good;
    magic[1] = 'X';
    check_has(err("magic.npy", magic), {p + "magic.npy: not a .npy file"});
    check_has(err("trunc.npy", Bytes(good.begin(), good.end() - 1)),
              {p + "trunc.npy: truncated data (expected 16 bytes", "found 15"});
    Bytes trailing = good;
    trailing.push_back(0);
    check_has(err("trail.npy", trailing), {p + "trail.npy: trailing bytes"});
    check_has(err("head.npy", Bytes(good.begin(), good.begin() + 40)),
              {p + "head.npy: truncated header"});
    check_has(err("empty.npy", {}), {p + "empty.npy: empty file"});
    check_has(err("huge.npy", npy("<f4", "(1000000000000000000, 1)", {})),
              {p + "huge.npy: truncated data"});
    check_has(err("over.npy", npy("<f8", "(4294967296, 4294967296, 16)", {})),
              {p + "over.npy: shape (4294967296, 4294967296, 16) is too large"});
    check_has(
        err("fortran.npy", npy("<f4", "(2, 2)", raw(std::vector<float>{1, 2, 3, 4}), 1, true)),
        {p + "fortran.npy: Fortran-order"});
    check_has(err("flat.npy", npy("<f4", "(2,)", raw(std::vector<float>{1, 2}))),
              {p + "flat.npy: data need at least 2 dimensions"});
    check_has(err("int.npy", npy("<i4", "(2, 1)", raw(std::vector<std::int32_t>{1, 2}))),
              {p + "int.npy: unsupported dtype '<i4'"});
    check_has(err("big.npy", npy(">f4", "(2, 1)", Bytes(8))),
              {p + "big.npy: unsupported byte order"});
    Bytes version = good;
    version[6] = 3;
    check_has(err("v3.npy", version), {p + "v3.npy: unsupported .npy format version 3.0"});
    Bytes dict = good;
    dict[10] = '[';
    check_has(err("dict.npy", dict), {p + "dict.npy: malformed header"});
    check_has(err("nan.npy", npy("<f4", "(2, 1)", raw(std::vector<float>{1, NAN}))),
              {p + "nan.npy: element 1 (sample 1) is not a finite"});

    write_bytes(tmp / "x3.npy", npy("<f4", "(3, 1)", raw(std::vector<float>{1, 2, 3})));
    check_has(error_of<DataError>([&] { tmp.load("npy:x3.npy labels=y.npy"); }),
              {p + "y.npy: label count does not match", "expected 3 labels for " + p + "x3.npy",
               "found 2"});
    check_has(error_of<DataError>([&] { tmp.load("npy:x.npy labels=y.npy"); }),
              {p + "x.npy: cannot open (no such file)"});
    write_bytes(tmp / "x.npy", good);
    write_bytes(tmp / "neg.npy", npy("<i4", "(2,)", raw(std::vector<std::int32_t>{0, -1})));
    check_has(error_of<DataError>([&] { tmp.load("npy:x.npy labels=neg.npy"); }),
              {p + "neg.npy: label -1 at index 1 is not a class id"});
    check_has(error_of<ConfigError>([&] { tmp.load("npy:x.npy"); }),
              {"exp.ini:7: npy:x.npy needs labels=PATH"});
}

// ---- Image folders -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(image_folder_sorts_classes_and_converts_channels) {
    TempDir tmp;
    // Created out of order; loaded as a_cat (0) then b_dog (1), files sorted within each.
    write_bytes(tmp / "img/b_dog/2.png", png(2, 1, 1, {10, 20}));
    write_bytes(tmp / "img/b_dog/1.png", png(2, 1, 4, {255, 0, 0, 9, 0, 255, 0, 9}));
    write_bytes(tmp / "img/a_cat/x.PNG", png(2, 1, 3, {0, 0, 255, 1, 2, 3}));
    write_text(tmp / "img/a_cat/notes.txt", "not an image");
    write_bytes(tmp / "img/a_cat/.hidden.png", {1, 2, 3});
    write_bytes(tmp / "img/.git/x.png", {1, 2, 3});

    const Dataset rgb = tmp.load("dir:img");
    BOOST_TEST(rgb.sample_shape.str() == "[3, 1, 2]");  // colour present: 3 channels
    BOOST_TEST(rgb.count == 3u);
    check_eq(rgb.class_names, Names{"a_cat", "b_dog"});
    check_eq(rgb.labels, Labels{0, 1, 1});
    check_eq(rgb.u8, Bytes{0, 1, 0, 2, 255, 3,        // x.PNG: R plane, G plane, B plane
                           255, 0, 0, 255, 0, 0,      // 1.png, alpha dropped
                           10, 20, 10, 20, 10, 20});  // 2.png, gray replicated

    const Dataset gray = tmp.load("dir:img channels=1");
    BOOST_TEST(gray.sample_shape.str() == "[1, 1, 2]");
    // luma 0.299 R + 0.587 G + 0.114 B, rounded: blue 255 -> 29, (1,2,3) -> 2, red -> 76,
    // green -> 150.
    check_eq(gray.u8, Bytes{29, 2, 76, 150, 10, 20});
}

BOOST_AUTO_TEST_CASE(image_folder_resizes_bilinearly) {
    TempDir tmp;
    write_bytes(tmp / "a/c/1.png", png(2, 1, 1, {0, 200}));
    write_bytes(tmp / "a/c/2.png", png(4, 1, 1, {0, 100, 200, 100}));
    // Default size: the first image's (1x2); the 4-wide image is halved: pixel centres 0.5 and
    // 2.5 give 50 and 150.
    const Dataset d = tmp.load("dir:a");
    BOOST_TEST(d.sample_shape.str() == "[1, 1, 2]");
    check_eq(d.u8, Bytes{0, 200, 50, 150});
    // Doubled: centres -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
    const Dataset e = tmp.load("dir:a size=1x4");
    check_eq(e.u8, Bytes{0, 50, 150, 200, 0, 100, 200, 100});
}

BOOST_AUTO_TEST_CASE(image_folder_errors_and_test_sets) {
    TempDir tmp;
    const std::string p = (tmp / "").string();
    write_bytes(tmp / "train/a/1.png", png(2, 1, 1, {1, 2}));
    write_bytes(tmp / "train/b/1.png", png(2, 1, 1, {3, 4}));
    const Dataset train = tmp.load("dir:train");

    write_bytes(tmp / "test/b/1.png", png(4, 2, 3, Bytes(24, 100)));
    const Dataset test = tmp.load("dir:test", &train);
    BOOST_TEST(test.sample_shape.str() == "[1, 1, 2]");
    check_eq(test.labels, Labels{1});
    check_eq(test.u8, Bytes{100, 100});
    check_eq(test.class_names, Names{"a", "b"});
    check_has(
        error_of<ConfigError>([&] { tmp.load("dir:test size=8x8", &train); }),
        {"exp.ini:7: size=8x8 differs from the training images [1, 1, 2] (size=1x2 channels=1); "
         "images are brought to the training shape, so drop these options"});

    // IDX images are [H, W]: a folder is brought to one channel of that size, in that shape.
    Dataset idx_like;
    idx_like.sample_shape = {1, 2};
    idx_like.class_names = {"a", "b"};
    const Dataset gray = tmp.load("dir:test", &idx_like);
    BOOST_TEST(gray.sample_shape.str() == "[1, 2]");
    check_eq(gray.u8, Bytes{100, 100});
    check_has(error_of<ConfigError>([&] { tmp.load("dir:test channels=3", &idx_like); }),
              {"exp.ini:7: channels=3 differs from the training images [1, 2] (size=1x2 "
               "channels=1)"});

    write_bytes(tmp / "other/c/1.png", png(2, 1, 1, {1, 2}));
    check_has(error_of<DataError>([&] { tmp.load("dir:other", &train); }),
              {p + "other/c: label 'c' is not a class of the training data (training classes: "
                   "a, b)"});

    write_bytes(tmp / "bad/a/1.png", png(2, 1, 1, {1, 2}));
    write_text(tmp / "bad/a/2.png", "this is no png");
    check_has(error_of<DataError>([&] { tmp.load("dir:bad channels=1 size=1x2"); }),
              {p + "bad/a/2.png: cannot decode the image (stb_image: "});
    Bytes cut = png(8, 8, 1, Bytes(64, 7));
    cut.resize(cut.size() - 30);
    write_bytes(tmp / "cut/a/1.png", cut);
    check_has(error_of<DataError>([&] { tmp.load("dir:cut channels=1 size=8x8"); }),
              {p + "cut/a/1.png: cannot decode the image (stb_image: "});

    fs::create_directories(tmp / "flat");
    write_bytes(tmp / "flat/1.png", png(2, 1, 1, {1, 2}));
    check_has(error_of<DataError>([&] { tmp.load("dir:flat"); }),
              {p + "flat: no class subfolders"});
    fs::create_directories(tmp / "hollow/a");
    write_text(tmp / "hollow/a/readme.txt", "x");
    check_has(error_of<DataError>([&] { tmp.load("dir:hollow"); }),
              {p + "hollow/a: no images in this class folder"});
    check_has(error_of<DataError>([&] { tmp.load("dir:nowhere"); }), {p + "nowhere: cannot open"});
}

// ---- Dispatcher --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(dispatcher_validates_schemes_and_options) {
    TempDir tmp;
    write_text(tmp / "d.csv", "a,b\n1,x\n");
    const auto config_error = [&](const std::string& spec) {
        return error_of<ConfigError>([&] { tmp.load(spec); });
    };
    check_has(config_error("csvv:d.csv"), {"exp.ini:7: unknown data source scheme 'csvv:'",
                                           "did you mean 'csv'", "npy:PATH labels=PATH"});
    check_has(config_error("d.csv"), {"exp.ini:7: data source 'd.csv' has no scheme"});
    check_has(config_error("csv:"), {"exp.ini:7: missing path after 'csv:'"});
    check_has(
        config_error("csv:d.csv lable=b"),
        {"exp.ini:7: unknown option 'lable'", "did you mean 'label'", "label, delimiter, header"});
    check_has(config_error("idx:x size=2"), {"unknown option 'size'", "idx: takes no options"});
    check_has(config_error("csv:d.csv header=yes"),
              {"exp.ini:7: bad value for header: 'yes' (expected true or false)"});
    check_has(config_error("csv:d.csv delimiter=ab"), {"bad value for delimiter: 'ab'"});
    check_has(config_error("dir:x size=0x3"), {"bad value for size: '0x3'", "HxW"});
    check_has(config_error("dir:x channels=2"), {"bad value for channels: '2' (expected 1 or 3)"});
    check_has(config_error("csv:d.csv header"), {"expected key=value after the data path"});
    check_has(config_error("csv:d.csv header=true header=false"), {"'header' is given twice"});

    // Absolute paths ignore base_dir; an empty base_dir means the current folder.
    const Dataset abs =
        load_dataset("  csv:" + (tmp / "d.csv").string() + "  ", "/nonexistent", "");
    BOOST_TEST(abs.count == 1u);

    // idx: goes to the existing IDX reader.
    Bytes images = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 5, 6, 7, 8};
    write_bytes(tmp / "m-images-idx3-ubyte", images);
    write_bytes(tmp / "m-labels-idx1-ubyte", {0, 0, 8, 1, 0, 0, 0, 2, 1, 0});
    const Dataset idx = tmp.load("idx:m");
    check_eq(idx.u8, Bytes{5, 6, 7, 8});
    check_eq(idx.labels, Labels{1, 0});
}
