// NumPy .npy reader (format: numpy.lib.format, versions 1.0 and 2.0). Both headers are
// validated, and the label count checked, before any array data is read; the file size must
// match the header exactly, so a header claiming more data than the file holds is an error
// rather than an allocation.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"
#include "reader_util.hpp"

namespace plexus::core {
namespace {

using detail::data_fail;

constexpr std::size_t kMaxHeader = std::size_t{1} << 20;
// Far above what a dataset's sample shape may have; it only keeps messages short.
constexpr std::size_t kMaxRank = 32;
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 34;  // 16 GiB per .npy file
constexpr std::size_t kChunk = std::size_t{1} << 20;

std::string shape_str(const std::vector<std::size_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

// The Python dict literal numpy writes as the header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (150, 4), }
class HeaderParser {
public:
    HeaderParser(std::string_view text, const std::filesystem::path& path)
        : text_(text), path_(path) {}

    void parse(std::string& descr, bool& fortran, std::vector<std::size_t>& shape) {
        bool seen[3] = {false, false, false};
        expect('{');
        for (;;) {
            if (peek() == '}') break;
            const std::string key = string_literal();
            expect(':');
            if (key == "descr") {
                if (peek() == '[')
                    fail(
                        "structured dtypes are not supported (expected a plain dtype such as "
                        "'<f4')");
                descr = string_literal();
                seen[0] = true;
            } else if (key == "fortran_order") {
                fortran = boolean();
                seen[1] = true;
            } else if (key == "shape") {
                shape = tuple();
                seen[2] = true;
            } else {
                fail("unexpected key " + support::quote_for_message(key, 40) +
                     " (expected descr, fortran_order, shape)");
            }
            if (peek() == ',')
                ++pos_;
            else if (peek() != '}')
                fail("expected ',' or '}'");
        }
        ++pos_;
        if (peek() != '\0') fail("unexpected text after the closing '}'");
        const char* names[3] = {"descr", "fortran_order", "shape"};
        for (int i = 0; i < 3; ++i)
            if (!seen[i]) fail(std::string("missing key '") + names[i] + "'");
    }

private:
    [[noreturn]] void fail(const std::string& what) {
        std::string shown(text_.substr(0, 120));
        for (char& c : shown)
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
                c = '?';
        data_fail(path_, "malformed header: " + what + " at offset " + std::to_string(pos_) +
                             " of \"" + shown + "\"");
    }
    // The next character that is not a blank, without taking it; '\0' at the end.
    char peek() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
        return pos_ < text_.size() ? text_[pos_] : '\0';
    }
    void expect(char c) {
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    std::string string_literal() {
        const char quote = peek();
        if (quote != '\'' && quote != '"') fail("expected a quoted string");
        const std::size_t end = text_.find(quote, ++pos_);
        if (end == std::string_view::npos) fail("unterminated string");
        std::string s(text_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return s;
    }
    bool boolean() {
        peek();
        for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}})
            if (text_.substr(pos_, std::strlen(word)) == word) {
                pos_ += std::strlen(word);
                return value;
            }
        fail("expected True or False");
    }
    std::vector<std::size_t> tuple() {
        std::vector<std::size_t> dims;
        expect('(');
        while (peek() != ')') {
            std::size_t d = 0;
            const char* first = text_.data() + pos_;
            const auto [p, ec] = std::from_chars(first, text_.data() + text_.size(), d);
            if (ec != std::errc() || p == first) fail("expected a dimension");
            pos_ += static_cast<std::size_t>(p - first);
            if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long
            dims.push_back(d);
            if (dims.size() > kMaxRank)
                fail("more than " + std::to_string(kMaxRank) + " dimensions in the shape");
            if (peek() == ',')
                ++pos_;
            else if (peek() != ')')
                fail("expected ',' or ')'");
        }
        ++pos_;
        return dims;
    }

    std::string_view text_;
    const std::filesystem::path& path_;
    std::size_t pos_ = 0;
};

// One open .npy file whose header has been read and checked against the file size.
class NpyFile {
public:
    std::filesystem::path path;
    std::string descr;
    std::vector<std::size_t> shape;
    std::size_t elements = 0, item_size = 0;

    NpyFile(const std::filesystem::path& p, bool is_labels) : path(p) {
        support::InputFile in = support::open_input_file(path, kMaxFileBytes);
        file_ = std::move(in.stream);
        const auto size = in.size;
        read_header(static_cast<std::size_t>(size));
        check_dtype(is_labels);
        std::size_t bytes = 0;
        elements = 1;
        for (std::size_t d : shape)
            if (!detail::checked_mul(elements, d, elements))
                data_fail(path, "shape " + shape_str(shape) + " is too large");
        if (!detail::checked_mul(elements, item_size, bytes))
            data_fail(path, "shape " + shape_str(shape) + " is too large");
        const std::size_t have = static_cast<std::size_t>(size) - offset_;
        const std::string expected = "expected " + std::to_string(bytes) + " bytes for shape " +
                                     shape_str(shape) + " of '" + descr + "'";
        if (have < bytes)
            data_fail(path,
                      "truncated data (" + expected + ", found " + std::to_string(have) + ")");
        if (have > bytes)
            data_fail(path, "trailing bytes after the data (" + expected + ", found " +
                                std::to_string(have - bytes) + " more)");
    }

    // Reads the next n bytes of data, which the size check guarantees are there.
    void read(void* out, std::size_t n) {
        if (std::fread(out, 1, n, file_.get()) != n)
            data_fail(path, "read error (the file changed while it was read?)");
    }
    char kind() const { return descr[1]; }

private:
    void read_header(std::size_t size) {
        unsigned char pre[12] = {};
        const std::size_t got = std::fread(pre, 1, 10, file_.get());
        static constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
        if (got == 0) data_fail(path, "empty file (expected a .npy header)");
        if (got < 6 || std::memcmp(pre, kMagic, 6) != 0)
            data_fail(path, got < 6 && std::memcmp(pre, kMagic, got) == 0
                                ? "truncated header (file has " + std::to_string(got) + " bytes)"
                                : "not a .npy file (expected the magic bytes \\x93NUMPY)");
        if (got < 8)
            data_fail(path, "truncated header (file has " + std::to_string(got) + " bytes)");
        if (!((pre[6] == 1 || pre[6] == 2) && pre[7] == 0))
            data_fail(path, "unsupported .npy format version " + std::to_string(pre[6]) + "." +
                                std::to_string(pre[7]) + " (expected 1.0 or 2.0)");
        const std::size_t len_bytes = pre[6] == 1 ? 2 : 4;
        if (got < 8 + len_bytes &&
            std::fread(pre + got, 1, 8 + len_bytes - got, file_.get()) + got < 8 + len_bytes)
            data_fail(path, "truncated header (file has " + std::to_string(size) + " bytes)");
        std::size_t len = 0;
        for (std::size_t i = 0; i < len_bytes; ++i) len |= std::size_t{pre[8 + i]} << (8 * i);
        offset_ = 8 + len_bytes + len;
        if (len > kMaxHeader)
            data_fail(path, "header length " + std::to_string(len) + " is implausible (at most " +
                                std::to_string(kMaxHeader) + ")");
        if (offset_ > size)
            data_fail(path, "truncated header (expected " + std::to_string(len) +
                                " header bytes, file has " + std::to_string(size) + " bytes)");
        std::string text(len, '\0');
        if (std::fseek(file_.get(), static_cast<long>(8 + len_bytes), SEEK_SET) != 0 ||
            std::fread(text.data(), 1, len, file_.get()) != len)
            data_fail(path, "read error in the header");
        bool fortran = false;
        HeaderParser(text, path).parse(descr, fortran, shape);
        if (fortran)
            data_fail(path,
                      "Fortran-order arrays are not supported (save a C-order array: "
                      "np.save(path, np.ascontiguousarray(a)))");
    }
    void check_dtype(bool is_labels) {
        const std::string& d = descr;
        const bool form = d.size() == 3 &&
                          (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=') &&
                          (d[2] == '1' || d[2] == '2' || d[2] == '4' || d[2] == '8');
        const char k = form ? d[1] : '?';
        const bool ok = is_labels ? (k == 'i' || k == 'u' || (k == 'f' && d[2] >= '4'))
                                  : (k == 'f' && d[2] >= '4') || (k == 'u' && d[2] == '1');
        const char* want =
            is_labels ? "an integer dtype (<i4, <i8, |u1, ...) or <f4/<f8" : "<f4, <f8 or |u1";
        if (!ok)
            data_fail(path, "unsupported dtype " + support::quote_for_message(d, 40) +
                                " (expected " + want + ")");
        item_size = static_cast<std::size_t>(d[2] - '0');
        if (item_size > 1 && d[0] != '<')
            data_fail(path, "unsupported byte order in dtype '" + d +
                                "' (expected little-endian '<'; convert with a.astype('<" +
                                d.substr(1) + "'))");
    }

    std::unique_ptr<std::FILE, support::FileCloser> file_;
    std::size_t offset_ = 0;
};

// Little-endian element i of raw bytes, as a value of the file's kind.
template <typename T>
T load_le(const unsigned char* p) {
    std::conditional_t<
        sizeof(T) == 1, std::uint8_t,
        std::conditional_t<sizeof(T) == 2, std::uint16_t,
                           std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>
        bits = 0;
    for (std::size_t b = 0; b < sizeof(T); ++b) bits |= decltype(bits){p[b]} << (8 * b);
    return std::bit_cast<T>(bits);
}

// The label at raw position p as a double (exact for ids), or -1 when it is no class id.
double label_value(const NpyFile& f, const unsigned char* p) {
    const char k = f.kind();
    switch (f.item_size) {
        case 1:
            return k == 'i' ? double(load_le<std::int8_t>(p)) : double(p[0]);
        case 2:
            return k == 'i' ? double(load_le<std::int16_t>(p)) : double(load_le<std::uint16_t>(p));
        case 4:
            if (k == 'f') return double(load_le<float>(p));
            return k == 'i' ? double(load_le<std::int32_t>(p)) : double(load_le<std::uint32_t>(p));
        default:
            if (k == 'f') return load_le<double>(p);
            if (k == 'i') return double(load_le<std::int64_t>(p));
            return double(load_le<std::uint64_t>(p));
    }
}

template <typename T>
void reserve_or_fail(std::vector<T>& v, std::size_t n, const std::filesystem::path& path) {
    try {
        v.resize(n);
    } catch (const std::exception&) {  // bad_alloc, or length_error beyond max_size()
        data_fail(path, "out of memory (" + std::to_string(n) + " elements)");
    }
}

void read_features(NpyFile& f, Dataset& ds) {
    if (f.kind() == 'u') {
        reserve_or_fail(ds.u8, f.elements, f.path);
        f.read(ds.u8.data(), f.elements);
        return;
    }
    reserve_or_fail(ds.f32, f.elements, f.path);
    std::vector<unsigned char> buf(std::min(f.elements * f.item_size, kChunk));
    const std::size_t per_chunk = buf.size() / f.item_size;
    for (std::size_t done = 0; done < f.elements;) {
        const std::size_t n = std::min(per_chunk, f.elements - done);
        f.read(buf.data(), n * f.item_size);
        for (std::size_t i = 0; i < n; ++i) {
            const unsigned char* p = buf.data() + i * f.item_size;
            const float v =
                f.item_size == 4 ? load_le<float>(p) : static_cast<float>(load_le<double>(p));
            if (!std::isfinite(v))
                data_fail(f.path, "element " + std::to_string(done + i) + " (sample " +
                                      std::to_string((done + i) / ds.sample_shape.numel()) +
                                      ") is not a finite float32 value");
            ds.f32[done + i] = v;
        }
        done += n;
    }
}

}  // namespace

namespace {

// Float targets [N] or [N, k] for the N samples of `data_path`.
void read_targets(NpyFile& f, std::size_t n, const std::filesystem::path& data_path, Dataset& ds) {
    if (f.shape.empty() || f.shape.size() > 2 || (f.shape.size() == 2 && f.shape[1] == 0))
        data_fail(f.path, "targets must have shape (" + std::to_string(n) + ",) or (" +
                              std::to_string(n) + ", k) with k >= 1 (found " + shape_str(f.shape) +
                              ")");
    if (f.shape[0] != n)
        data_fail(f.path, "target count does not match the data (expected " + std::to_string(n) +
                              " rows for " + data_path.string() + ", found " +
                              std::to_string(f.shape[0]) + ")");
    ds.target_width = f.shape.size() == 2 ? f.shape[1] : 1;
    std::vector<unsigned char> raw;
    reserve_or_fail(raw, f.elements * f.item_size, f.path);
    f.read(raw.data(), raw.size());
    reserve_or_fail(ds.targets, f.elements, f.path);
    for (std::size_t i = 0; i < f.elements; ++i) {
        const double v = label_value(f, raw.data() + i * f.item_size);
        const auto x = static_cast<float>(v);
        if (!std::isfinite(x))
            data_fail(f.path, "target " + fmt::format("{:.17g}", v) + " at index " +
                                  std::to_string(i) + " (sample " +
                                  std::to_string(i / ds.target_width) +
                                  ") is not a finite float32 value");
        ds.targets[i] = x;
    }
    for (std::size_t k = 0; k < ds.target_width; ++k)
        ds.target_names.push_back("t" + std::to_string(k));
}

}  // namespace

Dataset load_npy(const std::filesystem::path& path, const NpyOptions& options,
                 ClassOrigins* origins) {
    if (options.labels.empty() == options.targets.empty() && !options.unlabeled)
        throw ConfigError(path.string() +
                          ": a .npy source needs either labels=PATH (a .npy of class ids) or "
                          "targets=PATH (a .npy of float targets)");
    NpyFile data(path, false);
    const bool regression = !options.targets.empty();
    if (data.shape.size() < 2)
        data_fail(path, "data need at least 2 dimensions [count, ...] (found shape " +
                            shape_str(data.shape) + "; reshape one feature per sample to (N, 1))");
    if (data.shape.size() - 1 > Shape::kMaxRank)
        data_fail(path, "too many dimensions in shape " + shape_str(data.shape) + " (at most " +
                            std::to_string(Shape::kMaxRank + 1) + ")");
    if (data.elements == 0) data_fail(path, "no data (shape " + shape_str(data.shape) + ")");
    const std::size_t n = data.shape[0];
    Dataset ds;
    ds.source = path.string();
    ds.count = n;
    if (options.unlabeled) {
        ds.unlabeled = true;
        for (std::size_t i = 1; i < data.shape.size(); ++i)
            ds.sample_shape.push_back(data.shape[i]);
        read_features(data, ds);
        if (origins) origins->clear();
        return ds;
    }
    NpyFile labels(regression ? options.targets : options.labels, true);
    if (regression) {
        read_targets(labels, n, path, ds);  // checked before the (large) data are read
        for (std::size_t i = 1; i < data.shape.size(); ++i)
            ds.sample_shape.push_back(data.shape[i]);
        read_features(data, ds);
        if (origins) origins->clear();
        return ds;
    }
    const bool column = labels.shape.size() == 2 && labels.shape[1] == 1;
    if (labels.shape.size() != 1 && !column)
        data_fail(labels.path, "labels must be 1-D (expected shape (" + std::to_string(n) +
                                   ",), found " + shape_str(labels.shape) + ")");
    if (labels.shape[0] != n)
        data_fail(labels.path, "label count does not match the data (expected " +
                                   std::to_string(n) + " labels for " + path.string() + ", found " +
                                   std::to_string(labels.shape[0]) + ")");

    for (std::size_t i = 1; i < data.shape.size(); ++i) ds.sample_shape.push_back(data.shape[i]);
    read_features(data, ds);
    std::vector<unsigned char> raw(n * labels.item_size);
    labels.read(raw.data(), raw.size());
    ds.labels.resize(n);
    std::uint32_t top = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = label_value(labels, raw.data() + i * labels.item_size);
        if (!(v >= 0 && v <= double(kMaxClassId) && v == std::floor(v))) {
            data_fail(labels.path, "label " + fmt::format("{:.17g}", v) + " at index " +
                                       std::to_string(i) +
                                       " is not a class id (expected an "
                                       "integer from 0 to " +
                                       std::to_string(kMaxClassId) + ")");
        }
        ds.labels[i] = static_cast<std::uint32_t>(v);
        top = std::max(top, ds.labels[i]);
    }
    ds.classes = std::size_t{top} + 1;
    for (std::size_t c = 0; c < ds.classes; ++c) ds.class_names.push_back(std::to_string(c));
    if (origins) {
        origins->assign(ds.classes, labels.path.string());
        std::vector<bool> seen(ds.classes, false);
        for (std::size_t i = 0; i < n; ++i)
            if (!seen[ds.labels[i]]) {
                seen[ds.labels[i]] = true;
                (*origins)[ds.labels[i]] =
                    labels.path.string() + " (index " + std::to_string(i) + ")";
            }
    }
    return ds;
}

}  // namespace plexus::core
