// The epoch files (resume.safetensors, history.csv) are written on a helper thread; the last
// epoch's are still being written while the run writes its outputs (model, test evaluation,
// report), and run_experiment waits for them before it returns. A write that fails there
// still ends the run with an error naming the file, after the outputs that did get written.
#define BOOST_TEST_MODULE epoch_files
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "temp_dir.hpp"
#include "plexus/callback.hpp"
#include "plexus/core/experiment/experiment.hpp"
#include "plexus/core/run/run.hpp"
#include "plexus/error.hpp"

namespace fs = std::filesystem;
using namespace plexus;

namespace {

const std::string kFashion = "/usr/share/datasets/fashion-mnist";

std::string experiment_text(int epochs) {
    return "[experiment]\nname = files\n"
           "[data]\ntrain = idx:" + kFashion + "/train\ntest = idx:" + kFashion + "/t10k\n"
           "train_limit = 512\n"
           "[model]\nlayer = dense units=16\nlayer = relu\nlayer = dense units=10\n"
           "loss = softmax_cross_entropy\n"
           "[train]\noptimizer = adam lr=0.001\nbatch_size = 64\nepochs = " +
           std::to_string(epochs) + "\nverbose = 0\n";
}

core::RunOptions options_in(const fs::path& out) {
    core::RunOptions o;
    o.registry.plugin_paths = {PLEXUS_TEST_PLUGIN_DIR};
    o.out_dir = out;
    return o;
}

// Data rows in a history.csv (0 when it cannot be read).
std::size_t history_rows(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::size_t rows = 0;
    if (!std::getline(in, line)) return 0;  // the header
    while (std::getline(in, line)) ++rows;
    return rows;
}

// At the end of epoch `epoch` (0-based), once the previous epoch's history.csv is down, puts
// a non-empty folder where history.csv goes, so the rename that writes this epoch's fails.
class BlockHistory final : public Callback {
public:
    explicit BlockHistory(std::size_t epoch) : epoch_(epoch) {}
    void on_epoch_end(TrainState& state) override {
        if (state.epoch != epoch_ || state.run_dir.empty()) return;
        const fs::path history = fs::path(state.run_dir) / "history.csv";
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (history_rows(history) < epoch_ && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        fs::remove(history);
        fs::create_directories(history / "in_the_way");
    }

private:
    std::size_t epoch_;
};

// Trains `epochs` epochs into `dir` with history.csv's write blocked after epoch `block`.
void run_blocked(const fs::path& dir, int epochs, std::size_t block) {
    std::ostringstream out;
    auto options = options_in(dir);
    options.callbacks.push_back(std::make_shared<BlockHistory>(block));
    core::run_experiment(core::Experiment::parse(experiment_text(epochs), (dir / "files.ini").string()),
                         options, out);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_epoch_file_is_down_when_the_run_returns) {
    test::TempDir tmp("epoch_files");
    std::ostringstream out;
    const auto exp = core::Experiment::parse(experiment_text(3), (tmp.path / "files.ini").string());
    const core::RunResult result = core::run_experiment(exp, options_in(tmp.path), out);
    BOOST_TEST(history_rows(result.run_dir / "history.csv") == 3u, out.str());  // the last one's too
    BOOST_TEST(fs::exists(result.run_dir / "resume.safetensors"));
    BOOST_TEST(fs::exists(result.run_dir / "report.html"));
    for (const auto& e : fs::directory_iterator(result.run_dir))  // no temporary left behind
        BOOST_TEST(e.path().filename().string().front() != '.', e.path());
}

BOOST_AUTO_TEST_CASE(a_failed_last_epoch_write_ends_the_run_after_its_outputs) {
    test::TempDir tmp("epoch_files");
    try {
        run_blocked(tmp.path, 2, 1);  // the last of 2 epochs
        BOOST_FAIL("the run should have ended with the history.csv write's error");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()).find("history.csv") != std::string::npos, e.what());
    }
    // The outputs were written while the epoch files were: the model and the report are there.
    fs::path run_dir;
    for (const auto& e : fs::directory_iterator(tmp.path))
        if (e.is_directory()) run_dir = e.path();
    BOOST_REQUIRE(!run_dir.empty());
    BOOST_TEST(fs::exists(run_dir / "model.safetensors"));
    BOOST_TEST(fs::exists(run_dir / "report.html"));
}

BOOST_AUTO_TEST_CASE(a_failed_earlier_epoch_write_ends_the_run_one_epoch_later) {
    test::TempDir tmp("epoch_files");
    BOOST_CHECK_THROW(run_blocked(tmp.path, 3, 0), Error);  // the first of 3 epochs
}
