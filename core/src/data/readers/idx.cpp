// IDX reader. Every file goes through GzipStream, which reads raw files transparently and
// verifies a gzip file's checksums, length and end; compressed() tells which of the two it was
// (by the gzip magic bytes) so that messages can say "gzip stream" where it matters. The
// header is validated before anything is allocated.
#include "plexus/core/data/readers/idx.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <system_error>

#include "gzip_stream.hpp"
#include "inflated_copy.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"
#include "reader_util.hpp"

namespace plexus::core {
namespace {

constexpr std::size_t kMaxBytes = std::size_t{1} << 31;  // 2 GiB of data per file
// The file itself: the data, the header and (gzip of incompressible data) stored-block overhead.
constexpr std::uint64_t kMaxFileBytes = kMaxBytes + (kMaxBytes >> 10) + 4096;
constexpr std::size_t kChunk = std::size_t{1} << 20;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
    throw DataError(support::printable(path.string(), support::kMaxShownPathBytes) + ": " + what);
}

std::string dims_str(const std::vector<std::size_t>& dims) {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

std::string hex_byte(unsigned b) {
    return fmt::format("{:02x}", b & 0xffu);
}

std::string type_name(unsigned code) {
    switch (code) {
        case 0x08:
            return "unsigned byte";
        case 0x09:
            return "signed byte";
        case 0x0B:
            return "int16";
        case 0x0C:
            return "int32";
        case 0x0D:
            return "float32";
        case 0x0E:
            return "float64";
        default:
            return "unknown";
    }
}

std::uint32_t big_endian_u32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

// Finds PREFIX + suffix, raw first, then gzipped. Anything at that name counts as found, so
// a folder or FIFO there is reported as what it is by read_idx, not as "not found".
std::filesystem::path find_part(const std::filesystem::path& prefix, const std::string& suffix) {
    const std::filesystem::path raw = prefix.string() + suffix;
    const std::filesystem::path gz = raw.string() + ".gz";
    std::error_code ec;
    if (std::filesystem::exists(raw, ec)) return raw;
    if (std::filesystem::exists(gz, ec)) return gz;
    throw DataError(raw.string() + ": not found (expected " + raw.string() + " or " + gz.string() +
                    "); check the data path prefix");
}

const std::vector<std::string>& fashion_names() {
    static const std::vector<std::string> names = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

bool contains_fashion(const std::filesystem::path& prefix) {
    std::string s = prefix.string();
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s.find("fashion") != std::string::npos;
}

// read_idx without the inflated copies; `compressed` says whether the file was gzip.
IdxArray read_idx_file(const std::filesystem::path& path, bool& compressed) {
    detail::GzipStream in(path, kMaxFileBytes);
    if (in.file_size() == 0) fail(path, "empty file (expected an IDX header)");

    std::array<std::uint8_t, 4> magic{};
    const std::size_t got_magic = in.read(magic.data(), magic.size());
    const bool gz = in.compressed();
    compressed = gz;
    const std::string kind = gz ? " after decompression" : "";
    if (got_magic == 0) fail(path, "empty file (expected an IDX header" + kind + ")");
    if (got_magic < magic.size())
        fail(path, "truncated header (expected 4 bytes" + kind + ", found " +
                       std::to_string(got_magic) + ")");
    if (magic[0] != 0 || magic[1] != 0)
        fail(path, "not an IDX file (expected magic bytes 00 00" + kind + ", found " +
                       hex_byte(magic[0]) + " " + hex_byte(magic[1]) + ")");
    if (magic[2] != 0x08)
        fail(path, "unsupported element type 0x" + hex_byte(magic[2]) + " " + type_name(magic[2]) +
                       " (expected 0x08 unsigned byte)");
    const std::size_t ndims = magic[3];
    if (ndims < 1 || ndims > Shape::kMaxRank)
        fail(path, "unsupported number of dimensions (expected 1 to " +
                       std::to_string(Shape::kMaxRank) + ", found " + std::to_string(ndims) + ")");

    std::vector<std::uint8_t> raw_dims(4 * ndims);
    const std::size_t got_dims = in.read(raw_dims.data(), raw_dims.size());
    const std::size_t header = 4 + raw_dims.size();
    if (got_dims < raw_dims.size())
        fail(path, "truncated header (expected " + std::to_string(header) + " bytes for " +
                       std::to_string(ndims) + " dimensions, found " +
                       std::to_string(4 + got_dims) + ")");

    IdxArray out;
    std::size_t bytes = 1;
    bool too_large = false;
    for (std::size_t i = 0; i < ndims; ++i) {
        const std::size_t d = big_endian_u32(raw_dims.data() + 4 * i);
        out.dims.push_back(d);
        if (d != 0 && !too_large) {
            if (bytes > kMaxBytes / d)
                too_large = true;
            else
                bytes *= d;
        }
    }
    if (std::find(out.dims.begin(), out.dims.end(), 0) != out.dims.end())
        fail(path,
             "zero dimension (expected every dimension > 0, found " + dims_str(out.dims) + ")");
    if (too_large || bytes > kMaxBytes)
        fail(path, "data too large (expected at most " + std::to_string(kMaxBytes) +
                       " bytes, found dimensions " + dims_str(out.dims) + " that need more)");

    // A raw file's size is known: reject truncation or trailing bytes before allocating.
    in.expected_total = header + bytes;
    const std::string expected =
        "expected " + std::to_string(bytes) + " bytes for dimensions " + dims_str(out.dims);
    if (!gz) {
        const auto size = in.file_size();
        if (size < header + bytes)
            fail(path,
                 "truncated data (" + expected + ", found " + std::to_string(size - header) + ")");
        if (size > header + bytes)
            fail(path, "trailing bytes after the data (" + expected + ", found " +
                           std::to_string(size - header - bytes) + " more)");
    }

    // Inflated whole already (libdeflate): the array is that buffer, without a copy.
    out.data = in.take_rest(bytes);
    if (out.data.empty()) {
        try {
            out.data.reserve(bytes);
        } catch (const std::bad_alloc&) {
            fail(path, "out of memory (" + expected + ")");
        }
        advise_huge_pages(out.data.data(), bytes);
        // A damaged file that libdeflate inflated whole: its bytes, then the messages below.
        if (const auto whole = in.take(bytes); !whole.empty())
            out.data.assign(whole.begin(), whole.end());
    }
    // Grow as data arrives, so a lying gzip header costs no more memory than its content.
    while (out.data.size() < bytes) {
        const std::size_t have = out.data.size();
        const std::size_t step = std::min(bytes - have, kChunk);
        out.data.resize(have + step);
        const std::size_t got = in.read(out.data.data() + have, step);
        if (got < step)
            fail(path,
                 "truncated data (" + expected + ", found " + std::to_string(have + got) + ")");
    }
    const std::size_t extra = in.skip_rest(kMaxBytes);
    if (extra > 0)
        fail(path, "trailing bytes after the data (" + expected + ", found " +
                       std::to_string(extra) + (extra >= kMaxBytes ? "+" : "") + " more)");
    return out;
}

}  // namespace

IdxArray read_idx(const std::filesystem::path& path) {
    bool compressed = false;
    const std::filesystem::path copy = detail::inflated_copy(path);
    if (!copy.empty()) {
        std::error_code ec;
        if (std::filesystem::exists(copy, ec)) {
            try {
                IdxArray out = read_idx_file(copy, compressed);
                if (!compressed) return out;
            } catch (const std::exception&) {
            }
            detail::drop_inflated_copy(copy);  // damaged: read the source again
        }
    }
    IdxArray out = read_idx_file(path, compressed);
    if (!copy.empty() && compressed && out.data.size() >= detail::kMinInflatedCopyBytes) {
        // The header as the inflated file had it: magic 00 00 08 ndims, big-endian dimensions.
        std::string header{'\0', '\0', '\x08', static_cast<char>(out.dims.size())};
        for (const std::size_t d : out.dims)
            for (int shift = 24; shift >= 0; shift -= 8)
                header.push_back(static_cast<char>((d >> shift) & 0xffu));
        const std::string_view pieces[] = {
            header, {reinterpret_cast<const char*>(out.data.data()), out.data.size()}};
        detail::keep_inflated_copy(copy, pieces);
    }
    return out;
}

Dataset load_idx_dataset(const std::filesystem::path& prefix) {
    const auto images_path = find_part(prefix, "-images-idx3-ubyte");
    const auto labels_path = find_part(prefix, "-labels-idx1-ubyte");
    IdxArray images = read_idx(images_path);
    IdxArray labels = read_idx(labels_path);

    if (images.dims.size() < 2)
        throw DataError(images_path.string() +
                        ": images need at least 2 dimensions (expected [count, ...], found " +
                        dims_str(images.dims) + ")");
    if (labels.dims.size() != 1)
        throw DataError(labels_path.string() + ": labels must be 1-D (expected [" +
                        std::to_string(images.dims[0]) + "], found " + dims_str(labels.dims) + ")");
    if (labels.dims[0] != images.dims[0])
        throw DataError(labels_path.string() +
                        ": label count does not match the images (expected " +
                        std::to_string(images.dims[0]) + " labels for " + images_path.string() +
                        ", found " + std::to_string(labels.dims[0]) + ")");

    Dataset ds;
    ds.source = prefix.string();
    ds.count = images.dims[0];
    for (std::size_t i = 1; i < images.dims.size(); ++i) ds.sample_shape.push_back(images.dims[i]);
    ds.u8 = std::move(images.data);
    ds.labels.assign(labels.data.begin(), labels.data.end());
    const std::uint32_t max_label = *std::max_element(ds.labels.begin(), ds.labels.end());
    ds.classes = std::size_t{max_label} + 1;

    const auto& fashion = fashion_names();
    if (contains_fashion(prefix) && ds.classes <= fashion.size()) {
        ds.classes = fashion.size();
        ds.class_names = fashion;
    } else {
        for (std::size_t c = 0; c < ds.classes; ++c) ds.class_names.push_back(std::to_string(c));
    }
    return ds;
}

}  // namespace plexus::core
