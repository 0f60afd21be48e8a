// plexus evaluate and predict on a saved convolutional model trained on IDX images ([28, 28]
// samples): on IDX data, and on an image folder (dir:) that is brought to the model's input
// shape without size=/channels=, or refused in one line when those options disagree with it.
#define BOOST_TEST_MODULE predict_images
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cli.hpp"
#include "plexus/core/data/readers/idx.hpp"
#include "png.hpp"

namespace fs = std::filesystem;
using plexus::test::Bytes;
using plexus::test::png;
using plexus::test::read_text;
using plexus::test::run_plexus;
using plexus::test::TempDir;

namespace {

constexpr std::size_t kTest = 300;   // test samples written as a small IDX set
constexpr std::size_t kImages = 30;  // the first of them also written as PNG files

void write_bytes(const fs::path& path, const Bytes& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

Bytes idx_file(const std::vector<std::uint32_t>& dims, const std::uint8_t* data, std::size_t n) {
    Bytes out = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
    for (std::uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8)
            out.push_back(static_cast<std::uint8_t>(d >> shift));
    out.insert(out.end(), data, data + n);
    return out;
}

// One CSV line split at commas (the predictions hold no quoted cells for plain class ids).
std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out(1);
    for (char c : line) {
        if (c == ',')
            out.emplace_back();
        else
            out.back().push_back(c);
    }
    return out;
}

std::vector<std::vector<std::string>> csv_rows(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line)) rows.push_back(cells(line));
    return rows;
}

// A tiny CNN trained for one epoch on 600 Fashion-MNIST images; its test set is the first
// kTest t10k images, written as an IDX set, and the first kImages of them as PNG folders:
// 28x28 gray (the model's own pixels) and 40x40 RGB (to be resized), one folder per class id.
struct TrainedCnn {
    TempDir tmp{"predict-images"};
    fs::path run, test_prefix;
    double test_accuracy = 0.0;
    std::vector<std::uint32_t> labels;

    TrainedCnn() {
        const auto t10k = plexus::core::load_idx_dataset("/usr/share/datasets/fashion-mnist/t10k");
        test_prefix = tmp.path / "fashion-sub";  // "fashion": the readers name the classes
        write_bytes(test_prefix.string() + "-images-idx3-ubyte",
                    idx_file({kTest, 28, 28}, t10k.u8.data(), kTest * 784));
        labels.assign(t10k.labels.begin(), t10k.labels.begin() + kTest);
        Bytes label_bytes(labels.begin(), labels.end());
        write_bytes(test_prefix.string() + "-labels-idx1-ubyte",
                    idx_file({kTest}, label_bytes.data(), kTest));
        for (std::size_t i = 0; i < kImages; ++i) {
            const std::uint8_t* px = t10k.u8.data() + i * 784;
            char name[16];
            std::snprintf(name, sizeof name, "%03zu.png", i);
            const std::string cls = std::to_string(labels[i]);
            write_bytes(tmp.path / "gray28" / cls / name, png(28, 28, 1, Bytes(px, px + 784)));
            Bytes rgb;
            for (std::size_t y = 0; y < 40; ++y)
                for (std::size_t x = 0; x < 40; ++x)
                    rgb.insert(rgb.end(), 3, px[(y * 28 / 40) * 28 + x * 28 / 40]);
            write_bytes(tmp.path / "rgb40" / cls / name, png(40, 40, 3, rgb));
        }
        std::ofstream(tmp.path / "cnn.ini")
            << "[data]\ntrain = idx:/usr/share/datasets/fashion-mnist/train\n"
               "test = idx:"
            << test_prefix.string()
            << "\ntrain_limit = 600\nseed = 1\n"
               "[model]\nlayer = conv2d filters=4 kernel=3 padding=same\nlayer = relu\n"
               "layer = max_pool2d size=2\nlayer = flatten\nlayer = dense units=10\n"
               "[train]\noptimizer = adam lr=0.003\nbatch_size = 32\nepochs = 1\nverbose = 0\n";
        const auto r = run_plexus("train '" + (tmp.path / "cnn.ini").string() + "' --out '" +
                                  (tmp.path / "runs").string() + "'");
        BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        for (const auto& e : fs::directory_iterator(tmp.path / "runs")) run = e.path();
        const auto metrics = nlohmann::json::parse(read_text(run / "metrics.json"));
        test_accuracy = metrics["test"]["accuracy"].get<double>();
    }

    plexus::test::CommandResult predict(const std::string& data, const fs::path& out) const {
        return run_plexus("predict '" + run.string() + "' --data '" + data + "' --out '" +
                          out.string() + "'");
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(evaluate_a_cnn_on_idx_data_as_training_did) {
    TrainedCnn t;
    BOOST_TEST(t.test_accuracy > 0.3);  // one epoch on 600 images is far above chance (0.1)
    const auto r = run_plexus("evaluate '" + t.run.string() +
                              "' --data 'idx:" + t.test_prefix.string() + "' --json");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto doc = nlohmann::json::parse(r.out);
    BOOST_TEST(doc["samples"].get<std::size_t>() == kTest);
    BOOST_TEST(doc["metrics"]["accuracy"].get<double>() == t.test_accuracy,
               boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(predict_on_image_folders_takes_the_model_input_shape) {
    TrainedCnn t;
    const fs::path from_idx = t.tmp.path / "idx.csv";
    const auto r = t.predict("idx:" + t.test_prefix.string(), from_idx);
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto idx_rows = csv_rows(from_idx);
    BOOST_REQUIRE(idx_rows.size() == kTest);

    // The folder lists images by class folder, then file name: the same pixels give the same
    // label, prediction and probabilities as the IDX samples they were written from.
    std::vector<std::size_t> order(kImages);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::to_string(t.labels[a]) < std::to_string(t.labels[b]);
    });
    const fs::path from_gray = t.tmp.path / "gray.csv";
    const auto g = t.predict("dir:" + (t.tmp.path / "gray28").string(), from_gray);
    BOOST_REQUIRE_MESSAGE(g.exit_code == 0, g.err);
    const auto gray_rows = csv_rows(from_gray);
    BOOST_REQUIRE(gray_rows.size() == kImages);
    for (std::size_t i = 0; i < kImages; ++i) {
        const auto& a = gray_rows[i];
        const auto& b = idx_rows[order[i]];
        BOOST_REQUIRE(a.size() == b.size());
        BOOST_TEST(a[1] == b[1]);                                              // label
        BOOST_TEST(a[2] == b[2], "image " << i << " vs sample " << order[i]);  // predicted
        // A sample's place in the batch may change the GEMM's summation order, hence the tolerance.
        for (std::size_t k = 4; k < a.size(); ++k)
            BOOST_TEST(std::stod(a[k]) == std::stod(b[k]), boost::test_tools::tolerance(1e-4));
    }

    // 40x40 RGB images are brought to one 28x28 channel; every image gets its row.
    const fs::path from_rgb = t.tmp.path / "rgb.csv";
    const auto c = t.predict("dir:" + (t.tmp.path / "rgb40").string(), from_rgb);
    BOOST_REQUIRE_MESSAGE(c.exit_code == 0, c.err);
    BOOST_TEST(c.out.find(std::to_string(kImages) + " predictions written") != std::string::npos,
               c.out);
    BOOST_TEST(csv_rows(from_rgb).size() == kImages);
    const auto e = run_plexus("evaluate '" + t.run.string() +
                              "' --data 'dir:" + (t.tmp.path / "rgb40").string() + "' --json");
    BOOST_REQUIRE_MESSAGE(e.exit_code == 0, e.err);
    BOOST_TEST(nlohmann::json::parse(e.out)["samples"].get<std::size_t>() == kImages);
}

BOOST_AUTO_TEST_CASE(a_folder_size_other_than_the_model_input_is_refused_in_one_line) {
    TrainedCnn t;
    const fs::path out = t.tmp.path / "p.csv";
    const auto r =
        t.predict("dir:" + (t.tmp.path / "rgb40").string() + " size=40x40 channels=3", out);
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    BOOST_TEST(r.err.find("size=40x40 channels=3 differs from the training images [28, 28] "
                          "(size=28x28 channels=1)") != std::string::npos,
               r.err);
    BOOST_TEST(!fs::exists(out));
}
