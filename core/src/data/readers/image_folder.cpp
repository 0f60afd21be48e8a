// Image-folder reader: DIR/CLASS/IMAGE, decoded with stb_image (Debian's libstb, which
// carries the implementation). The output size and channel count are settled first, from
// image headers only (stbi_info), so every image is decoded once and converted straight into
// its slot of the dataset.
#include <stb/stb_image.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "plexus/core/data/readers/sources.hpp"
#include "plexus/error.hpp"
#include "plexus/support/text.hpp"
#include "reader_util.hpp"

namespace fs = std::filesystem;

namespace plexus::core {
namespace {

using detail::data_fail;

constexpr std::size_t kMaxBytes = std::size_t{1} << 36;  // 64 GiB of pixels in all
// stb_image takes the encoded length as an int.
constexpr std::size_t kMaxImageFileBytes = INT_MAX;

const std::array<std::string, 9> kExtensions = {".png", ".jpg", ".jpeg", ".bmp", ".gif",
                                                ".tga", ".pgm", ".ppm",  ".pnm"};

std::string stb_reason() {
    const char* r = stbi_failure_reason();
    return r ? r : "unknown error";
}

bool hidden(const fs::path& p) {
    return p.filename().string().rfind('.', 0) == 0;
}

bool is_image(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

// Non-hidden entries of a folder, folders or image files, sorted by name.
std::vector<fs::path> sorted_entries(const fs::path& dir, bool folders) {
    std::vector<fs::path> out;
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    if (ec) data_fail(dir, "cannot list the folder (" + ec.message() + ")");
    for (; it != end; it.increment(ec)) {
        const fs::path& p = it->path();
        std::error_code ec2;
        if (hidden(p)) continue;
        if (folders ? fs::is_directory(p, ec2) : (fs::is_regular_file(p, ec2) && is_image(p)))
            out.push_back(p);
    }
    if (ec) data_fail(dir, "cannot list the folder (" + ec.message() + ")");
    std::sort(out.begin(), out.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    return out;
}

struct Info {
    int width = 0, height = 0, comp = 0;
};

Info image_info(const fs::path& path) {
    const support::InputFile f = support::open_input_file(path, kMaxImageFileBytes);
    Info info;
    if (!stbi_info_from_file(f.stream.get(), &info.width, &info.height, &info.comp))
        data_fail(path, "cannot read the image (stb_image: " + stb_reason() + ")");
    return info;
}

// Bilinear resampling of one plane, pixel centres aligned (as OpenCV's INTER_LINEAR and
// PyTorch's align_corners=False); no antialiasing, so large reductions alias.
void resize_plane(const std::uint8_t* src, std::size_t sh, std::size_t sw, std::uint8_t* dst,
                  std::size_t dh, std::size_t dw) {
    if (sh == dh && sw == dw) {
        std::memcpy(dst, src, dh * dw);
        return;
    }
    struct Tap {
        std::size_t i0, i1;
        float f;
    };
    const auto taps = [](std::size_t from, std::size_t to) {
        std::vector<Tap> t(to);
        const double scale = double(from) / double(to);
        for (std::size_t i = 0; i < to; ++i) {
            const double s = std::clamp((double(i) + 0.5) * scale - 0.5, 0.0, double(from - 1));
            const auto i0 = static_cast<std::size_t>(s);
            t[i] = {i0, std::min(i0 + 1, from - 1), static_cast<float>(s - double(i0))};
        }
        return t;
    };
    const std::vector<Tap> ty = taps(sh, dh), tx = taps(sw, dw);
    for (std::size_t y = 0; y < dh; ++y) {
        const std::uint8_t* r0 = src + ty[y].i0 * sw;
        const std::uint8_t* r1 = src + ty[y].i1 * sw;
        for (std::size_t x = 0; x < dw; ++x) {
            const Tap& t = tx[x];
            const float top = r0[t.i0] + t.f * float(r0[t.i1] - r0[t.i0]);
            const float bottom = r1[t.i0] + t.f * float(r1[t.i1] - r1[t.i0]);
            const float v = top + ty[y].f * (bottom - top);
            dst[y * dw + x] = static_cast<std::uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f));
        }
    }
}

// Decodes one image into `out` (channels x height x width planes).
void load_image(const fs::path& path, std::size_t channels, std::size_t height, std::size_t width,
                std::uint8_t* out) {
    const std::string bytes = detail::read_whole_file(path, kMaxImageFileBytes);
    int w = 0, h = 0, comp = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> px(
        stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                              static_cast<int>(bytes.size()), &w, &h, &comp, 0),
        &stbi_image_free);
    if (!px) data_fail(path, "cannot decode the image (stb_image: " + stb_reason() + ")");
    if (w <= 0 || h <= 0 || comp < 1 || comp > 4)
        data_fail(path, "cannot decode the image (stb_image returned " + std::to_string(w) + "x" +
                            std::to_string(h) + "x" + std::to_string(comp) + ")");
    const auto sw = static_cast<std::size_t>(w), sh = static_cast<std::size_t>(h);
    const auto n = sw * sh;  // stb checked that w * h * comp fits in an int
    const auto c = static_cast<std::size_t>(comp);
    const bool colour = comp >= 3;
    std::vector<std::uint8_t> planes(channels * n);
    for (std::size_t i = 0; i < n; ++i) {
        const stbi_uc* p = px.get() + i * c;
        if (channels == 1) {
            // ITU-R BT.601 luma, in integers so that results do not depend on rounding mode.
            planes[i] = colour ? static_cast<std::uint8_t>(
                                     (299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u)
                               : p[0];
        } else {
            for (std::size_t k = 0; k < 3; ++k) planes[k * n + i] = colour ? p[k] : p[0];
        }
    }
    for (std::size_t k = 0; k < channels; ++k)
        resize_plane(planes.data() + k * n, sh, sw, out + k * height * width, height, width);
}

void read_images(const fs::path& dir, const std::vector<fs::path>& files,
                 const ImageFolderOptions& options, Dataset& ds);

}  // namespace

Dataset load_image_folder(const fs::path& dir, const ImageFolderOptions& options,
                          ClassOrigins* origins) {
    if (options.channels != 0 && options.channels != 1 && options.channels != 3)
        throw ConfigError(dir.string() + ": channels must be 1 or 3, found " +
                          std::to_string(options.channels));
    std::error_code ec;
    const auto st = fs::status(dir, ec);
    if (!fs::exists(st)) data_fail(dir, "cannot open (no such folder)");
    if (!fs::is_directory(st))
        data_fail(dir, "expected a folder with one subfolder of images per class, found a file");
    const std::vector<fs::path> classes = sorted_entries(dir, true);
    if (classes.empty())
        data_fail(dir, "no class subfolders (expected one folder of images per class, e.g. " +
                           (dir / "cat" / "001.png").string() + ")");
    if (classes.size() > kMaxClassId + 1)
        data_fail(dir, "too many class subfolders (" + std::to_string(classes.size()) + ")");

    Dataset ds;
    ds.source = dir.string();
    std::vector<fs::path> files;
    ClassOrigins where;
    for (const fs::path& cls : classes) {
        const std::vector<fs::path> images = sorted_entries(cls, false);
        if (images.empty())
            data_fail(cls, "no images in this class folder (expected files ending in " +
                               support::join({kExtensions.begin(), kExtensions.end()}, " ") + ")");
        ds.labels.insert(ds.labels.end(), images.size(),
                         static_cast<std::uint32_t>(ds.class_names.size()));
        files.insert(files.end(), images.begin(), images.end());
        ds.class_names.push_back(cls.filename().string());
        where.push_back(cls.string());
    }
    ds.classes = ds.class_names.size();
    read_images(dir, files, options, ds);
    if (origins) *origins = std::move(where);
    return ds;
}

Dataset load_unlabeled_images(const fs::path& dir, const ImageFolderOptions& options) {
    if (options.channels != 0 && options.channels != 1 && options.channels != 3)
        throw ConfigError(dir.string() + ": channels must be 1 or 3, found " +
                          std::to_string(options.channels));
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) data_fail(dir, "cannot open (no such folder)");
    const std::vector<fs::path> files = sorted_entries(dir, false);
    if (files.empty())
        data_fail(dir, "no images and no class subfolders (expected files ending in " +
                           support::join({kExtensions.begin(), kExtensions.end()}, " ") + ")");
    Dataset ds;
    ds.source = dir.string();
    ds.unlabeled = true;
    read_images(dir, files, options, ds);
    return ds;
}

namespace {

// Decodes `files` into ds.u8 at the options' size (else the first image's) and channels.
void read_images(const fs::path& dir, const std::vector<fs::path>& files,
                 const ImageFolderOptions& options, Dataset& ds) {
    ds.count = files.size();
    std::size_t height = options.height, width = options.width;
    if (height == 0 || width == 0) {
        const Info first = image_info(files[0]);
        height = static_cast<std::size_t>(first.height);
        width = static_cast<std::size_t>(first.width);
        if (height > kMaxImageSide || width > kMaxImageSide)
            data_fail(files[0], "image too large to set the size (" + std::to_string(height) + "x" +
                                    std::to_string(width) + "; at most " +
                                    std::to_string(kMaxImageSide) +
                                    " per side); give size=HxW to resize every image");
    }
    std::size_t channels = options.channels;
    if (channels == 0) {
        channels = 1;
        for (const fs::path& f : files)
            if (image_info(f).comp >= 3) {
                channels = 3;
                break;
            }
    }
    ds.sample_shape = {channels, height, width};
    std::size_t plane = 0, per_image = 0, total = 0;
    if (!detail::checked_mul(height, width, plane) ||
        !detail::checked_mul(plane, channels, per_image) ||
        !detail::checked_mul(per_image, ds.count, total) || total > kMaxBytes)
        data_fail(dir, std::to_string(ds.count) + " images of " + ds.sample_shape.str() +
                           " need more than " + std::to_string(kMaxBytes >> 30) +
                           " GiB; give a smaller size=HxW");
    try {
        ds.u8.resize(total);
    } catch (const std::exception&) {  // bad_alloc, or length_error beyond max_size()
        data_fail(dir, "out of memory (" + std::to_string(ds.count) + " images of " +
                           ds.sample_shape.str() + ")");
    }
    for (std::size_t i = 0; i < ds.count; ++i)
        load_image(files[i], channels, height, width, ds.u8.data() + i * per_image);
}

}  // namespace

}  // namespace plexus::core
