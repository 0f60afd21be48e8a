// The report's pictures of the first convolution's filters: which kernel is drawn, and each
// filter's colours worked out by hand (per-filter min-max scaling, gray, RGB, channel mean).
#define BOOST_TEST_MODULE report_filters
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "plexus/core/reporting/report.hpp"

using namespace plexus::core;
using plexus::Shape;

namespace {

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// Fill colours of the filter images, in document order; the number of images in `images`.
std::vector<std::string> filter_fills(const std::string& html, std::size_t* images = nullptr) {
    std::vector<std::string> out;
    const std::string key = "fill=\"#", image = "<svg class=\"filter\"";
    if (images) *images = 0;
    for (std::size_t at = html.find(image); at != std::string::npos; at = html.find('<', at + 1)) {
        if (html.compare(at, image.size(), image) == 0 && images) ++*images;
        const std::size_t fill = html.find(key, at);
        if (html.compare(at, 5, "<rect") == 0 && fill != std::string::npos)
            out.push_back(html.substr(fill + 6, 7));
    }
    return out;
}

HostTensor kernel(const std::string& name, Shape shape, std::vector<float> values) {
    return HostTensor{name, shape, std::move(values)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(first_convolution_filters_are_scaled_one_by_one) {
    ReportData d;
    // Gray: a vertical edge [-1 0 1] (0 is the middle of its range: 127.5 rounds to 128), and
    // a constant filter (mid-gray). Scaled per filter, so the second's 10x range changes nothing.
    d.first_conv_kernel = kernel("layer0.kernel", Shape{2, 1, 1, 3}, {-1, 0, 1, 5, 5, 5});
    std::string html = render_report(d);
    BOOST_TEST(contains(html, "Filters of the first convolution"));
    std::size_t images = 0;
    BOOST_TEST(
        filter_fills(html, &images) == (std::vector<std::string>{"#000000", "#808080", "#ffffff",
                                                                 "#808080", "#808080", "#808080"}),
        boost::test_tools::per_element());
    BOOST_TEST(images == 2u);
    // RGB: one 1x2 filter, scaled over its three channels together.
    d.first_conv_kernel = kernel("layer0.kernel", Shape{1, 3, 1, 2}, {2, 0, 1, 1, 0, 0});
    BOOST_TEST(filter_fills(render_report(d)) == (std::vector<std::string>{"#ff8000", "#008000"}),
               boost::test_tools::per_element());
    // Two channels: their mean (0.5, 1.5, 0.0 of range 1.5).
    d.first_conv_kernel = kernel("layer0.kernel", Shape{1, 2, 1, 3}, {0, 2, 0, 1, 1, 0});
    BOOST_TEST(filter_fills(render_report(d)) ==
                   (std::vector<std::string>{"#555555", "#ffffff", "#000000"}),
               boost::test_tools::per_element());
    d.first_conv_kernel = kernel("layer0.kernel", Shape{4, 3}, std::vector<float>(12, 1.0f));
    BOOST_TEST(!contains(render_report(d), "Filters of the first convolution"));
}
