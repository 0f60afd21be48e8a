// The reader validates the whole header before it allocates anything for tensor data: every
// size it trusts has been checked against the bytes actually present, so a header claiming
// 10^18 elements is a DataError, never a bad_alloc.
#include "plexus/core/modelfile/safetensors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "plexus/error.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/input_file.hpp"
#include "plexus/support/text.hpp"

namespace plexus::core {
namespace {

using json = nlohmann::json;

// The limit of the reference implementation: a bigger header is corruption or an attack.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
// A model file as a whole is read into memory: 16 GiB is beyond any model Plexus trains.
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 34;
// A valid header's longest array is a shape of Shape::kMaxRank dimensions; the cap keeps a
// malicious array from growing the parsed document far beyond the file's size.
constexpr std::size_t kMaxArrayEntries = 16;

constexpr const char* kDamaged =
    "the file is damaged or not a safetensors file; re-run training or restore a checkpoint";
constexpr const char* kIncomplete =
    "the file is incomplete; re-run training or restore a checkpoint";
constexpr const char* kSupported =
    "Plexus reads F32, F64, F16 and BF16; convert the tensor to one of these";

[[noreturn]] void fail(const std::string& file, const std::string& what, const char* hint) {
    throw DataError(file + ": " + what + " (" + hint + ")");
}

// One printable line (control bytes and invalid UTF-8 escaped) of at most about `max` bytes.
std::string printable(std::string_view s, std::size_t max = 80) {
    return support::printable(s, max);
}

std::string quote_name(std::string_view s) {
    return "'" + printable(s) + "'";
}

std::string entry_label(const std::string& key) {
    return key == "__metadata__" ? "'__metadata__'" : "tensor " + quote_name(key);
}

std::string describe(const json& j) {
    switch (j.type()) {
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::string:
            return "a string";
        case json::value_t::null:
            return "null";
        case json::value_t::boolean:
            return "a boolean";
        default:
            return printable(j.dump(), 40);
    }
}

// Watches the parse: rejects duplicate keys (the DOM would silently keep the last), nesting
// deeper than a safetensors header has, and overlong arrays, before they are built.
class HeaderGuard {
public:
    explicit HeaderGuard(const std::string& file) : file_(file) {}

    bool on_event(int depth, json::parse_event_t event, json& parsed) {
        using E = json::parse_event_t;
        switch (event) {
            case E::object_start:
            case E::array_start:
                if (depth > 2)
                    fail(file_, where() + " nests arrays or objects too deeply", kDamaged);
                count_entry();
                frames_.push_back({event == E::array_start, {}, 0});
                return true;
            case E::object_end:
            case E::array_end:
                frames_.pop_back();
                return true;
            case E::key: {
                const auto& k = parsed.get_ref<const std::string&>();
                if (!frames_.back().keys.insert(k).second)
                    fail(file_,
                         (depth == 1   ? "the header"
                          : depth == 2 ? entry_label(entry_)
                                       : where()) +
                             " lists " + quote_name(k) + " twice",
                         kDamaged);
                if (depth == 1) {
                    entry_ = k;
                    field_.clear();
                } else if (depth == 2) {
                    field_ = k;
                }
                return true;
            }
            case E::value:
                count_entry();
                return true;
        }
        return true;
    }

private:
    void count_entry() {
        if (!frames_.empty() && frames_.back().array && ++frames_.back().entries > kMaxArrayEntries)
            fail(file_, where() + " has more than " + std::to_string(kMaxArrayEntries) + " entries",
                 kDamaged);
    }

    std::string where() const {
        return entry_label(entry_) + (field_.empty() ? "" : ": " + quote_name(field_));
    }

    struct Frame {
        bool array;
        std::set<std::string> keys;
        std::size_t entries;
    };
    const std::string& file_;
    std::vector<Frame> frames_;
    std::string entry_, field_;  // the keys at depth 1 and 2 on the current path
};

json parse_header(std::string_view text, const std::string& file) {
    HeaderGuard guard(file);
    try {
        return json::parse(text.data(), text.data() + text.size(),
                           [&guard](int depth, json::parse_event_t event, json& parsed) {
                               return guard.on_event(depth, event, parsed);
                           });
    } catch (const json::exception& e) {
        std::string_view what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
        if (const auto p = what.find("] "); p != what.npos) what.remove_prefix(p + 2);
        fail(file, "the header is not valid JSON: " + printable(what, 160), kDamaged);
    }
}

enum class Dtype { f32, f64, f16, bf16 };

struct Entry {
    std::string name;
    Dtype dtype;
    Shape shape;
    std::size_t numel;
    std::uint64_t begin, end;
};

std::size_t dtype_size(Dtype d) {
    switch (d) {
        case Dtype::f64:
            return 8;
        case Dtype::f16:
        case Dtype::bf16:
            return 2;
        default:
            return 4;
    }
}

Entry check_entry(const std::string& file, const std::string& key, const json& j) {
    const std::string label = entry_label(key);
    if (!j.is_object())
        fail(file,
             label + " is " + describe(j) +
                 ", expected an object with dtype, shape and data_offsets",
             kDamaged);
    for (const auto& [field, value] : j.items())
        if (field != "dtype" && field != "shape" && field != "data_offsets")
            fail(file,
                 label + " has an unknown field " + quote_name(field) +
                     "; expected only dtype, shape and data_offsets",
                 kDamaged);
    for (const char* field : {"dtype", "shape", "data_offsets"})
        if (!j.contains(field)) fail(file, label + " has no '" + field + "'", kDamaged);

    Entry e{key, Dtype::f32, {}, 1, 0, 0};
    const json& dtype = j["dtype"];
    if (!dtype.is_string())
        fail(file,
             label + ": 'dtype' is " + describe(dtype) + ", expected a string such as \"F32\"",
             kDamaged);
    const auto& d = dtype.get_ref<const std::string&>();
    if (d == "F32")
        e.dtype = Dtype::f32;
    else if (d == "F64")
        e.dtype = Dtype::f64;
    else if (d == "F16")
        e.dtype = Dtype::f16;
    else if (d == "BF16")
        e.dtype = Dtype::bf16;
    else
        fail(file, label + " has dtype " + quote_name(d) + ", which Plexus cannot read",
             kSupported);

    const json& shape = j["shape"];
    if (!shape.is_array())
        fail(file, label + ": 'shape' is " + describe(shape) + ", expected an array of sizes",
             kDamaged);
    if (shape.size() > Shape::kMaxRank)
        fail(file,
             label + " has " + std::to_string(shape.size()) + " dimensions " +
                 printable(shape.dump(), 60) + ", Plexus supports at most " +
                 std::to_string(Shape::kMaxRank),
             kDamaged);
    bool zero = false;
    for (const auto& dim : shape) {
        if (!dim.is_number_unsigned())
            fail(file,
                 label + ": shape " + printable(shape.dump(), 60) + " holds " + describe(dim) +
                     ", expected non-negative integers",
                 kDamaged);
        e.shape.push_back(dim.get<std::uint64_t>());
        zero = zero || e.shape[e.shape.rank() - 1] == 0;
    }
    // An empty tensor has no elements whatever its other dimensions say.
    constexpr auto kMax = std::numeric_limits<std::size_t>::max();
    const std::size_t size = dtype_size(e.dtype);
    if (zero) e.numel = 0;
    for (std::size_t i = 0; i < e.shape.rank() && !zero; ++i) {
        if (e.numel > kMax / e.shape[i] / size)
            fail(file, label + ": shape " + e.shape.str() + " has too many elements to address",
                 kDamaged);
        e.numel *= e.shape[i];
    }

    const json& offsets = j["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
        fail(file,
             label + ": 'data_offsets' is " + printable(offsets.dump(), 60) +
                 ", expected [begin, end] with non-negative integers",
             kDamaged);
    e.begin = offsets[0].get<std::uint64_t>();
    e.end = offsets[1].get<std::uint64_t>();
    if (e.begin > e.end)
        fail(file,
             label + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                 "] end before they begin",
             kDamaged);
    if (e.end - e.begin != e.numel * size)
        fail(file,
             label + ": shape " + e.shape.str() + " of " + d + " needs " +
                 std::to_string(e.numel * size) + " bytes, data_offsets [" +
                 std::to_string(e.begin) + ", " + std::to_string(e.end) + "] hold " +
                 std::to_string(e.end - e.begin),
             kDamaged);
    return e;
}

float f16_to_f32(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h >> 15) << 31;
    const std::uint32_t exponent = (h >> 10) & 0x1fu;
    const std::uint32_t mantissa = h & 0x3ffu;
    std::uint32_t bits;
    if (exponent == 0)  // zero or subnormal: mantissa · 2^-24, exact in float32
        bits = std::bit_cast<std::uint32_t>(std::ldexp(static_cast<float>(mantissa), -24));
    else if (exponent == 31)  // infinity or NaN (the payload is kept)
        bits = 0x7f800000u | (mantissa << 13);
    else  // rebias the exponent from 15 to 127
        bits = ((exponent + 112) << 23) | (mantissa << 13);
    return std::bit_cast<float>(bits | sign);
}

float bf16_to_f32(std::uint16_t h) {
    return std::bit_cast<float>(std::uint32_t{h} << 16);
}

template <class T>
T load(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

std::vector<float> convert(const std::string& file, const Entry& e, const char* data) {
    std::vector<float> out(e.numel);
    for (std::size_t i = 0; i < e.numel; ++i) {
        const char* p = data + i * dtype_size(e.dtype);
        switch (e.dtype) {
            case Dtype::f32:
                out[i] = load<float>(p);
                break;
            case Dtype::f16:
                out[i] = f16_to_f32(load<std::uint16_t>(p));
                break;
            case Dtype::bf16:
                out[i] = bf16_to_f32(load<std::uint16_t>(p));
                break;
            case Dtype::f64: {
                const double v = load<double>(p);
                if (std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max()) {
                    fail(file,
                         entry_label(e.name) + " holds the F64 value " + fmt::format("{:g}", v) +
                             ", beyond float32's range",
                         "rescale the tensor to fit float32, whose largest value is 3.4e+38");
                }
                out[i] = static_cast<float>(v);
                break;
            }
        }
    }
    return out;
}

}  // namespace

std::string encode_safetensors(const std::vector<HostTensor>& tensors,
                               const std::map<std::string, std::string>& metadata) {
    static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::size_t offset = 0;
    for (const auto& t : tensors) {
        std::vector<std::size_t> shape;
        for (std::size_t i = 0; i < t.shape.rank(); ++i) shape.push_back(t.shape[i]);
        const std::size_t bytes = t.values.size() * sizeof(float);
        header[t.name] = {
            {"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string json = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    json.append((8 - json.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
    std::string out(8, '\0');
    std::uint64_t n = json.size();
    std::memcpy(out.data(), &n, 8);
    out += json;
    out.reserve(out.size() + offset);
    for (const auto& t : tensors)
        out.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
    return out;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<HostTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    support::write_file_atomic(path, encode_safetensors(tensors, metadata));
}

SafetensorsFile decode_safetensors(std::string_view bytes, const std::string& name) {
    if (bytes.size() < 8)
        fail(name,
             "too short for a safetensors file: " + std::to_string(bytes.size()) +
                 " bytes, the header length alone takes 8",
             kIncomplete);
    const auto n = load<std::uint64_t>(bytes.data());
    if (n == 0) fail(name, "the header length is 0", kDamaged);
    if (n > kMaxHeaderBytes)
        fail(name, "the header length is " + std::to_string(n) + " bytes, above the 100 MB limit",
             kDamaged);
    if (n > bytes.size() - 8)
        fail(name,
             "truncated: the header length says " + std::to_string(n) + " bytes of JSON, only " +
                 std::to_string(bytes.size() - 8) + " follow",
             kIncomplete);
    const json header = parse_header(bytes.substr(8, n), name);
    const std::string_view data = bytes.substr(8 + n);
    if (!header.is_object())
        fail(name, "the header is " + describe(header) + ", expected a JSON object of tensors",
             kDamaged);

    SafetensorsFile out;
    std::vector<Entry> entries;
    std::uint64_t data_end = 0;
    for (const auto& [key, value] : header.items()) {
        if (key != "__metadata__") {
            entries.push_back(check_entry(name, key, value));
            data_end = std::max(data_end, entries.back().end);
            continue;
        }
        if (!value.is_object())
            fail(name, "'__metadata__' is " + describe(value) + ", expected an object of strings",
                 kDamaged);
        for (const auto& [k, v] : value.items()) {
            if (!v.is_string())
                fail(name,
                     "'__metadata__' value " + quote_name(k) + " is " + describe(v) +
                         ", expected a string",
                     kDamaged);
            out.metadata.emplace(k, v.get<std::string>());
        }
    }
    if (data_end > data.size())
        fail(name,
             "truncated: the header says " + std::to_string(data_end) +
                 " bytes of data, the file has " + std::to_string(data.size()),
             kIncomplete);

    // The spec requires the tensors to tile the data buffer: sorted by offset, each one
    // starts where the previous ended, the first at 0 and the last at the buffer's end.
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t at = 0;
    const Entry* previous = nullptr;
    for (const auto& e : entries) {
        if (e.begin > at)
            fail(name,
                 "data bytes " + std::to_string(at) + " to " + std::to_string(e.begin) +
                     " belong to no tensor: a gap " +
                     (previous ? "between " + entry_label(previous->name) + " and "
                               : std::string("before ")) +
                     entry_label(e.name),
                 kDamaged);
        if (e.begin < at)
            fail(name,
                 entry_label(e.name) + " [" + std::to_string(e.begin) + ", " +
                     std::to_string(e.end) + ") overlaps " + entry_label(previous->name) + " [" +
                     std::to_string(previous->begin) + ", " + std::to_string(previous->end) + ")",
                 kDamaged);
        at = e.end;
        previous = &e;
    }
    if (at < data.size())
        fail(name,
             std::to_string(data.size() - at) +
                 " byte(s) after the last tensor belong to no tensor: the "
                 "tensors end at data byte " +
                 std::to_string(at) + ", the file has " + std::to_string(data.size()),
             kDamaged);

    for (const auto& e : entries)
        out.tensors.push_back({e.name, e.shape, convert(name, e, data.data() + e.begin)});
    return out;
}

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
    const std::string name = support::printable(path.string(), support::kMaxShownPathBytes);
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found)
        fail(name, "not found", "check the path");
    if (ec) fail(name, "cannot read: " + ec.message(), "check the path and its permissions");
    if (status.type() != std::filesystem::file_type::regular)
        fail(name, "is not a regular file", "give the path of a .safetensors file");
    // Opened again without blocking and checked with fstat: a FIFO swapped in after the
    // status() above must not hang the reader.
    return decode_safetensors(support::read_input_file(path, kMaxFileBytes), name);
}

}  // namespace plexus::core
