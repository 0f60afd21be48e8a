// The fuzz test's seed files and its format-aware mutations. The writers follow the formats'
// own specifications (numpy.lib.format, Yann LeCun's IDX page, RFC 1952, the safetensors
// README) and share no code with Plexus's readers.
#include "formats.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace plexus::fuzz {
namespace {

// The separable features of row i (class i % 3) of the classification set.
float feature(int i, int j) {
    const int k = i % 3;
    return static_cast<float>(2 * k + ((i * 7 + j * 3) % 5) * 0.1 + j * 0.25);
}

std::string le_bytes(std::uint64_t v, std::size_t width) {
    std::string s(width, '\0');
    for (std::size_t i = 0; i < width; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
}

std::uint64_t read_le64(const std::string& s) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t(static_cast<unsigned char>(s[i])) << (8 * i);
    return v;
}

// Mutates the bytes [start, start + size) of `data` on their own.
void mutate_region(std::string& data, std::size_t start, std::size_t size, Rng& rng, Notes& notes) {
    start = std::min(start, data.size());
    size = std::min(size, data.size() - start);
    std::string part = data.substr(start, size);
    mutate_bytes(part, rng, notes, part.size());
    data.replace(start, size, part);
}

// JSON object members start at a '"' right after '{' or ','; one is copied next to itself,
// which a strict parser must refuse as a duplicate key.
void duplicate_member(std::string& json, Rng& rng, Notes& notes) {
    std::vector<std::size_t> starts;
    for (std::size_t i = 1; i < json.size(); ++i)
        if (json[i] == '"' && (json[i - 1] == '{' || json[i - 1] == ',')) starts.push_back(i);
    if (starts.empty()) return;
    const std::size_t k = rng.below(starts.size());
    const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : json.rfind('}');
    if (end == std::string::npos || end <= starts[k]) return;
    std::string member = json.substr(starts[k], end - starts[k]);
    if (member.back() != ',') member += ',';
    json.insert(starts[k], member);
    notes.push_back("!the JSON member at " + std::to_string(starts[k]) + " is duplicated");
}

// Well-formed files that mean nonsense: a NaN or infinite weight, an unknown loss, a class
// count that differs from the output layer's width (class names kept in step).
void damage_meaning(nlohmann::ordered_json& doc, std::string& data, Rng& rng, Notes& notes) {
    auto& meta = doc["__metadata__"];
    const std::string classes = meta.value("classes", "0");
    switch (rng.below(classes == "0" ? 2 : 3)) {
        case 0: {
            if (data.size() < 4) return;
            const std::size_t at = 4 * rng.below(data.size() / 4);
            data.replace(at, 4, rng.chance(50) ? std::string("\0\0\xc0\x7f", 4) : std::string("\0\0\x80\x7f", 4));
            notes.push_back("!the weight at byte " + std::to_string(at) + " of the data is NaN or infinite");
            return;
        }
        case 1:
            meta["loss"] = "no_such_loss";
            notes.push_back("!the loss is 'no_such_loss'");
            return;
        default: {
            const std::size_t n = std::stoul(classes) + (rng.chance(50) || classes == "2" ? 1 : std::size_t(-1));
            meta["classes"] = std::to_string(n);
            auto names = nlohmann::json::parse(meta.value("class_names", "[]"), nullptr, false);
            if (names.is_array() && !names.empty()) {
                names.get_ref<nlohmann::json::array_t&>().resize(n, "extra");
                meta["class_names"] = names.dump();
            }
            notes.push_back("!'classes' is " + std::to_string(n) + ", not the output layer's width");
        }
    }
}

}  // namespace

std::string classes_csv() {
    std::string csv = "f0,f1,f2,f3,species\n";
    char cell[32];
    for (int i = 0; i < 30; ++i) {
        for (int j = 0; j < 4; ++j) {
            std::snprintf(cell, sizeof cell, "%.2f,", static_cast<double>(feature(i, j)));
            csv += cell;
        }
        csv += std::string(1, static_cast<char>('a' + i % 3)) + "\n";
    }
    return csv;
}

std::string features_npy() {
    std::string data;
    for (int i = 0; i < 30; ++i)
        for (int j = 0; j < 4; ++j) {
            const float f = feature(i, j);
            char b[4];
            std::memcpy(b, &f, 4);  // the host is little-endian, as '<f4' says
            data.append(b, 4);
        }
    return npy_file("<f4", "(30, 4)", data);
}

std::string labels_npy() {
    std::string data;
    for (int i = 0; i < 30; ++i) data += le_bytes(static_cast<std::uint64_t>(i % 3), 8);
    return npy_file("<i8", "(30,)", data);
}

std::string series_csv() {
    std::string csv = "time,value\n";
    char row[64];
    for (int i = 1; i <= 60; ++i) {
        std::snprintf(row, sizeof row, "%d,%.4f\n", 1000 + i, 0.5 * i + 2.0 * std::sin(i / 2.0));
        csv += row;
    }
    return csv;
}

std::string idx_images() {
    std::string data;
    for (int i = 0; i < 30; ++i)
        for (int p = 0; p < 16; ++p)
            data += static_cast<char>((i % 2 ? 180 : 40) + (i * 13 + p * 7) % 40);
    return idx_file({30, 4, 4}, data);
}

std::string idx_labels() {
    std::string data;
    for (int i = 0; i < 30; ++i) data += static_cast<char>(i % 2);
    return idx_file({30}, data);
}

std::string npy_file(const std::string& descr, const std::string& shape, const std::string& data) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    return std::string("\x93NUMPY\x01\x00", 8) + le_bytes(dict.size(), 2) + dict + data;
}

std::string idx_file(const std::vector<std::uint32_t>& dims, const std::string& data) {
    std::string out{'\0', '\0', '\x08', static_cast<char>(dims.size())};
    for (const std::uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(d >> shift);
    return out + data;
}

std::string gzip(const std::string& bytes) {
    z_stream z{};
    // windowBits 15 + 16: a gzip wrapper instead of zlib's.
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    std::string out(deflateBound(&z, bytes.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int r = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (r != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
    return out;
}

std::string mutate_gzip(const std::string& plain, Rng& rng, Notes& notes) {
    if (rng.chance(40)) {
        std::string content = plain;
        mutate_bytes(content, rng, notes, 16);
        notes.push_back("(then gzipped)");
        return gzip(content);
    }
    std::string z = gzip(plain);
    if (rng.chance(30)) {
        const std::size_t cut = 1 + rng.below(8);  // into the CRC-32 and length trailer
        z.resize(z.size() - cut);
        notes.push_back("!the gzip trailer (CRC-32, length) is cut by " + std::to_string(cut) + " bytes");
    } else if (rng.chance(30)) {
        const std::string tail = rng.chance(50) ? std::string(1 + rng.below(32), '\0') : z.substr(0, 10);
        z += tail;
        notes.push_back("!" + std::to_string(tail.size()) + " bytes follow the gzip stream");
    } else {
        mutate_bytes(z, rng, notes, 18);
    }
    return z;
}

void mutate_npy(std::string& file, Rng& rng, Notes& notes) {
    if (file.size() < 10 || !rng.chance(60)) return mutate_bytes(file, rng, notes, 128);
    const std::size_t len = static_cast<unsigned char>(file[8]) | static_cast<unsigned char>(file[9]) << 8;
    std::string dict = file.substr(10, std::min(len, file.size() - 10));
    const std::string data = file.substr(10 + dict.size());
    mutate_text(dict, rng, notes, 2);
    const bool fix = rng.chance(80);
    const std::string length = fix ? le_bytes(dict.size(), 2) : file.substr(8, 2);
    if (!fix) notes.push_back("(header length not fixed up)");
    file = file.substr(0, 8) + length + dict + data;
}

void mutate_safetensors(std::string& file, Rng& rng, Notes& notes) {
    const std::uint64_t len = file.size() >= 8 ? read_le64(file) : 0;
    if (len == 0 || len > file.size() - 8 || rng.chance(25))
        return mutate_bytes(file, rng, notes, 8 + static_cast<std::size_t>(std::min<std::uint64_t>(len, 4096)));
    std::string header = file.substr(8, len);
    std::string data = file.substr(8 + len);
    bool fix = true;
    auto doc = nlohmann::ordered_json::parse(header, nullptr, false);
    const bool has_metadata = doc.is_object() && doc.contains("__metadata__") &&
                              doc["__metadata__"].is_object() && !doc["__metadata__"].empty();
    if (has_metadata && rng.chance(20)) {
        damage_meaning(doc, data, rng, notes);
        header = doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    } else if (has_metadata && rng.chance(50)) {
        auto& meta = doc["__metadata__"];
        auto it = meta.begin();
        std::advance(it, static_cast<long>(rng.below(meta.size())));
        const std::string key = it.key();
        if (rng.chance(10)) {
            meta.erase(key);
            notes.push_back("remove metadata '" + key + "'");
        } else {
            std::string value = it->is_string() ? it->get<std::string>() : it->dump();
            notes.push_back("metadata '" + key + "':");
            mutate_text(value, rng, notes, 2);
            *it = value;
        }
        header = doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    } else {
        if (rng.chance(25))
            duplicate_member(header, rng, notes);
        else
            mutate_text(header, rng, notes, 2);
        fix = rng.chance(85);
    }
    if (!fix) {
        notes.push_back("(header length not fixed up)");
        file = file.substr(0, 8) + header + data;
    } else {
        file = le_bytes(header.size(), 8) + header + data;
    }
}

void mutate_elf(std::string& file, Rng& rng, Notes& notes) {
    const std::size_t tail = std::min<std::size_t>(file.size(), 2048);
    switch (rng.below(5)) {
        case 0:
        case 1: notes.push_back("ELF header:"); return mutate_region(file, 0, 64, rng, notes);
        case 2: notes.push_back("first page:"); return mutate_region(file, 0, 4096, rng, notes);
        case 3:
            notes.push_back("last 2 KiB:");
            return mutate_region(file, file.size() - tail, tail, rng, notes);
        default: return mutate_bytes(file, rng, notes, file.size());
    }
}

}  // namespace plexus::fuzz
