// The SDK's support headers (plexus/support/*.hpp) as a plugin uses them: only SDK headers are
// included here, and every expected value is written out by hand (or by printf, for the
// number formats the run files keep).
#define BOOST_TEST_MODULE sdk_support
#include <fmt/format.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "check_close.hpp"
#include "plexus/plexus.hpp"
#include "plexus/support/class_rows.hpp"
#include "plexus/support/device_counts.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/image.hpp"
#include "plexus/support/index_ranges.hpp"
#include "plexus/support/monitor.hpp"
#include "plexus/support/run_path.hpp"
#include "plexus/support/text.hpp"
#include "plexus/support/value_range.hpp"
#include "plexus/testing.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace plexus::support;
using plexus::test::check_close;
using Floats = std::vector<float>;
using Strings = std::vector<std::string>;

namespace {

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

plexus::Params monitor_params(const std::string& monitor, const std::string& mode = "auto") {
    plexus::Params p;
    p.set("monitor", monitor);
    p.set("mode", mode);
    return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(text_trims_splits_and_joins) {
    BOOST_TEST(trim(" \t a b \r\n") == "a b");
    BOOST_TEST(trim(" \n ") == "");
    BOOST_TEST(split("a,,b", ',') == (Strings{"a", "", "b"}), boost::test_tools::per_element());
    BOOST_TEST(split("", ',') == (Strings{""}), boost::test_tools::per_element());
    BOOST_TEST(split("a,", ',') == (Strings{"a", ""}), boost::test_tools::per_element());
    BOOST_TEST(join({"a", "b", "c"}) == "a, b, c");
    BOOST_TEST(join({"x", "y"}, ":") == "x:y");
    BOOST_TEST(join({}) == "");
}

BOOST_AUTO_TEST_CASE(text_suggests_the_closest_name_only_when_it_is_close) {
    BOOST_TEST(edit_distance("kitten", "sitting") == 3u);
    BOOST_TEST(edit_distance("", "abc") == 3u);
    const Strings names = {"dense", "dropout", "relu"};
    BOOST_TEST(closest_match("dens", names) == "dense");
    BOOST_TEST(closest_match("convolution", names) == "");
    BOOST_TEST(did_you_mean("dropot", names) == " (did you mean 'dropout'?)");
    BOOST_TEST(did_you_mean("xyzzy", names) == "");
}

BOOST_AUTO_TEST_CASE(parse_pair_accepts_exactly_two_numbers) {
    double a = 0, b = 0;
    BOOST_TEST(parse_pair("-1,2.5", ',', a, b));
    BOOST_TEST(a == -1.0);
    BOOST_TEST(b == 2.5);
    std::size_t h = 0, w = 0;
    BOOST_TEST(parse_pair("28x32", 'x', h, w));
    BOOST_TEST(h == 28u);
    BOOST_TEST(w == 32u);
    for (const char* bad : {"28", "28x", "x28", "28x32x1", "28 x32", "ax1", "1,2"})
        BOOST_TEST(!parse_pair(bad, 'x', h, w), bad);
}

// history.csv and csv_logger keep the text printf's %.6g gave before {fmt}.
BOOST_AUTO_TEST_CASE(fmt_g_formats_like_printf) {
    for (const double v :
         {0.0, 1.0, 0.1, 2.0 / 3.0, 1e-7, 123456789.0, -0.00012345678, 1e21, 0.000123, 100000.0,
          1000000.0, 0.5, 3.0e-5, std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(),
          -std::numeric_limits<double>::quiet_NaN()}) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        BOOST_TEST(fmt::format("{:.6g}", v) == buf);
        std::snprintf(buf, sizeof buf, "%.4g", v);
        BOOST_TEST(fmt::format("{:.4g}", v) == buf);
    }
}

BOOST_AUTO_TEST_CASE(write_file_atomic_replaces_the_whole_file_and_leaves_no_temporary) {
    const plexus::test::TempDir dir("sdk-files");
    const fs::path file = dir / "out.txt";
    write_file_atomic(file, "first version, longer\n");
    write_file_atomic(file, "second\n");
    BOOST_TEST(slurp(file) == "second\n");
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) entries += e.path() == file ? 1 : 100;
    BOOST_TEST(entries == 1u);  // the temporary file was renamed, not left behind

    BOOST_CHECK_EXCEPTION(
        write_file_atomic(dir / "missing/out.txt", "x"), plexus::Error, [](const plexus::Error& e) {
            return std::string(e.what()).find("missing/out.txt") != std::string::npos;
        });
    create_parent_folder("test", dir / "a/b/out.txt");
    BOOST_TEST(fs::is_directory(dir / "a/b"));
    create_parent_folder("test", "bare_name.txt");  // nothing to create
    write_file_atomic(dir / "a/b/out.txt", "ok");
    BOOST_TEST(slurp(dir / "a/b/out.txt") == "ok");
}

// rename() would put a regular file in place of a FIFO, a folder or a link (of /dev/full,
// too): outputs replace regular files only, and say what is in the way.
BOOST_AUTO_TEST_CASE(write_file_atomic_replaces_only_regular_files) {
    const plexus::test::TempDir dir("sdk-files-kinds");
    BOOST_TEST_REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    fs::create_directory(dir / "folder");
    write_file_atomic(dir / "target", "kept");
    fs::create_symlink(dir / "target", dir / "link");
    const auto refused = [&](const char* name, const std::string& kind) {
        try {
            write_file_atomic(dir / name, "new");
        } catch (const plexus::Error& e) {
            return std::string(e.what()) == (dir / name).string() + ": is " + kind +
                                                ", and outputs only replace regular files: give "
                                                "the path of a file";
        }
        return false;
    };
    BOOST_TEST(refused("fifo", "a FIFO"));
    BOOST_TEST(refused("folder", "a folder"));
    BOOST_TEST(refused("link", "a symbolic link"));
    BOOST_TEST(fs::is_fifo(fs::symlink_status(dir / "fifo")));
    BOOST_TEST(fs::is_directory(fs::symlink_status(dir / "folder")));
    BOOST_TEST(fs::is_symlink(fs::symlink_status(dir / "link")));
    BOOST_TEST(slurp(dir / "target") == "kept");
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) entries += e.path().filename().string()[0] == '.' ? 100 : 1;
    BOOST_TEST(entries == 4u);  // no temporary file left behind
}

BOOST_AUTO_TEST_CASE(run_paths_fill_placeholders_and_name_the_callback_in_errors) {
    plexus::TrainState s;
    s.run_dir = "runs/r1";
    const std::size_t epoch = 4;
    BOOST_TEST(expand_run_path("cb", "{run_dir}/m-{epoch}.st", s, &epoch) == "runs/r1/m-5.st");
    // A relative path starts in the run folder.
    BOOST_TEST(expand_run_path("cb", "plain/path", s) == "runs/r1/plain/path");
    BOOST_TEST(expand_run_path("cb", "/abs/../path", s) == "/abs/../path");  // on purpose
    BOOST_TEST(expand_run_path("cb", "{run_dir}/a/../b", s) == "runs/r1/a/../b");
    const auto fails_with = [&](const std::string& pattern, const std::string& words,
                                const std::size_t* e) {
        try {
            expand_run_path("my_cb", pattern, s, e);
        } catch (const plexus::Error& error) {
            const std::string what = error.what();
            return what.rfind("my_cb: ", 0) == 0 && what.find(words) != std::string::npos;
        }
        return false;
    };
    BOOST_TEST(fails_with("{epoch}", "unknown placeholder '{epoch}'", nullptr));
    BOOST_TEST(fails_with("{run_dir", "without its '}'", &epoch));
    BOOST_TEST(fails_with("{runs}/x", "unknown placeholder '{runs}'", &epoch));
    // Out of the run folder only by an absolute path.
    for (const char* escape : {"{run_dir}/../../x.csv", "{run_dir}/..", "../x", "a/../../x",
                               "./../x", "{run_dir}/a/../../x"})
        BOOST_TEST(fails_with(escape, "leads out of the run folder", &epoch), escape);
    BOOST_TEST(fails_with("x/{run_dir}/y", "may only begin a path", &epoch));
    s.run_dir.clear();
    BOOST_TEST(fails_with("{run_dir}/x", "writes no run folder", nullptr));
    BOOST_TEST(expand_run_path("cb", "plain/path", s) == "plain/path");  // no run folder
    BOOST_TEST(fails_with("../x", "leads out of the run folder", nullptr));
}

BOOST_AUTO_TEST_CASE(monitor_picks_the_direction_and_requires_a_strict_improvement) {
    BOOST_TEST(higher_is_better("val_accuracy"));
    BOOST_TEST(higher_is_better("f1"));
    BOOST_TEST(!higher_is_better("val_loss"));
    const Monitor loss("cb", monitor_params("val_loss"), 0.1);
    BOOST_TEST((loss.direction() == Direction::min));
    BOOST_TEST(loss.worst() == std::numeric_limits<double>::infinity());
    BOOST_TEST(loss.improves(0.85, 1.0));
    BOOST_TEST(!loss.improves(0.9, 1.0));  // exactly min_delta is not enough
    BOOST_TEST(!loss.improves(std::nan(""), 1.0));
    const Monitor acc("cb", monitor_params("val_accuracy"));
    BOOST_TEST((acc.direction() == Direction::max));
    BOOST_TEST(acc.improves(0.6, 0.5));
    const Monitor forced("cb", monitor_params("val_accuracy", "min"));
    BOOST_TEST((forced.direction() == Direction::min));
    BOOST_CHECK_THROW(Monitor("cb", monitor_params("")), plexus::ParamError);
}

BOOST_AUTO_TEST_CASE(monitor_read_names_the_logged_values_when_the_name_is_wrong) {
    plexus::Logs logs;
    logs.set("loss", 0.5);
    logs.set("accuracy", 0.75);
    BOOST_TEST(Monitor("cb", monitor_params("loss")).read(logs) == 0.5);
    const auto message = [&](const std::string& name) {
        try {
            Monitor("early", monitor_params(name)).read(logs);
        } catch (const plexus::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    BOOST_TEST(message("los") ==
               "early: monitor 'los' is not logged (logged: loss, accuracy; did you mean 'loss'?)");
    BOOST_TEST(message("val_precision").find("this run has no validation data") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(value_ranges_parse_low_high_and_clip) {
    const ValueRange r = parse_range("-1,1", "scale");
    BOOST_TEST(r.low == -1.0f);
    BOOST_TEST(r.high == 1.0f);
    BOOST_TEST(clip(3.0f, r) == 1.0f);
    BOOST_TEST(clip(-3.0f, r) == -1.0f);
    BOOST_TEST(clip(0.25f, r) == 0.25f);
    for (const char* bad : {"1,1", "2,1", "0", "a,b", "0,1e39"})
        BOOST_CHECK_EXCEPTION(parse_range(bad, "scale"), plexus::ParamError,
                              [](const plexus::ParamError& e) {
                                  return std::string(e.what()).rfind("scale: range '", 0) == 0;
                              });
}

BOOST_AUTO_TEST_CASE(image_dims_accept_hw_and_chw_only) {
    const ImageDims gray = image_dims(plexus::Shape{28, 28}, "t");
    BOOST_TEST(gray.channels == 1u);
    BOOST_TEST(gray.numel() == 784u);
    const ImageDims rgb = image_dims(plexus::Shape{3, 4, 5}, "t");
    BOOST_TEST(rgb.channels == 3u);
    BOOST_TEST(rgb.plane() == 20u);
    BOOST_CHECK_EXCEPTION(image_dims(plexus::Shape{10}, "resize"), plexus::ShapeError,
                          [](const plexus::ShapeError& e) {
                              return std::string(e.what()) ==
                                     "resize needs images ([H,W] or [C,H,W]); these samples are "
                                     "[10] features";
                          });
}

BOOST_AUTO_TEST_CASE(warp_rotates_counter_clockwise_about_the_centre) {
    const ImageDims d{1, 3, 3};
    const Floats x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    Floats y(9), z(9);
    const double quarter = 1.5707963267948966;
    warp(x.data(), d, y.data(), 3, 3, rotation(d, quarter), {});
    // numpy.rot90: the right column becomes the top row.
    check_close(y, {3, 6, 9, 2, 5, 8, 1, 4, 7});
    // Four quarter turns give the image back.
    for (int i = 0; i < 3; ++i) {
        warp(y.data(), d, z.data(), 3, 3, rotation(d, quarter), {});
        y.swap(z);
    }
    check_close(y, x);
}

BOOST_AUTO_TEST_CASE(warp_fills_points_outside_the_image) {
    const ImageDims d{1, 1, 4};
    const Floats x = {1, 2, 3, 4};  // a b c d
    Floats y(4);
    const Affine right_by_two = about_centre(d, 1, 0, 0, 1, 2, 0);
    warp(x.data(), d, y.data(), 1, 4, right_by_two, {Fill::reflect, 0});
    BOOST_TEST(y == Floats({2, 1, 1, 2}), boost::test_tools::per_element());  // b a | a b
    warp(x.data(), d, y.data(), 1, 4, right_by_two, {Fill::nearest, 0});
    BOOST_TEST(y == Floats({1, 1, 1, 2}), boost::test_tools::per_element());
    warp(x.data(), d, y.data(), 1, 4, right_by_two, {Fill::constant, 9});
    BOOST_TEST(y == Floats({9, 9, 1, 2}), boost::test_tools::per_element());
    // Half a pixel: the first output mixes the fill value and a equally.
    warp(x.data(), d, y.data(), 1, 4, about_centre(d, 1, 0, 0, 1, 0.5, 0), {Fill::constant, 9});
    check_close(y, {5, 1.5f, 2.5f, 3.5f});
    // Reflection repeats with period 2·len: d c b a | a b c d | d c b a.
    // x + 10 reads positions 10..13 of a b c d | d c b a | a b c d | d c b a.
    warp(x.data(), d, y.data(), 1, 4, about_centre(d, 1, 0, 0, 1, -10, 0), {Fill::reflect, 0});
    BOOST_TEST(y == Floats({3, 4, 4, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(device_counts_and_class_rows_count_on_the_device) {
    auto device = plexus::testing::load<plexus::Device>("cpu");
    ClassRows rows;
    rows.build(*device, 3);
    const auto classes = plexus::testing::make_tensor(*device, {2}, {2, 0});
    const auto hot = device->alloc({2, 3});
    rows.one_hot(*device, classes, hot);
    BOOST_TEST(plexus::testing::to_host(*device, hot) == Floats({0, 0, 1, 1, 0, 0}),
               boost::test_tools::per_element());

    DeviceCounts counts;
    counts.reset();  // before build(): nothing to do
    counts.build(*device, 3);
    counts.add(hot.reshaped({6}).rows(0, 3), 2);
    counts.add(hot.reshaped({6}).rows(3, 3), 2);
    BOOST_TEST(counts.counts() == (std::vector<std::uint64_t>{1, 0, 1}),
               boost::test_tools::per_element());
    counts.reset();
    BOOST_TEST(counts.counts() == (std::vector<std::uint64_t>{0, 0, 0}),
               boost::test_tools::per_element());

    const auto pred = device->alloc({4, 3});
    const auto target = device->alloc({4, 3});
    BOOST_TEST(check_batch("m", true, pred, target, 4, 3) == 4u);
    BOOST_CHECK_THROW(check_batch("m", false, pred, target, 4, 3), plexus::ShapeError);
    BOOST_CHECK_THROW(check_batch("m", true, pred, target, 2, 3), plexus::ShapeError);
    BOOST_CHECK_THROW(require_scores("m", plexus::Shape{4}, 1, "scores"), plexus::ShapeError);
    require_scores("m", plexus::Shape{4, 3}, 2, "scores");
}

BOOST_AUTO_TEST_CASE(index_ranges_parse_lists_and_refuse_everything_else) {
    using plexus::support::parse_index_ranges;
    const auto r = parse_index_ranges(" 0-3, 5 ,7-7", "t");
    BOOST_TEST(r.spans.size() == 3u);
    for (std::size_t i : {0, 1, 2, 3, 5, 7}) BOOST_TEST(r.contains(i), i);
    for (std::size_t i : {4, 6, 8}) BOOST_TEST(!r.contains(i), i);
    BOOST_TEST(r.max() == 7u);
    BOOST_TEST(parse_index_ranges("0-999999", "t").max() == 999999u);  // two numbers, not 10^6
    for (const char* bad : {"", ",", "1,", "-1", "1-", "3-1", "1e3", "0x2", "+1", "1000000",
                            "99999999999999999999", "1 2", "1--2", "a"}) {
        try {
            parse_index_ranges(bad, "freeze");
            BOOST_ERROR("'" << bad << "' was accepted");
        } catch (const plexus::ParamError& e) {
            const std::string what = e.what();
            BOOST_TEST(what.rfind("freeze: '", 0) == 0u, what);
            BOOST_TEST(what.find("e.g. 0-3,5") != std::string::npos, what);
        }
    }
    try {
        plexus::support::check_index_ranges(parse_index_ranges("2,4", "t"), 4, "freeze");
        BOOST_ERROR("layer 4 of 4 was accepted");
    } catch (const plexus::ParamError& e) {
        BOOST_TEST(std::string(e.what()) ==
                   "freeze: layer 4 does not exist (the model has 4 layers, 0-3)");
    }
    plexus::support::check_index_ranges(parse_index_ranges("2,3", "t"), 4, "freeze");
}
