// Headless Chromium for the tests of Plexus's HTML pages (report.html, study.html): it renders
// a page (a screenshot, decoded here, or the DOM after parsing) and collects what the page
// logged to its console, so a test can insist that a page loads cleanly in a real browser.
#pragma once

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace plexus::test {

/// The chromium (or chromium-browser) executable on PATH; "" when there is none.
inline std::string find_chromium() {
    const char* path = std::getenv("PATH");
    for (const char* name : {"chromium", "chromium-browser"}) {
        std::stringstream dirs(path ? path : "/usr/bin");
        for (std::string dir; std::getline(dirs, dir, ':');) {
            const std::filesystem::path p = std::filesystem::path(dir.empty() ? "." : dir) / name;
            if (std::filesystem::is_regular_file(p) && ::access(p.c_str(), X_OK) == 0)
                return p.string();
        }
    }
    return "";
}

struct Browser {
    int exit_code = -1;
    std::string log;                   // chromium's stderr and stdout
    std::vector<std::string> console;  // lines the page logged to its console
};

/// Runs headless Chromium on `page` with `mode` (--screenshot=... or --dump-dom) in a private
/// profile and HOME under `dir`; console messages of the page come out on stderr as
/// "...:CONSOLE..." lines. Fails the test when chromium is not installed.
inline Browser run_chromium(const std::filesystem::path& dir, const std::filesystem::path& page,
                            const std::string& mode) {
    const std::string chromium = find_chromium();
    if (chromium.empty())
        BOOST_FAIL(
            "chromium is not installed (not found in PATH as chromium or "
            "chromium-browser): install it with `apt-get install chromium` to run the "
            "browser tests of the HTML pages");
    static int runs = 0;
    const std::filesystem::path log = dir / ("chromium-" + std::to_string(runs) + ".log");
    const std::filesystem::path profile = dir / ("profile-" + std::to_string(runs++));
    std::filesystem::create_directories(dir / "home");
    const std::string cmd =
        "HOME='" + (dir / "home").string() + "' timeout -k 5 60 '" + chromium +
        "' --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
        "--no-default-browser-check --disable-extensions --disable-background-networking "
        "--user-data-dir='" +
        profile.string() + "' --window-size=1280,2400 " + mode +
        " --enable-logging=stderr --v=0 'file://" + page.string() + "' > '" + log.string() +
        "' 2>&1 < /dev/null";
    const int status = std::system(cmd.c_str());
    Browser b;
    b.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(log, std::ios::binary);
    b.log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    std::stringstream lines(b.log);
    for (std::string line; std::getline(lines, line);)
        if (line.find(":CONSOLE") != std::string::npos ||
            line.find("Uncaught") != std::string::npos)
            b.console.push_back(line);
    return b;
}

/// A decoded screenshot: 8-bit RGB, row-major.
/// A page served as XHTML goes through Chromium's XML parser, which reports any unbalanced
/// tag or stray '&' as a <parsererror> in the dumped DOM. `good` is `html` served that way,
/// `bad` a broken page, the negative control that proves the check can fail.
struct XhtmlCheck {
    Browser good, bad;
};
inline XhtmlCheck parse_as_xhtml(const std::filesystem::path& dir, std::string html) {
    const std::string tag = "<html lang=\"en\">";
    BOOST_REQUIRE(html.find(tag) != std::string::npos);
    html.replace(html.find(tag), tag.size(),
                 "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">");
    std::ofstream(dir / "good.xhtml") << html;
    std::ofstream(dir / "bad.xhtml") << "<html xmlns=\"http://www.w3.org/1999/xhtml\">"
                                        "<body><p>a & b<br></p></body></html>";
    return {run_chromium(dir, dir / "good.xhtml", "--dump-dom"),
            run_chromium(dir, dir / "bad.xhtml", "--dump-dom")};
}

struct Image {
    int width = 0, height = 0;
    std::vector<unsigned char> rgb;
};

/// Decodes a PNG (a screenshot). libplexus_core.so links Debian's libstb.so (it decodes image
/// folders), so its PNG decoder is already in a test's process; borrow it instead of linking
/// stb into the test. Fails the test when the bytes are not a PNG.
inline Image decode_png(const std::string& bytes) {
    using Load = unsigned char* (*)(const unsigned char*, int, int*, int*, int*, int);
    using Free = void (*)(void*);
    void* handle = RTLD_DEFAULT;  // a null pointer: the process's global scope
    if (!dlsym(handle, "stbi_load_from_memory")) handle = dlopen("libstb.so.0", RTLD_NOW);
    const auto load = reinterpret_cast<Load>(dlsym(handle, "stbi_load_from_memory"));
    const auto release = reinterpret_cast<Free>(dlsym(handle, "stbi_image_free"));
    BOOST_REQUIRE_MESSAGE(load && release, "stb_image is not available to decode the screenshot");
    Image img;
    int channels = 0;
    unsigned char* px = load(reinterpret_cast<const unsigned char*>(bytes.data()),
                             static_cast<int>(bytes.size()), &img.width, &img.height, &channels, 3);
    BOOST_REQUIRE_MESSAGE(px, "the screenshot is not a decodable PNG");
    img.rgb.assign(px, px + static_cast<std::size_t>(img.width) * img.height * 3);
    release(px);
    return img;
}

}  // namespace plexus::test
