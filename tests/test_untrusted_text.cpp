// The SDK's helpers for untrusted input: text from files shown in messages (escaped, bounded),
// checked size arithmetic, Shape's overflow check, and opening input files that may be FIFOs,
// devices or folders. Every expected string is written out by hand.
#define BOOST_TEST_MODULE untrusted_text
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "plexus/error.hpp"
#include "plexus/shape.hpp"
#include "plexus/support/checked.hpp"
#include "plexus/support/input_file.hpp"
#include "plexus/support/text.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace plexus::support;
using plexus::DataError;
using plexus::Shape;
using plexus::ShapeError;
using plexus::test::TempDir;

namespace {

std::string open_error(const fs::path& path, std::uint64_t max_bytes = 1 << 20) {
    try {
        read_input_file(path, max_bytes);
    } catch (const DataError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(printable_escapes_controls_and_invalid_utf8) {
    BOOST_TEST(printable("plain text, ünïcode ✓") == "plain text, ünïcode ✓");
    // ESC sequences, a NUL, a line break, DEL: each byte as \xNN.
    BOOST_TEST(printable("a\x1b[31mred\x1b[0m") == "a\\x1b[31mred\\x1b[0m");
    BOOST_TEST(printable(std::string("x\0y", 3)) == "x\\x00y");
    BOOST_TEST(printable("one\ntwo\r\t\x7f") == "one\\x0atwo\\x0d\\x09\\x7f");
    // C1 controls (U+009B is a CSI to some terminals) and bidi overrides as \uXXXX.
    BOOST_TEST(printable("\xc2\x9b"
                         "2J") == "\\u009b2J");
    BOOST_TEST(printable("abc\xe2\x80\xae"
                         "fdp.exe") == "abc\\u202efdp.exe");
    BOOST_TEST(printable("\xe2\x80\xa8") == "\\u2028");
    // Invalid UTF-8: a stray continuation byte, an overlong '/', a surrogate, a cut sequence.
    BOOST_TEST(printable("\x80") == "\\x80");
    BOOST_TEST(printable("\xc0\xaf") == "\\xc0\\xaf");
    BOOST_TEST(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");
    BOOST_TEST(printable("ok\xe2\x82") == "ok\\xe2\\x82");
    BOOST_TEST(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

BOOST_AUTO_TEST_CASE(printable_cuts_long_text_at_a_character) {
    const std::string ten_mb(10'000'000, 'k');
    const std::string shown = printable(ten_mb);
    BOOST_TEST(shown == std::string(200, 'k') + "…");
    BOOST_TEST(printable(std::string(200, 'k')) == std::string(200, 'k'));  // no mark when it fits
    // 'é' is two bytes: the cut after 3 bytes keeps whole characters (é é, then the mark).
    BOOST_TEST(printable("éééé", 3) == "éé…");
    BOOST_TEST(quote_for_message("it's", 10) == "'it's'");
    BOOST_TEST(quote_for_message(std::string(50, 'x'), 10) == "'xxxxxxxxxx…'");
    // A NUL does not end the message: what follows it is still shown.
    BOOST_TEST(quote_for_message(std::string("a\0b", 3)) == "'a\\x00b'");
}

BOOST_AUTO_TEST_CASE(join_for_message_lists_a_bounded_number_of_items) {
    BOOST_TEST(join_for_message({"a", "b\x1b", "c"}) == "a, b\\x1b, c");
    std::vector<std::string> many(1000, "col");
    const std::string joined = join_for_message(many, 3);
    BOOST_TEST(joined == "col, col, col, … (1000 in all)");
    BOOST_TEST(join_for_message({std::string(100, 'n')}, 20, 5) == "nnnnn…");
}

BOOST_AUTO_TEST_CASE(did_you_mean_on_a_huge_word_is_quick_and_short) {
    const std::string key(10'000'000, 'e');
    const auto start = std::chrono::steady_clock::now();
    const std::string hint = did_you_mean(key, {"epochs", "seed", "batch_size", "device"});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST(hint == "");
    BOOST_TEST(seconds < 1.0);  // an edit distance per candidate took 10^7 x 10 steps each
    BOOST_TEST(did_you_mean("epoch", {"epochs"}) == " (did you mean 'epochs'?)");
    BOOST_TEST(did_you_mean("a\x1b", {"a\x1b["}) == " (did you mean 'a\\x1b['?)");
}

BOOST_AUTO_TEST_CASE(checked_arithmetic_reports_wrapping) {
    std::size_t out = 0;
    BOOST_TEST(checked_mul<std::size_t>(1u << 20, 1u << 20, out));
    BOOST_TEST(out == std::size_t{1} << 40);
    BOOST_TEST(!checked_mul<std::size_t>(std::size_t{1} << 32, std::size_t{1} << 32, out));
    BOOST_TEST(!checked_add<std::size_t>(SIZE_MAX, 1, out));
    BOOST_TEST(checked_product({2, 3, 7}).value() == 42u);
    BOOST_TEST(checked_product(std::initializer_list<std::size_t>{}).value() == 1u);
    // 2^32 · 2^32 wraps to 0 and 2^63 · 2 + 4 ... : each is refused, not wrapped.
    BOOST_TEST(!checked_product({std::size_t{1} << 32, std::size_t{1} << 32}).has_value());
    BOOST_TEST(!checked_product({3, std::size_t{1} << 63}).has_value());
    BOOST_TEST(checked_product({0, SIZE_MAX, SIZE_MAX}).value() == 0u);  // empty stays empty
    BOOST_TEST(!checked_product({1000, 1000}, 999'999).has_value());
    BOOST_TEST(checked_product({1000, 1000}, 1'000'000).value() == 1'000'000u);
}

BOOST_AUTO_TEST_CASE(shape_numel_throws_instead_of_wrapping) {
    // 2^32 x 2^32 = 2^64 wrapped to 0; (2^63 + 2) x 2 = 2^64 + 4 wrapped to 4.
    const Shape wraps_to_zero{std::size_t{1} << 32, std::size_t{1} << 32};
    const Shape wraps_to_four{(std::size_t{1} << 63) + 2, 2};
    BOOST_CHECK_THROW(wraps_to_zero.numel(), ShapeError);
    BOOST_CHECK_THROW(wraps_to_four.numel(), ShapeError);
    BOOST_CHECK_THROW((Shape{7, std::size_t{1} << 32, std::size_t{1} << 32}.cols()), ShapeError);
    BOOST_TEST((Shape{std::size_t{1} << 40, 0, std::size_t{1} << 40}.numel()) == 0u);
    BOOST_TEST((Shape{3, 4, 5}.numel()) == 60u);
    BOOST_TEST((Shape{3, 4, 5}.cols()) == 20u);
    BOOST_TEST(Shape{}.numel() == 1u);
}

BOOST_AUTO_TEST_CASE(input_files_must_be_regular_and_small_enough) {
    TempDir tmp("untrusted");
    std::ofstream(tmp / "ok.txt") << "hello";
    BOOST_TEST(read_input_file(tmp / "ok.txt", 5) == "hello");
    const fs::path fifo = tmp / "fifo";
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Each returns at once: a FIFO with no writer would block a plain open() forever.
    BOOST_TEST(open_error(fifo) == fifo.string() + ": cannot open (is a FIFO, not a regular file)");
    BOOST_TEST(open_error("/dev/zero") ==
               "/dev/zero: cannot open (is a character device, not a regular file)");
    BOOST_TEST(open_error(tmp.path) ==
               tmp.path.string() + ": cannot open (found a directory, expected a regular file)");
    BOOST_TEST(open_error(tmp / "missing") ==
               (tmp / "missing").string() + ": cannot open (no such file)");
    BOOST_TEST(open_error(tmp / "ok.txt", 4) ==
               (tmp / "ok.txt").string() + ": file too large (5 bytes, at most 4 are read)");
    // A path with control characters is shown escaped.
    const fs::path odd = tmp / "a\x1b[2Jb";
    BOOST_TEST(open_error(odd) == tmp.path.string() + "/a\\x1b[2Jb: cannot open (no such file)");
}
