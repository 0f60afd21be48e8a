// Seed inputs of the fuzz test, written byte by byte here (never by the Plexus code under
// test), and the mutations that need to know a file's layout: gzip streams, .npy headers,
// safetensors headers and their model metadata, ELF plugins.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mutate.hpp"

namespace plexus::fuzz {

/// 30 rows "f0,f1,f2,f3,species" with a header; 10 of each class a, b, c, separable.
std::string classes_csv();
/// The same features as a [30, 4] <f4 .npy, and the class ids (0, 1, 2) as a [30] <i8 .npy.
std::string features_npy();
std::string labels_npy();
/// 60 rows "time,value": a rising line with a wave.
std::string series_csv();
/// A tiny IDX pair: 30 images of 4x4 unsigned bytes, and their labels 0 and 1.
std::string idx_images();
std::string idx_labels();

/// A .npy file (format 1.0): magic, version, header length, the padded dict, the data.
std::string npy_file(const std::string& descr, const std::string& shape, const std::string& data);
/// An IDX file of unsigned bytes (type 0x08): big-endian dimensions, then the data.
std::string idx_file(const std::vector<std::uint32_t>& dims, const std::string& data);
/// `bytes` as a gzip stream (RFC 1952: header, deflate data, CRC-32 and length trailer).
std::string gzip(const std::string& bytes);

// A note that starts with '!' says the mutation certainly made the input invalid (a cut gzip
// trailer, a duplicated JSON key, a NaN weight, ...): the command must then fail.

/// Mutates a gzip file given its plain content: either the content (then compressed, so the
/// reader sees a valid stream of bad data) or the compressed bytes (cut or extended trailer,
/// damaged deflate data).
std::string mutate_gzip(const std::string& plain, Rng& rng, Notes& notes);
/// Mutates a .npy file: its header dict as text (the length field kept or fixed up), or its
/// bytes.
void mutate_npy(std::string& file, Rng& rng, Notes& notes);
/// Mutates a safetensors file: its meaning (a NaN or infinite weight, an unknown loss, a class
/// count that differs from the output layer's), one value of its __metadata__ (re-encoded as
/// valid JSON so it reaches the model card), its JSON header as text (a member duplicated,
/// shapes and offsets changed; the length prefix fixed up or not), or its bytes.
void mutate_safetensors(std::string& file, Rng& rng, Notes& notes);
/// Mutates a shared library: its ELF header, the first page (program headers, dynamic
/// symbols and strings of a small library), the last bytes (section headers) or anywhere.
void mutate_elf(std::string& file, Rng& rng, Notes& notes);

}  // namespace plexus::fuzz
