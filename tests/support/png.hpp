// A minimal PNG writer for tests that need image files (image folders, dir: sources): 8-bit
// gray, RGB or RGBA, stored (uncompressed) deflate, so any PNG decoder reads it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace plexus::test {

using Bytes = std::vector<std::uint8_t>;

inline std::uint32_t crc32(const Bytes& bytes, std::size_t from = 0) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = from; i < bytes.size(); ++i) {
        crc ^= bytes[i];
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

inline void put_be32(Bytes& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

inline void png_chunk(Bytes& out, const char* type, const Bytes& data) {
    put_be32(out, static_cast<std::uint32_t>(data.size()));
    Bytes body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    out.insert(out.end(), body.begin(), body.end());
    put_be32(out, crc32(body));
}

// An 8-bit PNG with `channels` 1 (gray), 3 (RGB) or 4 (RGBA), pixels interleaved row by row,
// compressed as stored (uncompressed) deflate blocks inside a zlib stream.
inline Bytes png(std::uint32_t width, std::uint32_t height, int channels, const Bytes& pixels) {
    if (pixels.size() != std::size_t{width} * height * channels || pixels.size() + height > 65535)
        throw std::invalid_argument(
            "png: pixels do not match the size, or the image is over 64 KiB");
    Bytes filtered;
    for (std::uint32_t y = 0; y < height; ++y) {
        filtered.push_back(0);  // filter type None
        const auto row = pixels.begin() + std::ptrdiff_t(y * width * channels);
        filtered.insert(filtered.end(), row, row + std::ptrdiff_t(width * channels));
    }
    Bytes z = {0x78,
               0x01,
               1,
               static_cast<std::uint8_t>(filtered.size()),
               static_cast<std::uint8_t>(filtered.size() >> 8),
               static_cast<std::uint8_t>(~filtered.size()),
               static_cast<std::uint8_t>(~filtered.size() >> 8)};
    z.insert(z.end(), filtered.begin(), filtered.end());
    std::uint32_t a = 1, b = 0;  // Adler-32
    for (std::uint8_t byte : filtered) {
        a = (a + byte) % 65521;
        b = (b + a) % 65521;
    }
    put_be32(z, (b << 16) | a);
    Bytes ihdr;
    put_be32(ihdr, width);
    put_be32(ihdr, height);
    const std::uint8_t colour_type = channels == 1 ? 0 : channels == 3 ? 2 : 6;
    ihdr.insert(ihdr.end(), {8, colour_type, 0, 0, 0});
    Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    png_chunk(out, "IHDR", ihdr);
    png_chunk(out, "IDAT", z);
    png_chunk(out, "IEND", {});
    return out;
}

}  // namespace plexus::test
