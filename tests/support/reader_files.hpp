// Fixtures for the reader tests: files written byte by byte (a .npy by a small independent
// writer, not by the reader under test) and checks on one-line error messages.
#pragma once

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace plexus::test {

using Bytes = std::vector<std::uint8_t>;

inline void write_bytes(const std::filesystem::path& path, const Bytes& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    BOOST_REQUIRE(out.good());
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
    write_bytes(path, Bytes(text.begin(), text.end()));
}

template <typename T>
Bytes raw(const std::vector<T>& values) {  // the host is little-endian, as .npy wants
    Bytes out(values.size() * sizeof(T));
    std::memcpy(out.data(), values.data(), out.size());
    return out;
}

// A .npy file (numpy.lib.format): magic, version, header length, padded dict, data.
inline Bytes npy(const std::string& descr, const std::string& shape, const Bytes& data,
                 int version = 1, bool fortran = false) {
    std::string dict = "{'descr': '" + descr +
                       "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': " + shape + ", }";
    const std::size_t pre = version == 1 ? 10 : 12;
    while ((pre + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(version), 0};
    for (std::size_t i = 0; i < pre - 8; ++i)
        out.push_back(static_cast<std::uint8_t>(dict.size() >> (8 * i)));
    out.insert(out.end(), dict.begin(), dict.end());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

// CRC-32 (IEEE 802.3, as gzip uses it), bit by bit: independent of zlib's table-driven one.
inline std::uint32_t crc32_ieee(const Bytes& bytes) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::uint8_t b : bytes) {
        crc ^= b;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

// One gzip member (RFC 1952) whose deflate data are stored blocks of at most 1000 bytes,
// written by hand rather than with zlib: the readers are checked against the format, not
// against zlib's own writer.
inline Bytes gzip_bytes(const Bytes& data) {
    Bytes out = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    std::size_t pos = 0;
    do {
        const std::size_t n = std::min<std::size_t>(1000, data.size() - pos);
        out.push_back(pos + n == data.size() ? 1 : 0);  // BFINAL, BTYPE 00 = stored
        for (const std::size_t v : {n, n ^ 0xffffu}) {  // LEN, NLEN
            out.push_back(static_cast<std::uint8_t>(v));
            out.push_back(static_cast<std::uint8_t>(v >> 8));
        }
        out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(pos),
                   data.begin() + static_cast<std::ptrdiff_t>(pos + n));
        pos += n;
    } while (pos < data.size());
    for (const std::uint32_t v : {crc32_ieee(data), static_cast<std::uint32_t>(data.size())})
        for (int shift = 0; shift < 32; shift += 8)
            out.push_back(static_cast<std::uint8_t>(v >> shift));  // CRC32, ISIZE
    return out;
}

// The message of the E that f throws; fails the test when f throws nothing or another type.
template <typename E, typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        BOOST_ERROR("wrong exception type: " << e.what());
        return "";
    }
    BOOST_ERROR("no exception thrown");
    return "";
}

// The message is one line and holds every phrase.
inline void check_has(const std::string& message, const std::vector<std::string>& phrases) {
    BOOST_TEST(message.find('\n') == std::string::npos, "one line: " << message);
    for (const auto& p : phrases)
        BOOST_TEST(message.find(p) != std::string::npos, "'" << p << "' in: " << message);
}

template <typename T>
void check_eq(const std::vector<T>& got, const std::vector<T>& want) {
    BOOST_TEST(got == want, boost::test_tools::per_element());
}

}  // namespace plexus::test
