// The progress callback's two output modes, captured from stdout.
#define BOOST_TEST_MODULE progress
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"

namespace {

// Runs `body` with stdout redirected to a file and returns what it printed.
template <class F>
std::string capture_stdout(F body) {
    const auto path = std::filesystem::temp_directory_path() / ("plexus-progress-" + std::to_string(::getpid()));
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    BOOST_REQUIRE(std::freopen(path.c_str(), "w", stdout));
    body();
    std::fflush(stdout);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    std::stringstream ss;
    ss << std::ifstream(path).rdbuf();
    std::filesystem::remove(path);
    return ss.str();
}

plexus::TrainState epoch_state() {
    plexus::TrainState s;
    s.epoch = 1;
    s.epochs = 3;
    s.batches = 4;
    s.batch = 3;
    s.samples = 400;
    s.samples_done = 400;
    s.epoch_seconds = 2.0;
    s.logs.set("loss", 0.5);
    s.logs.set("accuracy", 0.875);
    s.logs.set("lr", 0.01);
    s.logs.set("seconds", 2.0);
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lines_mode_prints_one_line_per_epoch) {
    auto cb = plexus::testing::load<plexus::Callback>("progress mode=lines");
    auto s = epoch_state();
    const std::string out = capture_stdout([&] {
        cb->on_epoch_begin(s);
        cb->on_batch_end(s);
        cb->on_epoch_end(s);
    });
    BOOST_TEST(out == "epoch 2/3 - 2.0s - 200 samples/s - loss: 0.5000 - accuracy: 0.8750 - lr: 0.01\n");
}

BOOST_AUTO_TEST_CASE(bar_mode_shows_eta_and_throughput) {
    auto cb = plexus::testing::load<plexus::Callback>("progress mode=bar width=10");
    auto s = epoch_state();
    s.batch = 1;  // half-way: 200 of 400 samples in 2 s
    s.samples_done = 200;
    s.batch_logs.set("loss", 0.75);
    const std::string out = capture_stdout([&] {
        cb->on_epoch_begin(s);
        cb->on_batch_end(s);
    });
    BOOST_TEST(out.find("Epoch 2/3\n") == 0u);
    BOOST_TEST(out.find("2/4 [=====>....] - ETA: 2s - 100 samples/s - loss: 0.7500") != std::string::npos, out);
}
