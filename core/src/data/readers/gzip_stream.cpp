#include "gzip_stream.hpp"

#if PLEXUS_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <system_error>

#include "plexus/support/text.hpp"
#include "reader_util.hpp"

namespace plexus::core::detail {
namespace {

// Input and output steps; gzFile's default 8 KiB doubled the time to inflate MNIST.
constexpr std::size_t kBuffer = std::size_t{1} << 18;
// The largest file libdeflate inflates whole (read into memory first).
[[maybe_unused]] constexpr std::uint64_t kWholeFileMax = std::uint64_t{256} << 20;
constexpr const char* kFix = "; re-download the file or check it with `gzip -t`";

}  // namespace

GzipStream::GzipStream(const std::filesystem::path& path, std::uint64_t max_file_bytes)
    : path_(path), file_(support::open_input_file(path, max_file_bytes)) {
    in_.reserve(kBuffer);
    refill();
    gzip_ = in_.size() >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
    if (!gzip_) return;
    // 15 + 16: a gzip wrapper only (no zlib or raw deflate), whose trailer inflate() checks.
    if (inflateInit2(&z_, 15 + 16) != Z_OK) data_fail(path_, "out of memory (zlib)");
    inflating_ = true;
    z_.next_in = in_.data();
    z_.avail_in = static_cast<uInt>(in_.size());
    inflate_whole();
}

#if PLEXUS_HAVE_LIBDEFLATE
// The whole file is read (it is at most kWholeFileMax) and inflated by libdeflate into a
// buffer of its ISIZE. On success the bytes are served from that buffer; otherwise the file's
// bytes go to in_ for zlib, as if refill() had read them all.
//
// Both buffers are fresh memory that the user waits for (Fashion-MNIST's training images: 26
// MB read, 47 MB inflated): each asks for 2 MiB pages before its first touch, and the file's
// bytes go into memory that is not zeroed first (a vector's resize would write every byte
// once before fread writes it again).
bool GzipStream::inflate_whole() {
    const std::uint64_t size = file_.size;
    if (size > kWholeFileMax || size < 18) return false;  // 18: the smallest gzip member
    std::size_t have = in_.size();
    const std::size_t want = static_cast<std::size_t>(size);
    if (have > want) return false;  // a file that grew since it was opened: zlib reads it
    std::unique_ptr<std::uint8_t[]> file(new (std::nothrow) std::uint8_t[want]);
    if (!file) return false;
    advise_huge_pages(file.get(), want);
    std::memcpy(file.get(), in_.data(), have);
    while (have < want && !eof_) {
        const std::size_t got = std::fread(file.get() + have, 1, want - have, file_.stream.get());
        if (std::ferror(file_.stream.get()))
            data_fail(path_, "read error (" + std::generic_category().message(errno) + ")");
        have += got;
        if (got == 0) eof_ = true;
    }
    // What zlib reads when libdeflate declines: the file's bytes (a file that shrank while
    // being read: those it had).
    const auto to_zlib = [&] {
        in_.assign(file.get(), file.get() + have);
        z_.next_in = in_.data();
        z_.avail_in = static_cast<uInt>(in_.size());
        return false;
    };
    if (have < 18) return to_zlib();
    // ISIZE, the last member's length mod 2^32: a guess that holds for one member under 4 GiB.
    // Deflate expands at most 1032:1, so a larger claim is a damaged file (zlib says how).
    const std::uint8_t* t = file.get() + have - 4;
    const std::size_t isize = std::size_t{t[0]} | std::size_t{t[1]} << 8 | std::size_t{t[2]} << 16 |
                              std::size_t{t[3]} << 24;
    if (isize > 1032 * have) return to_zlib();
    std::vector<std::uint8_t> out;
    try {
        out.reserve(isize + 1);
        advise_huge_pages(out.data(), isize + 1);  // before resize touches the pages
        out.resize(isize + 1);
    } catch (const std::bad_alloc&) {
        return to_zlib();
    }
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    if (!d) return to_zlib();
    std::size_t used_in = 0, produced = 0;
    // One byte more than ISIZE: a member that inflates to more is not what its trailer says.
    const libdeflate_result r = libdeflate_gzip_decompress_ex(d, file.get(), have, out.data(),
                                                              isize + 1, &used_in, &produced);
    libdeflate_free_decompressor(d);
    if (r != LIBDEFLATE_SUCCESS || used_in != have || produced != isize) return to_zlib();
    whole_ = std::move(out);
    whole_size_ = produced;
    inflated_whole_ = true;
    std::vector<std::uint8_t>().swap(in_);  // nothing is left for zlib
    z_.next_in = nullptr;
    z_.avail_in = 0;
    return true;
}
#else
bool GzipStream::inflate_whole() {
    return false;
}
#endif

GzipStream::~GzipStream() {
    if (inflating_) inflateEnd(&z_);
}

// Keeps the input inflate() has not taken yet (gzip: z_.avail_in bytes; raw files refill only
// when empty) at the front of in_ and appends what the file has next; false at its end.
bool GzipStream::refill() {
    std::size_t keep = gzip_ ? z_.avail_in : 0;
    if (keep > 0 && z_.next_in != in_.data()) std::memmove(in_.data(), z_.next_in, keep);
    in_.resize(kBuffer);
    std::size_t got = 0;
    if (!eof_) {
        got = std::fread(in_.data() + keep, 1, kBuffer - keep, file_.stream.get());
        if (std::ferror(file_.stream.get()))
            data_fail(path_, "read error (" + std::generic_category().message(errno) + ")");
        eof_ = got < kBuffer - keep;
    }
    in_.resize(keep + got);
    if (gzip_) {
        z_.next_in = in_.data();
        z_.avail_in = static_cast<uInt>(in_.size());
    }
    return got > 0;
}

void GzipStream::truncated() const {
    data_fail(path_, "truncated gzip stream (unexpected end of file after " +
                         std::to_string(total_) +
                         (expected_total ? " of " + std::to_string(expected_total) : "") +
                         " decompressed bytes)" + kFix);
}

// After a member's trailer: the end of the file, or another member (gzip allows several).
void GzipStream::next_member_or_end() {
    if (z_.avail_in < 2 && !eof_) refill();
    if (z_.avail_in == 0) {
        ended_ = true;
        return;
    }
    if (z_.avail_in >= 2 && z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b) {
        inflateReset(&z_);
        return;
    }
    std::uint64_t extra = z_.avail_in;
    while (!eof_ && (z_.avail_in = 0, refill())) extra += z_.avail_in;
    data_fail(path_, "trailing bytes after the gzip stream (" + std::to_string(extra) +
                         " bytes that are not gzip data)" + kFix);
}

std::size_t GzipStream::inflate_into(std::uint8_t* out, std::size_t n) {
    z_.next_out = out;
    z_.avail_out = static_cast<uInt>(n);
    while (z_.avail_out > 0 && !ended_) {
        if (z_.avail_in == 0 && !eof_) refill();
        const int r = inflate(&z_, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            next_member_or_end();
        } else if (r == Z_DATA_ERROR || r == Z_NEED_DICT) {
            data_fail(path_, std::string("corrupt gzip data (zlib: ") +
                                 (z_.msg ? z_.msg : "invalid data") + ")" + kFix);
        } else if (r == Z_MEM_ERROR) {
            data_fail(path_, "out of memory while decompressing");
        } else if (r == Z_BUF_ERROR && z_.avail_in == 0 && eof_) {
            total_ += n - z_.avail_out;  // for the message: what did arrive
            truncated();                 // no progress, no input left, no trailer seen
        }
    }
    return n - z_.avail_out;
}

std::size_t GzipStream::read(std::uint8_t* out, std::size_t n) {
    if (inflated_whole_) {
        const std::size_t r = std::min(n, whole_size_ - whole_at_);
        if (r > 0) std::memcpy(out, whole_.data() + whole_at_, r);
        whole_at_ += r;
        total_ += r;
        return r;
    }
    std::size_t got = 0;
    while (got < n) {
        const std::size_t step = std::min<std::size_t>(n - got, kBuffer);
        std::size_t r = 0;
        if (gzip_) {
            r = inflate_into(out + got, step);
        } else {
            if (in_.empty()) refill();
            r = std::min(step, in_.size());
            std::memcpy(out + got, in_.data(), r);
            in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(r));
        }
        got += r;
        total_ += r;
        if (r == 0) break;
    }
    return got;
}

std::span<const std::uint8_t> GzipStream::take(std::size_t n) {
    if (!inflated_whole_) return {};
    const std::size_t r = std::min(n, whole_size_ - whole_at_);
    const std::span<const std::uint8_t> out(whole_.data() + whole_at_, r);
    whole_at_ += r;
    total_ += r;
    return out;
}

std::vector<std::uint8_t> GzipStream::take_rest(std::size_t n) {
    if (!inflated_whole_ || whole_size_ - whole_at_ != n) return {};
    // The header's few bytes go: one pass over memory already faulted in, where a copy would
    // fault in (and the kernel zero) a second buffer of the same size.
    std::vector<std::uint8_t> out = std::move(whole_);
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(whole_at_));
    out.resize(n);  // the spare byte
    whole_.clear();
    whole_size_ = whole_at_ = 0;  // all handed out: read() gives nothing more
    total_ += n;
    return out;
}

std::size_t GzipStream::skip_rest(std::size_t limit) {
    std::vector<std::uint8_t> sink(std::size_t{1} << 16);
    std::size_t total = 0;
    while (total < limit) {
        const std::size_t r = read(sink.data(), sink.size());
        total += r;
        if (r < sink.size()) break;
    }
    return total;
}

}  // namespace plexus::core::detail
