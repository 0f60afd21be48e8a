// ByteArray: a dataset's bytes, owned or a file's mapped pages. Reading never copies; writing
// makes the bytes the array's own, so neither the file nor a copy sharing the mapping changes.
#define BOOST_TEST_MODULE byte_array
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "plexus/core/data/byte_array.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::core::ByteArray;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes pattern(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
    return b;
}

void write(const fs::path& p, const Bytes& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                              static_cast<std::streamsize>(b.size()));
}

Bytes read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes bytes_of(const ByteArray& a) {
    return Bytes(a.begin(), a.end());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_mapped_range_reads_the_files_bytes) {
    plexus::test::TempDir dir{"bytes"};
    const Bytes file = pattern(3 * 4096 + 123);  // past a page boundary, not page-sized
    write(dir.path / "f", file);
    const ByteArray a = ByteArray::map_file(dir.path / "f", 16, file.size() - 16);
    BOOST_TEST_REQUIRE(a.mapped());
    BOOST_TEST(a.size() == file.size() - 16);
    BOOST_TEST(bytes_of(a) == Bytes(file.begin() + 16, file.end()), boost::test_tools::per_element());
    BOOST_TEST(a.back() == file.back());
    // The whole file, and an empty tail.
    BOOST_TEST(bytes_of(ByteArray::map_file(dir.path / "f", 0, file.size())) == file,
               boost::test_tools::per_element());
    BOOST_TEST(ByteArray::map_file(dir.path / "f", file.size(), 0).empty());
}

BOOST_AUTO_TEST_CASE(what_cannot_be_mapped_gives_an_empty_array) {
    plexus::test::TempDir dir{"bytes"};
    write(dir.path / "f", pattern(100));
    for (const auto& [offset, size] : {std::pair<std::size_t, std::size_t>{0, 101}, {1, 100},
                                       {101, 1}, {SIZE_MAX, 2}, {2, SIZE_MAX}}) {
        const ByteArray a = ByteArray::map_file(dir.path / "f", offset, size);
        BOOST_TEST((a.empty() && !a.mapped()), offset << " + " << size);
    }
    BOOST_TEST(ByteArray::map_file(dir.path / "missing", 0, 1).empty());
    BOOST_TEST(ByteArray::map_file(dir.path, 0, 1).empty());  // a folder
    BOOST_TEST_REQUIRE(::mkfifo((dir.path / "fifo").c_str(), 0600) == 0);
    BOOST_TEST(ByteArray::map_file(dir.path / "fifo", 0, 1).empty());  // never opened for long
}

BOOST_AUTO_TEST_CASE(writing_makes_the_bytes_its_own) {
    plexus::test::TempDir dir{"bytes"};
    const Bytes file = pattern(10000);
    write(dir.path / "f", file);
    ByteArray a = ByteArray::map_file(dir.path / "f", 0, file.size());
    const ByteArray shared = a;  // a copy shares the mapping
    BOOST_TEST(shared.mapped());
    BOOST_TEST(shared.data() == std::as_const(a).data());
    a[5] = 0xee;
    BOOST_TEST(!a.mapped());
    BOOST_TEST(a[5] == 0xee);
    BOOST_TEST(shared[5] == file[5]);
    BOOST_TEST(shared.mapped());
    BOOST_TEST(read(dir.path / "f") == file, boost::test_tools::per_element());
    BOOST_TEST(bytes_of(shared) == file, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(resize_shortens_a_view_and_grows_into_own_bytes) {
    plexus::test::TempDir dir{"bytes"};
    const Bytes file = pattern(5000);
    write(dir.path / "f", file);
    ByteArray a = ByteArray::map_file(dir.path / "f", 0, file.size());
    a.resize(3000);
    BOOST_TEST(a.mapped());
    BOOST_TEST(bytes_of(a) == Bytes(file.begin(), file.begin() + 3000), boost::test_tools::per_element());
    a.resize(3002);
    BOOST_TEST(!a.mapped());
    Bytes want(3002, 0);
    std::copy_n(file.begin(), 3000, want.begin());
    BOOST_TEST(bytes_of(a) == want, boost::test_tools::per_element());
    // Owned bytes behave as a vector's; equality compares contents, mapped or not.
    ByteArray b = Bytes{1, 2, 3};
    b.resize(1);
    BOOST_TEST(bytes_of(b) == Bytes{1}, boost::test_tools::per_element());
    b.assign(2, 9);
    BOOST_TEST((b == ByteArray(Bytes{9, 9})));
    BOOST_TEST(!(b == ByteArray(Bytes{9, 9, 9})));
    BOOST_TEST((ByteArray::map_file(dir.path / "f", 0, 10) == ByteArray(Bytes(file.begin(), file.begin() + 10))));
    BOOST_TEST((ByteArray() == ByteArray(Bytes{})));
}
