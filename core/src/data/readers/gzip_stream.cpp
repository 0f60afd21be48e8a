#include "gzip_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "plexus/support/text.hpp"
#include "reader_util.hpp"

namespace plexus::core::detail {
namespace {

// Input and output steps; gzFile's default 8 KiB doubled the time to inflate MNIST.
constexpr std::size_t kBuffer = std::size_t{1} << 18;
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
}

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
