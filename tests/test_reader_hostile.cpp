// Data sources that are not what they claim: FIFOs, devices and folders given as data files
// (each refused at once, named for what it is), files past a format's size bound (refused
// before a byte is read), damaged gzip trailers, and cells, labels and column names that
// would make a huge or terminal-controlling "one-line" message. Each case failed (hung, read
// 2 GiB, said "not found", accepted the file or echoed the text raw) before the fix.
#define BOOST_TEST_MODULE reader_hostile
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "plexus/core/data/readers/idx.hpp"
#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"
#include "reader_files.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using plexus::ConfigError;
using plexus::DataError;
using plexus::core::load_dataset;
using plexus::test::Bytes;
using plexus::test::check_has;
using plexus::test::error_of;
using plexus::test::gzip_bytes;
using plexus::test::write_bytes;
using plexus::test::write_text;

namespace {

struct Dir : plexus::test::TempDir {
    Dir() : plexus::test::TempDir("hostile") {}
    std::string load_error(const std::string& spec) const {
        return error_of<plexus::Error>([&] { load_dataset(spec, path, "exp.ini:3"); });
    }
};

// Feeds `text` to whoever opens the FIFO for reading within two seconds, so that a reader
// that (wrongly) opens it gets data instead of hanging the test; gives up otherwise.
std::thread feed_fifo(const fs::path& fifo, std::string text) {
    return std::thread([fifo, text] {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (std::chrono::steady_clock::now() < deadline) {
            const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
            if (fd >= 0) {
                (void)!::write(fd, text.data(), text.size());
                ::close(fd);
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
}

Bytes idx1(std::uint32_t n) {
    Bytes out = {0,
                 0,
                 8,
                 1,
                 static_cast<std::uint8_t>(n >> 24),
                 static_cast<std::uint8_t>(n >> 16),
                 static_cast<std::uint8_t>(n >> 8),
                 static_cast<std::uint8_t>(n)};
    for (std::uint32_t i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(i * 7));
    return out;
}

std::string idx_error(const fs::path& path) {
    return error_of<DataError>([&] { plexus::core::read_idx(path); });
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_fifo_or_device_as_a_data_file_is_refused_at_once) {
    Dir tmp;
    const fs::path fifo = tmp / "data.csv";
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    for (const std::string scheme : {"csv:", "series:", "npy:"}) {
        std::thread feeder = feed_fifo(fifo, "x,y\n1,0\n2,1\n3,0\n4,1\n");
        const std::string extra = scheme == "series:" ? " target=x window=2"
                                  : scheme == "npy:"  ? " labels=data.csv"
                                                      : "";
        check_has(tmp.load_error(scheme + "data.csv" + extra),
                  {fifo.string() + ": cannot open (is a FIFO, not a regular file)"});
        feeder.join();
    }
    // /dev/zero never ends: it used to be read up to the 2 GiB bound before failing.
    const auto start = std::chrono::steady_clock::now();
    check_has(tmp.load_error("csv:/dev/zero"),
              {"/dev/zero: cannot open (is a character device, not a regular file)"});
    check_has(tmp.load_error("series:/dev/zero target=a window=2"), {"is a character device"});
    BOOST_TEST(seconds_since(start) < 1.0);
    fs::create_directories(tmp / "folder.csv");
    check_has(tmp.load_error("csv:folder.csv"), {"found a directory, expected a regular file"});
}

BOOST_AUTO_TEST_CASE(an_idx_part_that_is_a_folder_or_fifo_is_named_for_what_it_is) {
    Dir tmp;
    write_bytes(tmp / "d-labels-idx1-ubyte", idx1(3));
    fs::create_directories(tmp / "d-images-idx3-ubyte");
    check_has(error_of<DataError>([&] { plexus::core::load_idx_dataset(tmp / "d"); }),
              {(tmp / "d-images-idx3-ubyte").string() +
               ": cannot open (found a directory, expected a regular file)"});
    const fs::path fifo = tmp / "f-images-idx3-ubyte";
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    write_bytes(tmp / "f-labels-idx1-ubyte", idx1(3));
    std::thread feeder = feed_fifo(fifo, std::string(16, '\0'));
    check_has(error_of<DataError>([&] { plexus::core::load_idx_dataset(tmp / "f"); }),
              {fifo.string() + ": cannot open (is a FIFO, not a regular file)"});
    feeder.join();
}

BOOST_AUTO_TEST_CASE(files_past_the_size_bound_are_refused_before_reading) {
    Dir tmp;
    // Sparse files: nothing is written, and a reader that read them would take minutes.
    for (const auto& [name, size, spec] :
         {std::tuple{"big.csv", std::uintmax_t{3} << 30, std::string("csv:big.csv")},
          std::tuple{"big.npy", std::uintmax_t{17} << 30,
                     std::string("npy:big.npy labels=big.npy")},
          std::tuple{"big-labels-idx1-ubyte", std::uintmax_t{3} << 30, std::string("idx:big")}}) {
        write_text(tmp / name, "");
        fs::resize_file(tmp / name, size);
        if (std::string(name).find("idx") != std::string::npos)
            write_bytes(tmp / "big-images-idx3-ubyte", idx1(3));
        const auto start = std::chrono::steady_clock::now();
        check_has(tmp.load_error(spec),
                  {(tmp / name).string() + ": file too large (" + std::to_string(size) + " bytes"});
        BOOST_TEST(seconds_since(start) < 1.0, name);
    }
}

BOOST_AUTO_TEST_CASE(gzip_trailers_are_verified_and_nothing_may_follow) {
    Dir tmp;
    const Bytes data = idx1(2500);
    const Bytes good = gzip_bytes(data);
    write_bytes(tmp / "good.gz", good);
    BOOST_TEST(plexus::core::read_idx(tmp / "good.gz").data.size() == 2500u);

    // The ISIZE half of the trailer cut off, then the whole trailer but one byte.
    for (const std::size_t cut : {4, 7, 1}) {
        write_bytes(tmp / "cut.gz", Bytes(good.begin(), good.end() - static_cast<long>(cut)));
        check_has(idx_error(tmp / "cut.gz"),
                  {(tmp / "cut.gz").string() + ": truncated gzip stream"});
    }
    // A wrong length (ISIZE) with the right CRC.
    Bytes length = good;
    length[length.size() - 4] ^= 1;
    write_bytes(tmp / "length.gz", length);
    check_has(idx_error(tmp / "length.gz"), {"corrupt gzip data (zlib: incorrect length check)"});
    // Garbage after a complete member, even a single zero byte of padding.
    for (const Bytes& tail : {Bytes{'j', 'u', 'n', 'k'}, Bytes{0}}) {
        Bytes trailing = good;
        trailing.insert(trailing.end(), tail.begin(), tail.end());
        write_bytes(tmp / "trailing.gz", trailing);
        check_has(idx_error(tmp / "trailing.gz"),
                  {(tmp / "trailing.gz").string() + ": trailing bytes after the gzip stream (" +
                   std::to_string(tail.size()) + " bytes that are not gzip data)"});
    }
    // Two members are one stream (gzip -c a >> b; RFC 1952 allows it): read as one file.
    Bytes first(data.begin(), data.begin() + 1000), second(data.begin() + 1000, data.end());
    Bytes two = gzip_bytes(first);
    const Bytes more = gzip_bytes(second);
    two.insert(two.end(), more.begin(), more.end());
    write_bytes(tmp / "two.gz", two);
    BOOST_TEST(plexus::core::read_idx(tmp / "two.gz").data == Bytes(data.begin() + 8, data.end()),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(cells_and_names_in_messages_are_bounded_and_escaped) {
    Dir tmp;
    const std::string huge(10'000'000, '7');
    write_text(tmp / "cell.csv", "a,label\n1,x\n" + huge + "z,y\n");
    const std::string cell = tmp.load_error("csv:cell.csv");
    check_has(cell, {"cell.csv:3: column 'a' is not a number: '777", "…'"});
    BOOST_TEST(cell.size() < 600u, cell.size());

    write_text(tmp / "nul.csv", std::string("a,label\n1,x\n1") + '\0' + "after\x1b[2J,y\n");
    const std::string nul = tmp.load_error("csv:nul.csv");
    check_has(nul, {"'1\\x00after\\x1b[2J'"});
    BOOST_TEST(nul.find('\x1b') == std::string::npos);

    // A header of 100 000 columns named in a "no such column" message.
    std::string header;
    for (int i = 0; i < 100000; ++i) header += "c" + std::to_string(i) + ",";
    write_text(tmp / "wide.csv", header + "label\n" + std::string(100000, '1') + "\n");
    const std::string wide =
        error_of<ConfigError>([&] { load_dataset("csv:wide.csv label=nope", tmp.path, ""); });
    check_has(wide, {"names no column", "c0, c1, c2", "(100001 in all)"});
    BOOST_TEST(wide.size() < 1000u, wide.size());

    // A class name longer than any class: the wrong column, not 5000 bytes in every report.
    write_text(tmp / "long.csv", "a,label\n1,x\n2," + std::string(5000, 'n') + "\n");
    check_has(tmp.load_error("csv:long.csv"),
              {"long.csv:3: label 'nnn", "is 5000 bytes long, a class name has at most 4096"});

    // Series keys and column names are echoed escaped.
    write_text(tmp / "s.csv", "time,v\x1b[31m\n3,1\n2,2\n1,3\n");
    const std::string series = tmp.load_error("series:s.csv target=v\x1b[31m window=1");
    check_has(series, {"column 'time' goes back in time ('2' after '3')"});
    const std::string key(10'000'000, 'k');
    const std::string option = tmp.load_error("csv:cell.csv " + key + "=1");
    check_has(option, {"unknown option 'kkk", "…'"});
    BOOST_TEST(option.size() < 1000u, option.size());
}

BOOST_AUTO_TEST_CASE(test_labels_the_training_data_lacks_are_named_escaped) {
    Dir tmp;
    write_text(tmp / "train.csv", "a,label\n1,cat\n2,dog\n");
    write_text(tmp / "test.csv", "a,label\n1,\x1b]0;pwned\x07\n");
    const auto train = load_dataset("csv:train.csv", tmp.path, "");
    const std::string e =
        error_of<DataError>([&] { load_dataset("csv:test.csv", tmp.path, "", &train); });
    check_has(e, {"label '\\x1b]0;pwned\\x07' is not a class of the training data "
                  "(training classes: cat, dog)"});
    BOOST_TEST(e.find('\x1b') == std::string::npos);
}
