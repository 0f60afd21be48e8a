// The safetensors reader: round trips through the writer, reads hand-built F32/F64/F16/BF16
// bytes to hand-computed values, and turns every kind of damage into one DataError line
// that names the file, never a crash or a huge allocation.
#define BOOST_TEST_MODULE safetensors
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "plexus/core/modelfile/model_card.hpp"
#include "plexus/core/modelfile/safetensors.hpp"
#include "plexus/error.hpp"

namespace fs = std::filesystem;
using plexus::DataError;
using plexus::Shape;
using namespace plexus::core;

namespace {

const std::string kName = "runs/x/model.safetensors";

// 8-byte little-endian header length, the header as given (no padding), then the data.
std::string file_bytes(std::string_view header, std::string_view data) {
    std::string out(8, '\0');
    const std::uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    out += header;
    out += data;
    return out;
}

std::string raw(std::initializer_list<unsigned> bytes) {
    std::string out;
    for (unsigned b : bytes) out += static_cast<char>(b);
    return out;
}

std::string f32s(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

bool same_bits(float a, float b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

// Decoding must throw DataError whose one-line message names the file and says `phrase`.
void expect_error(const std::string& bytes, const std::string& phrase) {
    try {
        decode_safetensors(bytes, kName);
        BOOST_ERROR("accepted a file that should fail with '" << phrase << "'");
    } catch (const DataError& e) {
        const std::string m = e.what();
        BOOST_TEST_MESSAGE(m);
        BOOST_TEST(m.rfind(kName + ": ", 0) == 0u, "does not start with the file name: " << m);
        BOOST_TEST(m.find(phrase) != std::string::npos, "'" << phrase << "' not in: " << m);
        BOOST_TEST(m.find('\n') == std::string::npos, "not one line: " << m);
        BOOST_TEST(m.back() == ')', "no advice at the end: " << m);
    }
}

// One F32 tensor "a" of two floats with the given header fields.
std::string one_tensor(const std::string& fields, std::string_view data = f32s({1, 2})) {
    return file_bytes(R"({"a":{)" + fields + "}}", data);
}

std::vector<HostTensor> sample_tensors() {
    return {{"dense.weight", Shape{2, 3}, {1.5f, -2.f, 0.f, 3.25f, 1e-30f, -7.f}},
            {"empty", Shape{0, 3}, {}},
            {"scalar", Shape{}, {42.f}},
            {"層/ünïcode 🙂.bias",
             Shape{3},
             {std::numeric_limits<float>::infinity(), -0.f, 0.1f}}};
}

struct TempDir {
    fs::path dir;
    TempDir() {
        dir = fs::temp_directory_path() / ("plexus_test_safetensors_" + std::to_string(::getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_keeps_names_shapes_values_and_metadata) {
    const auto tensors = sample_tensors();
    const std::map<std::string, std::string> metadata{
        {"architecture", R"({"layers":["dense units=3"]})"},
        {"classes", "T-shirt,Höse,靴"},
        {"empty", ""}};
    TempDir tmp;
    const fs::path path = tmp.dir / "model.safetensors";
    write_safetensors(path, tensors, metadata);
    for (const auto& file : {decode_safetensors(encode_safetensors(tensors, metadata), "memory"),
                             read_safetensors(path)}) {
        BOOST_TEST((file.metadata == metadata));
        BOOST_TEST_REQUIRE(file.tensors.size() == tensors.size());
        for (std::size_t i = 0; i < tensors.size(); ++i) {  // written in order, so offsets are too
            BOOST_TEST(file.tensors[i].name == tensors[i].name);
            BOOST_TEST(file.tensors[i].shape.str() == tensors[i].shape.str());
            BOOST_TEST_REQUIRE(file.tensors[i].values.size() == tensors[i].values.size());
            for (std::size_t j = 0; j < tensors[i].values.size(); ++j)
                BOOST_TEST(same_bits(file.tensors[i].values[j], tensors[i].values[j]));
        }
    }
    const auto none = decode_safetensors(encode_safetensors({}, {}), kName);
    BOOST_TEST(none.tensors.empty());
    BOOST_TEST(none.metadata.empty());
}

BOOST_AUTO_TEST_CASE(hand_built_f32_and_f16_in_offset_order) {
    // "z" comes first in the data, "h" second: the result follows the data, not the names.
    const std::string header = R"({"h":{"dtype":"F16","shape":[2,4],"data_offsets":[8,24]},)"
                               R"("z":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const std::string data = raw({0x00, 0x00, 0xC0, 0x3F,    // 0x3FC00000 = 1.5
                                  0x00, 0x00, 0x80, 0xBE,    // 0xBE800000 = -0.25
                                  0x00, 0x3C, 0x00, 0xC0,    // 0x3C00 = 1, 0xC000 = -2
                                  0xFF, 0x7B, 0x01, 0x00,    // 0x7BFF = 65504, 0x0001 = 2^-24
                                  0xFF, 0x03, 0x00, 0x04,    // 0x03FF = 1023·2^-24, 0x0400 = 2^-14
                                  0x00, 0x80, 0x00, 0xFC});  // 0x8000 = -0, 0xFC00 = -inf
    const auto file = decode_safetensors(file_bytes(header, data), kName);
    BOOST_TEST_REQUIRE(file.tensors.size() == 2u);
    BOOST_TEST(file.tensors[0].name == "z");
    BOOST_TEST(file.tensors[0].shape.str() == "[2]");
    BOOST_TEST(file.tensors[0].values == (std::vector<float>{1.5f, -0.25f}),
               boost::test_tools::per_element());
    BOOST_TEST(file.tensors[1].name == "h");
    BOOST_TEST(file.tensors[1].shape.str() == "[2, 4]");
    const auto& h = file.tensors[1].values;
    BOOST_TEST_REQUIRE(h.size() == 8u);
    BOOST_TEST(h[0] == 1.0f);
    BOOST_TEST(h[1] == -2.0f);
    BOOST_TEST(h[2] == 65504.0f);
    BOOST_TEST(h[3] == 5.9604644775390625e-08f);  // 2^-24, the smallest F16 subnormal
    BOOST_TEST(h[4] == 1023.0f * 5.9604644775390625e-08f);
    BOOST_TEST(h[5] == 6.103515625e-05f);  // 2^-14, the smallest F16 normal
    BOOST_TEST(same_bits(h[6], -0.0f));
    BOOST_TEST(h[7] == -std::numeric_limits<float>::infinity());
}

BOOST_AUTO_TEST_CASE(hand_built_bf16_f64_and_f16_specials) {
    const std::string header = R"({"b":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]},)"
                               R"("d":{"dtype":"F64","shape":[2],"data_offsets":[8,24]},)"
                               R"("n":{"dtype":"F16","shape":[2],"data_offsets":[24,28]}})";
    std::string data = raw({0x80, 0x3F, 0x40, 0xC0,    // BF16 0x3F80 = 1, 0xC040 = -3
                            0x80, 0x7F, 0x01, 0x00});  // 0x7F80 = inf, 0x0001 = 2^-133
    const double d[2] = {1.5, -1e-3};
    data.append(reinterpret_cast<const char*>(d), sizeof d);
    data += raw({0x00, 0x7E, 0x55, 0x35});  // F16 0x7E00 = NaN, 0x3555 = 0.333251953125
    const auto file = decode_safetensors(file_bytes(header, data), kName);
    BOOST_TEST_REQUIRE(file.tensors.size() == 3u);
    const auto& b = file.tensors[0].values;
    BOOST_TEST(b[0] == 1.0f);
    BOOST_TEST(b[1] == -3.0f);
    BOOST_TEST(b[2] == std::numeric_limits<float>::infinity());
    BOOST_TEST(b[3] == std::ldexp(1.0f, -133));
    BOOST_TEST(file.tensors[1].values == (std::vector<float>{1.5f, static_cast<float>(-1e-3)}),
               boost::test_tools::per_element());
    BOOST_TEST(std::isnan(file.tensors[2].values[0]));
    BOOST_TEST(file.tensors[2].values[1] == 0.333251953125f);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_a_data_error) {
    const std::string good = encode_safetensors(sample_tensors(), {{"k", "v"}});
    BOOST_TEST_REQUIRE(decode_safetensors(good, kName).tensors.size() == 4u);
    for (std::size_t n = 0; n < good.size(); ++n)
        BOOST_CHECK_THROW(decode_safetensors(good.substr(0, n), kName), DataError);
    expect_error(good.substr(0, 5), "too short for a safetensors file: 5 bytes");
    expect_error(good.substr(0, 20), "truncated: the header length says");
    expect_error(good.substr(0, good.size() - 3),
                 "truncated: the header says 40 bytes of data, the file has 37 "
                 "(the file is incomplete");
}

BOOST_AUTO_TEST_CASE(any_single_byte_damage_is_read_or_rejected_cleanly) {
    const std::string good = encode_safetensors({{"w", Shape{2}, {1.f, 2.f}}}, {{"k", "v"}});
    for (std::size_t i = 0; i < good.size(); ++i)
        for (unsigned mask : {0x01u, 0x20u, 0x80u, 0xFFu}) {
            std::string bad = good;
            bad[i] = static_cast<char>(bad[i] ^ mask);
            try {
                decode_safetensors(bad, kName);  // e.g. a flipped bit inside a float value
            } catch (const DataError& e) {
                BOOST_TEST(std::string(e.what()).rfind(kName + ": ", 0) == 0u);
            }
        }
}

BOOST_AUTO_TEST_CASE(the_header_length_is_checked) {
    std::string huge(8, '\0');
    const std::uint64_t n = 1'000'000'000'000'000'000ull;
    std::memcpy(huge.data(), &n, 8);
    expect_error(huge + "{}",
                 "the header length is 1000000000000000000 bytes, above the 100 MB limit");
    expect_error(std::string(8, '\0') + "{}", "the header length is 0");
    std::string longer = file_bytes("{}", "");
    longer[0] = 3;
    expect_error(longer, "truncated: the header length says 3 bytes of JSON, only 2 follow");
}

BOOST_AUTO_TEST_CASE(the_header_must_be_a_json_object_without_duplicates) {
    expect_error(file_bytes("not json", ""), "the header is not valid JSON");
    expect_error(file_bytes("{\"a\":\xff}", ""), "the header is not valid JSON");
    expect_error(file_bytes("{\"\xff\":{}}", ""), "the header is not valid JSON");
    expect_error(file_bytes("[1, 2]", ""), "the header is an array, expected a JSON object");
    expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                            R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                            f32s({1, 2})),
                 "the header lists 'a' twice");
    expect_error(one_tensor(R"("dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8])"),
                 "tensor 'a' lists 'dtype' twice");
    expect_error(one_tensor(R"("dtype":"F32","shape":[[2]],"data_offsets":[0,8])"),
                 "tensor 'a': 'shape' nests arrays or objects too deeply");
    // A name with a control character is escaped, so the message stays on one line.
    expect_error(file_bytes(R"({"x\ny":5})", ""), "tensor 'x\\x0ay' is 5, expected an object");
    // Invalid UTF-8 never reaches the message.
    try {
        decode_safetensors(file_bytes("{\"a\":\"\xff\xfe\"}", ""), kName);
        BOOST_ERROR("accepted invalid UTF-8");
    } catch (const DataError& e) {
        for (char c : std::string(e.what())) BOOST_TEST(static_cast<unsigned char>(c) < 0x80u);
    }
}

BOOST_AUTO_TEST_CASE(entries_need_the_three_fields_with_the_right_types) {
    expect_error(one_tensor(R"("dtype":"F32","shape":[2])"), "tensor 'a' has no 'data_offsets'");
    expect_error(one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1)"),
                 "tensor 'a' has an unknown field 'extra'");
    expect_error(one_tensor(R"("dtype":5,"shape":[2],"data_offsets":[0,8])"),
                 "'dtype' is 5, expected a string");
    expect_error(one_tensor(R"("dtype":"F32","shape":"2","data_offsets":[0,8])"),
                 "'shape' is a string");
    expect_error(one_tensor(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"),
                 "shape [-2] holds -2, expected non-negative integers");
    expect_error(one_tensor(R"("dtype":"F32","shape":[2.0],"data_offsets":[0,8])"), "holds 2.0");
    expect_error(one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[0])"),
                 "'data_offsets' is [0]");
    expect_error(one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[8,0])"),
                 "data_offsets [8, 0] end before they begin");
    expect_error(one_tensor(R"("dtype":"F32","shape":[1,1,1,1,1,1,2],"data_offsets":[0,8])"),
                 "tensor 'a' has 7 dimensions [1,1,1,1,1,1,2], Plexus supports at most 6");
    expect_error(
        one_tensor(
            R"("dtype":"F32","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2],"data_offsets":[0,8])"),
        "tensor 'a': 'shape' has more than 16 entries");
}

BOOST_AUTO_TEST_CASE(unsupported_dtype_names_it_and_the_supported_ones) {
    expect_error(one_tensor(R"("dtype":"I64","shape":[1],"data_offsets":[0,8])"),
                 "tensor 'a' has dtype 'I64', which Plexus cannot read (Plexus reads F32, F64, F16 "
                 "and BF16");
}

BOOST_AUTO_TEST_CASE(shape_must_match_the_byte_size) {
    expect_error(one_tensor(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"),
                 "tensor 'a': shape [3] of F32 needs 12 bytes, data_offsets [0, 8] hold 8");
    expect_error(one_tensor(R"("dtype":"F16","shape":[2],"data_offsets":[0,8])"), "needs 4 bytes");
    // 2^96 elements: too many to address, found without multiplying past 64 bits.
    expect_error(
        one_tensor(
            R"("dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8])"),
        "has too many elements to address");
    // 10^18 elements whose offsets agree with the shape: an error, never a 4 EB allocation.
    expect_error(
        one_tensor(
            R"("dtype":"F32","shape":[1000000000000000000],"data_offsets":[0,4000000000000000000])"),
        "truncated: the header says 4000000000000000000 bytes of data, the file has 8");
    // An empty tensor is fine whatever its other dimensions.
    const auto empty = decode_safetensors(
        file_bytes(R"({"e":{"dtype":"F32","shape":[4294967296,0],"data_offsets":[0,0]}})", ""),
        kName);
    BOOST_TEST(empty.tensors.at(0).values.empty());
}

BOOST_AUTO_TEST_CASE(offsets_beyond_the_buffer) {
    expect_error(one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[0,8])", f32s({1})),
                 "truncated: the header says 8 bytes of data, the file has 4");
    expect_error(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[16,20])", f32s({1, 2})),
                 "truncated: the header says 20 bytes of data, the file has 8");
}

BOOST_AUTO_TEST_CASE(tensors_must_tile_the_data_buffer) {
    expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                            f32s({1, 2, 3, 4, 5})),
                 "data bytes 8 to 12 belong to no tensor: a gap between tensor 'a' and tensor 'b'");
    expect_error(one_tensor(R"("dtype":"F32","shape":[1],"data_offsets":[4,8])"),
                 "data bytes 0 to 4 belong to no tensor: a gap before tensor 'a'");
    expect_error(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                            f32s({1, 2, 3})),
                 "tensor 'b' [4, 12) overlaps tensor 'a' [0, 8)");
    expect_error(one_tensor(R"("dtype":"F32","shape":[2],"data_offsets":[0,8])", f32s({1, 2, 3})),
                 "4 byte(s) after the last tensor belong to no tensor: the tensors end at data "
                 "byte 8, the file has 12");
    expect_error(file_bytes("{}", "x"), "1 byte(s) after the last tensor");
}

BOOST_AUTO_TEST_CASE(metadata_holds_strings_only) {
    expect_error(file_bytes(R"({"__metadata__":{"epochs":10}})", ""),
                 "'__metadata__' value 'epochs' is 10, expected a string");
    expect_error(file_bytes(R"({"__metadata__":["a"]})", ""),
                 "'__metadata__' is an array, expected an object");
    expect_error(file_bytes(R"({"__metadata__":{"k":"a","k":"b"}})", ""),
                 "'__metadata__' lists 'k' twice");
}

BOOST_AUTO_TEST_CASE(f64_beyond_float_range_is_an_error) {
    const double big = 1e300;
    expect_error(file_bytes(R"({"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})",
                            std::string(reinterpret_cast<const char*>(&big), 8)),
                 "tensor 'd' holds the F64 value 1e+300, beyond float32's range");
}

BOOST_AUTO_TEST_CASE(reading_names_the_path) {
    TempDir tmp;
    const fs::path missing = tmp.dir / "missing.safetensors";
    for (const auto& [path, phrase] : {std::pair{missing, std::string("not found")},
                                       std::pair{tmp.dir, std::string("is not a regular file")}}) {
        try {
            read_safetensors(path);
            BOOST_ERROR("read " << path);
        } catch (const DataError& e) {
            BOOST_TEST(std::string(e.what()).rfind(path.string() + ": " + phrase, 0) == 0u,
                       e.what());
        }
    }
    const fs::path cut = tmp.dir / "cut.safetensors";
    const std::string good = encode_safetensors(sample_tensors(), {});
    write_safetensors(cut, sample_tensors(), {});
    fs::resize_file(cut, good.size() - 1);
    BOOST_CHECK_EXCEPTION(read_safetensors(cut), DataError, [&](const DataError& e) {
        return std::string(e.what()).rfind(cut.string() + ": truncated", 0) == 0;
    });
}

// The model card is what a model file says about its model: written by the run, read back by
// evaluate and predict, through the same type.
BOOST_AUTO_TEST_CASE(model_card_round_trips_through_the_metadata) {
    plexus::core::ModelCard card;
    card.experiment = "iris";
    card.layers = {"dense units=8", "relu", "dense units=3"};
    card.loss = "softmax_cross_entropy";
    card.transforms = {"standardize"};
    card.input_shape = plexus::Shape{4};
    card.divide = 255.0f;
    card.classes = 3;
    card.class_names = {"setosa", "versicolor", "virginica"};
    const auto meta = card.to_metadata();
    BOOST_TEST(meta.at("format") == "plexus");
    BOOST_TEST(meta.at("layers") == R"(["dense units=8","relu","dense units=3"])");
    BOOST_TEST(meta.at("input_shape") == "[4]");
    BOOST_TEST(meta.at("divide") == "255");
    BOOST_TEST(meta.at("classes") == "3");
    BOOST_TEST(meta.at("class_names") == R"(["setosa","versicolor","virginica"])");

    const auto back = plexus::core::ModelCard::from_metadata(meta, "m.safetensors");
    BOOST_TEST(back.layers == card.layers, boost::test_tools::per_element());
    BOOST_TEST(back.transforms == card.transforms, boost::test_tools::per_element());
    BOOST_TEST(back.class_names == card.class_names, boost::test_tools::per_element());
    BOOST_TEST(back.loss == card.loss);
    BOOST_TEST(back.input_shape.str() == "[4]");
    BOOST_TEST(back.divide == card.divide);
    BOOST_TEST(back.classes == 3u);
    BOOST_TEST(back.experiment == "iris");

    auto error = [&](const std::string& key, const std::string& value) {
        auto bad = meta;
        if (value.empty()) bad.erase(key);
        else bad[key] = value;
        try {
            plexus::core::ModelCard::from_metadata(bad, "m.safetensors");
        } catch (const plexus::DataError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    BOOST_TEST(error("layers", "").find("m.safetensors: no 'layers' in the metadata") == 0u);
    const std::string bad_dim = "m.safetensors: metadata 'input_shape' holds a bad dimension (a sample "
                                "has at most 1073741824 elements)";
    BOOST_TEST(error("input_shape", "[0]") == bad_dim);
    // Crafted cards: each dimension plausible, their product absurd or wrapping to zero.
    BOOST_TEST(error("input_shape", "[16777216,16777216]") == bad_dim);
    BOOST_TEST(error("input_shape", "[16777216,16777216,16777216,16777216]") == bad_dim);
    BOOST_TEST(error("input_shape", "[1,1,1,1,1,1,1]") ==
               "m.safetensors: metadata 'input_shape' must have 1 to 6 dimensions");
    BOOST_TEST(error("input_shape", "[]") ==
               "m.safetensors: metadata 'input_shape' must have 1 to 6 dimensions");
    const std::string bad_classes = "m.safetensors: metadata 'classes' must be a whole number from 1 to 65536";
    for (const char* classes : {"-1", " 3", "3abc", "0", "65537", "18446744073709551616", "x"})
        BOOST_TEST(error("classes", classes) == bad_classes + ", found '" + classes + "'", classes);
    BOOST_TEST(error("classes", "4") == "m.safetensors: metadata lists 3 class names for 4 classes");
    BOOST_TEST(error("divide", "255abc") == "m.safetensors: metadata 'divide' is not a number");
    BOOST_TEST(error("divide", " 255") == "m.safetensors: metadata 'divide' is not a number");
    BOOST_TEST(error("divide", "-1") == "m.safetensors: metadata 'divide' must be positive");
    BOOST_TEST(error("class_names", "{}") == "m.safetensors: metadata 'class_names' is not a JSON list: the file is damaged");
}
