#define BOOST_TEST_MODULE idx
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "plexus/core/data/readers/idx.hpp"
#include "plexus/error.hpp"
#include "reader_files.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::DataError;
using plexus::core::load_idx_dataset;
using plexus::core::read_idx;

namespace {

using Bytes = std::vector<std::uint8_t>;

// A fresh folder per test case, removed afterwards.
using plexus::test::TempDir;

Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& data,
                std::uint8_t type = 0x08) {
    Bytes out = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (std::uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::uint8_t>(d >> shift));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

// Deterministic bytes that do not compress, so a gzip stream can be cut in its middle.
Bytes noise(std::size_t n) {
    Bytes out(n);
    std::uint32_t x = 12345;
    for (auto& b : out) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<std::uint8_t>(x >> 24);
    }
    return out;
}

void write_raw(const fs::path& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    BOOST_REQUIRE(out.good());
}

// A gzip file of stored blocks, written by hand (reader_files.hpp).
void write_gz(const fs::path& path, const Bytes& bytes) {
    write_raw(path, plexus::test::gzip_bytes(bytes));
}

// The DataError message read_idx throws, or "" when it throws nothing.
std::string idx_error(const fs::path& path) {
    try {
        read_idx(path);
    } catch (const DataError& e) {
        return e.what();
    }
    return "";
}

std::string dataset_error(const fs::path& prefix) {
    try {
        load_idx_dataset(prefix);
    } catch (const DataError& e) {
        return e.what();
    }
    return "";
}

void check_message(const std::string& message, const fs::path& path, const std::string& phrase) {
    BOOST_TEST_INFO("message: " << message);
    BOOST_TEST(message.rfind(path.string() + ": ", 0) == 0u);
    BOOST_TEST(message.find(phrase) != std::string::npos);
    BOOST_TEST(message.find('\n') == std::string::npos);
}

}  // namespace

BOOST_AUTO_TEST_CASE(reads_raw_and_gzipped_files_exactly) {
    TempDir tmp;
    const Bytes data = noise(2 * 3 * 4);
    const Bytes file = idx_bytes({2, 3, 4}, data);
    write_raw(tmp / "a-raw", file);
    write_gz(tmp / "a.gz", file);
    write_gz(tmp / "gz-without-suffix", file);  // detected by magic, not by name

    for (const char* name : {"a-raw", "a.gz", "gz-without-suffix"}) {
        BOOST_TEST_CONTEXT(name) {
            const auto arr = read_idx(tmp / name);
            BOOST_TEST(arr.dims == (std::vector<std::size_t>{2, 3, 4}), boost::test_tools::per_element());
            BOOST_TEST(arr.data == data, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(rejects_bad_headers) {
    TempDir tmp;
    Bytes bad_magic = idx_bytes({4}, {1, 2, 3, 4});
    bad_magic[0] = 0x50;
    bad_magic[1] = 0x4b;
    write_raw(tmp / "magic", bad_magic);
    check_message(idx_error(tmp / "magic"), tmp / "magic",
                  "not an IDX file (expected magic bytes 00 00, found 50 4b)");

    write_raw(tmp / "float", idx_bytes({1}, {0, 0, 0, 0}, 0x0D));
    check_message(idx_error(tmp / "float"), tmp / "float",
                  "unsupported element type 0x0d float32 (expected 0x08 unsigned byte)");

    write_raw(tmp / "zero", idx_bytes({3, 0, 2}, {}));
    check_message(idx_error(tmp / "zero"), tmp / "zero",
                  "zero dimension (expected every dimension > 0, found [3, 0, 2])");

    write_raw(tmp / "nodims", idx_bytes({}, {}));
    check_message(idx_error(tmp / "nodims"), tmp / "nodims",
                  "unsupported number of dimensions (expected 1 to 6, found 0)");

    // 65536^3 bytes: the product overflows 32 bits and exceeds the limit.
    write_raw(tmp / "huge", idx_bytes({65536, 65536, 65536}, {}));
    check_message(idx_error(tmp / "huge"), tmp / "huge", "data too large (expected at most");

    write_raw(tmp / "empty", {});
    check_message(idx_error(tmp / "empty"), tmp / "empty", "empty file");

    Bytes short_dims = idx_bytes({2, 2}, {});
    short_dims.resize(10);
    write_raw(tmp / "short-dims", short_dims);
    check_message(idx_error(tmp / "short-dims"), tmp / "short-dims",
                  "truncated header (expected 12 bytes for 2 dimensions, found 10)");

    check_message(idx_error(tmp / "missing"), tmp / "missing", "cannot open (no such file)");
    check_message(idx_error(tmp.path), tmp.path, "found a directory");
}

BOOST_AUTO_TEST_CASE(rejects_truncated_and_trailing_data) {
    TempDir tmp;
    const Bytes full = idx_bytes({10, 10}, noise(100));
    const Bytes truncated(full.begin(), full.end() - 30);
    Bytes trailing = full;
    trailing.insert(trailing.end(), {7, 7, 7});

    write_raw(tmp / "trunc", truncated);
    check_message(idx_error(tmp / "trunc"), tmp / "trunc",
                  "truncated data (expected 100 bytes for dimensions [10, 10], found 70)");
    write_gz(tmp / "trunc.gz", truncated);  // a complete gzip stream of too little data
    check_message(idx_error(tmp / "trunc.gz"), tmp / "trunc.gz",
                  "truncated data (expected 100 bytes for dimensions [10, 10], found 70)");

    write_raw(tmp / "trail", trailing);
    check_message(idx_error(tmp / "trail"), tmp / "trail",
                  "trailing bytes after the data (expected 100 bytes for dimensions [10, 10], "
                  "found 3 more)");
    write_gz(tmp / "trail.gz", trailing);
    check_message(idx_error(tmp / "trail.gz"), tmp / "trail.gz",
                  "trailing bytes after the data (expected 100 bytes for dimensions [10, 10], "
                  "found 3 more)");
}

BOOST_AUTO_TEST_CASE(rejects_cut_and_corrupt_gzip_streams) {
    TempDir tmp;
    const Bytes full = idx_bytes({4000}, noise(4000));

    // Cut in the middle of the deflate data.
    write_gz(tmp / "cut.gz", full);
    const auto size = fs::file_size(tmp / "cut.gz");
    BOOST_REQUIRE_GT(size, 2000u);
    fs::resize_file(tmp / "cut.gz", size / 2);
    check_message(idx_error(tmp / "cut.gz"), tmp / "cut.gz", "truncated gzip stream");
    check_message(idx_error(tmp / "cut.gz"), tmp / "cut.gz", "of 4008 decompressed bytes");

    // All data present, only the CRC/length trailer missing.
    write_gz(tmp / "notrailer.gz", full);
    fs::resize_file(tmp / "notrailer.gz", fs::file_size(tmp / "notrailer.gz") - 8);
    check_message(idx_error(tmp / "notrailer.gz"), tmp / "notrailer.gz", "truncated gzip stream");

    // A flipped CRC byte.
    write_gz(tmp / "crc.gz", full);
    {
        std::fstream f(tmp / "crc.gz", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-8, std::ios::end);
        f.put('\x5a');
    }
    check_message(idx_error(tmp / "crc.gz"), tmp / "crc.gz", "corrupt gzip data (zlib: incorrect data check)");
}

// The gzip trailer's ISIZE sizes libdeflate's buffer (gzip_stream.hpp): a wrong one, however
// large, is the length check's error and allocates nothing near its claim; a file of two
// members (which one libdeflate call does not take) reads whole through zlib.
BOOST_AUTO_TEST_CASE(wrong_isize_and_two_member_files) {
    TempDir tmp;
    const Bytes full = idx_bytes({4000}, noise(4000));
    for (const std::uint32_t isize : {0xFFFFFFFFu, 4007u, 4009u, 0u}) {
        const fs::path path = tmp / ("isize-" + std::to_string(isize) + ".gz");
        write_gz(path, full);
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-4, std::ios::end);
        for (int b = 0; b < 4; ++b) f.put(static_cast<char>((isize >> (8 * b)) & 0xFF));
        f.close();
        check_message(idx_error(path), path, "corrupt gzip data (zlib: incorrect length check)");
    }
    Bytes two = plexus::test::gzip_bytes(Bytes(full.begin(), full.begin() + 1000));
    const Bytes second = plexus::test::gzip_bytes(Bytes(full.begin() + 1000, full.end()));
    two.insert(two.end(), second.begin(), second.end());
    write_raw(tmp / "two.gz", two);
    const auto arr = read_idx(tmp / "two.gz");
    BOOST_TEST(arr.data == Bytes(full.begin() + 8, full.end()), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(loads_image_label_pairs) {
    TempDir tmp;
    const Bytes pixels = noise(3 * 2 * 2);
    write_raw(tmp / "toy-images-idx3-ubyte", idx_bytes({3, 2, 2}, pixels));
    write_gz(tmp / "toy-labels-idx1-ubyte.gz", idx_bytes({3}, {2, 0, 4}));

    const auto ds = load_idx_dataset(tmp / "toy");
    BOOST_TEST(ds.count == 3u);
    BOOST_TEST(ds.sample_shape.str() == "[2, 2]");
    BOOST_TEST(ds.features() == 4u);
    BOOST_TEST(ds.u8 == pixels, boost::test_tools::per_element());
    BOOST_TEST(ds.f32.empty());
    BOOST_TEST(ds.labels == (std::vector<std::uint32_t>{2, 0, 4}), boost::test_tools::per_element());
    BOOST_TEST(ds.classes == 5u);
    BOOST_TEST(ds.class_names == (std::vector<std::string>{"0", "1", "2", "3", "4"}),
               boost::test_tools::per_element());
    BOOST_TEST(ds.source == (tmp / "toy").string());

    // The same files under a "fashion" name get Fashion-MNIST's class names.
    fs::create_directories(tmp / "fashion-toy");
    fs::copy_file(tmp / "toy-images-idx3-ubyte", tmp / "fashion-toy/t-images-idx3-ubyte");
    fs::copy_file(tmp / "toy-labels-idx1-ubyte.gz", tmp / "fashion-toy/t-labels-idx1-ubyte.gz");
    const auto fashion = load_idx_dataset(tmp / "fashion-toy/t");
    BOOST_TEST(fashion.classes == 10u);
    BOOST_REQUIRE_EQUAL(fashion.class_names.size(), 10u);
    BOOST_TEST(fashion.class_names[0] == "T-shirt/top");
    BOOST_TEST(fashion.class_names[4] == "Coat");
}

BOOST_AUTO_TEST_CASE(rejects_mismatched_pairs) {
    TempDir tmp;
    write_raw(tmp / "m-images-idx3-ubyte", idx_bytes({3, 2, 2}, noise(12)));
    write_raw(tmp / "m-labels-idx1-ubyte", idx_bytes({2}, {1, 0}));
    check_message(dataset_error(tmp / "m"), tmp / "m-labels-idx1-ubyte",
                  "label count does not match the images (expected 3 labels for " +
                      (tmp / "m-images-idx3-ubyte").string() + ", found 2)");

    write_raw(tmp / "d-images-idx3-ubyte", idx_bytes({3, 2, 2}, noise(12)));
    write_raw(tmp / "d-labels-idx1-ubyte", idx_bytes({3, 2}, noise(6)));
    check_message(dataset_error(tmp / "d"), tmp / "d-labels-idx1-ubyte",
                  "labels must be 1-D (expected [3], found [3, 2])");

    write_raw(tmp / "n-images-idx3-ubyte", idx_bytes({3, 2, 2}, noise(12)));
    check_message(dataset_error(tmp / "n"), tmp / "n-labels-idx1-ubyte",
                  "not found (expected " + (tmp / "n-labels-idx1-ubyte").string() + " or " +
                      (tmp / "n-labels-idx1-ubyte.gz").string() + ")");
}

BOOST_AUTO_TEST_CASE(loads_real_fashion_mnist_when_present) {
    const fs::path prefix = "/usr/share/datasets/fashion-mnist/t10k";
    if (!fs::exists(prefix.string() + "-images-idx3-ubyte.gz") &&
        !fs::exists(prefix.string() + "-images-idx3-ubyte")) {
        BOOST_TEST_MESSAGE("Fashion-MNIST not installed; skipped");
        return;
    }
    const auto ds = load_idx_dataset(prefix);
    BOOST_TEST(ds.count == 10000u);
    BOOST_TEST(ds.sample_shape.str() == "[28, 28]");
    BOOST_TEST(ds.u8.size() == 10000u * 28u * 28u);
    BOOST_TEST(ds.labels.size() == 10000u);
    BOOST_TEST(ds.classes == 10u);
    BOOST_REQUIRE_EQUAL(ds.class_names.size(), 10u);
    BOOST_TEST(ds.class_names[9] == "Ankle boot");
    std::vector<std::size_t> per_class(10);
    for (auto l : ds.labels) ++per_class.at(l);
    for (auto n : per_class) BOOST_TEST(n == 1000u);  // the test set is balanced
}

// ---- inflated copies of gzip files (core/src/data/readers/inflated_copy.hpp)

namespace {

// Sets an environment variable for one test case, restoring what was there.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

std::vector<fs::path> copies(const fs::path& cache) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cache / "plexus" / "data", ec)) out.push_back(e.path());
    return out;
}

Bytes read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_large_gzip_file_is_inflated_once_and_its_copy_read_after) {
    TempDir tmp;
    const ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());
    const ScopedEnv on("PLEXUS_DATA_CACHE", "1");
    const Bytes data = noise(4 * 512 * 512);  // 1 MiB: the smallest kept
    const Bytes file = idx_bytes({4, 512, 512}, data);
    write_gz(tmp / "big.gz", file);
    write_gz(tmp / "small.gz", idx_bytes({2, 3, 4}, noise(24)));
    write_raw(tmp / "big-raw", file);

    BOOST_TEST(read_idx(tmp / "small.gz").data.size() == 24u);
    BOOST_TEST(read_idx(tmp / "big-raw").data == data, boost::test_tools::per_element());
    BOOST_TEST(copies(tmp / "cache").empty());  // small and raw files: no copy

    BOOST_TEST(read_idx(tmp / "big.gz").data == data, boost::test_tools::per_element());
    const auto kept = copies(tmp / "cache");
    BOOST_REQUIRE_EQUAL(kept.size(), 1u);
    BOOST_TEST(read_all(kept[0]) == file, boost::test_tools::per_element());  // the inflated file

    // The copy is what the next read reads: a byte changed in it shows.
    Bytes changed = file;
    changed.back() ^= 0xff;
    write_raw(kept[0], changed);
    BOOST_TEST(read_idx(tmp / "big.gz").data.back() == static_cast<std::uint8_t>(data.back() ^ 0xff));

    // A damaged copy (cut short, or not an IDX file) is dropped: the source is read again and
    // a good copy kept.
    for (const Bytes& damaged : {Bytes(file.begin(), file.end() - 100), Bytes{1, 2, 3}}) {
        write_raw(kept[0], damaged);
        BOOST_TEST(read_idx(tmp / "big.gz").data == data, boost::test_tools::per_element());
        BOOST_TEST(read_all(kept[0]) == file, boost::test_tools::per_element());
    }

    // A changed source gets a copy of its own; the old one goes.
    const Bytes data2 = noise(4 * 512 * 512 + 7);
    const Bytes newer(data2.begin() + 7, data2.end());
    write_gz(tmp / "big.gz", idx_bytes({4, 512, 512}, newer));
    fs::last_write_time(tmp / "big.gz", fs::last_write_time(tmp / "big.gz") + std::chrono::seconds(5));
    BOOST_TEST(read_idx(tmp / "big.gz").data == newer, boost::test_tools::per_element());
    const auto now = copies(tmp / "cache");
    BOOST_REQUIRE_EQUAL(now.size(), 1u);
    BOOST_TEST(now[0] != kept[0]);
}

BOOST_AUTO_TEST_CASE(plexus_data_cache_0_keeps_no_copies) {
    TempDir tmp;
    const ScopedEnv cache("XDG_CACHE_HOME", (tmp / "cache").string());
    const ScopedEnv off("PLEXUS_DATA_CACHE", "0");
    const Bytes data = noise(4 * 512 * 512);
    write_gz(tmp / "big.gz", idx_bytes({4, 512, 512}, data));
    BOOST_TEST(read_idx(tmp / "big.gz").data == data, boost::test_tools::per_element());
    BOOST_TEST(copies(tmp / "cache").empty());
}
