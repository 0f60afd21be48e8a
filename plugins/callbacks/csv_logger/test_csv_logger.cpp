// csv_logger: the file's content after each epoch, append mode, and its errors.
#define BOOST_TEST_MODULE csv_logger
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "plexus/plexus.hpp"
#include "plexus/testing.hpp"
#include "plexus/testing/callbacks.hpp"

namespace {

using plexus::testing::make_train_state;
using plexus::testing::run_epoch;

struct Scratch {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("plexus-csv-" + std::to_string(::getpid()));
    Scratch() { std::filesystem::create_directories(dir); }
    ~Scratch() { std::filesystem::remove_all(dir); }
};

std::string read(const std::filesystem::path& p) {
    std::stringstream ss;
    ss << std::ifstream(p).rdbuf();
    return ss.str();
}

// Two epochs of a run writing to `spec`.
void two_epochs(const std::string& spec, const std::string& run_dir = "") {
    auto cb = plexus::testing::load<plexus::Callback>(spec);
    auto s = make_train_state(2);
    s.run_dir = run_dir;
    cb->on_train_begin(s);
    run_epoch(*cb, s, 0, {{"loss", 0.5}, {"accuracy", 0.875}, {"val_loss", 0.625}, {"lr", 0.1}});
    run_epoch(*cb, s, 1, {{"loss", 0.25}, {"accuracy", 0.9375}, {"val_loss", 0.5}, {"lr", 0.05}});
    cb->on_train_end(s);
}

const char* const kTwoEpochs =
    "epoch,loss,accuracy,val_loss,lr\n"
    "1,0.5,0.875,0.625,0.1\n"
    "2,0.25,0.9375,0.5,0.05\n";

}  // namespace

BOOST_AUTO_TEST_CASE(writes_a_header_and_one_row_per_epoch) {
    Scratch scratch;
    two_epochs("csv_logger", scratch.dir.string());
    BOOST_TEST(read(scratch.dir / "log.csv") == kTwoEpochs);

    // A second run without append replaces the file; with append it adds rows.
    two_epochs("csv_logger", scratch.dir.string());
    BOOST_TEST(read(scratch.dir / "log.csv") == kTwoEpochs);
    two_epochs("csv_logger append=true", scratch.dir.string());
    BOOST_TEST(read(scratch.dir / "log.csv") ==
               std::string(kTwoEpochs) + "1,0.5,0.875,0.625,0.1\n2,0.25,0.9375,0.5,0.05\n");
}

BOOST_AUTO_TEST_CASE(the_file_is_complete_after_every_epoch) {
    Scratch scratch;
    const auto path = scratch.dir / "sub" / "a.csv";
    auto cb = plexus::testing::load<plexus::Callback>("csv_logger path=" + path.string());
    auto s = make_train_state(3);
    cb->on_train_begin(s);
    run_epoch(*cb, s, 0, {{"loss", 0.5}, {"val_loss", 0.75}});
    BOOST_TEST(read(path) == "epoch,loss,val_loss\n1,0.5,0.75\n");
    run_epoch(*cb, s, 1, {{"loss", 0.25}});  // a missing value is an empty cell
    BOOST_TEST(read(path) == "epoch,loss,val_loss\n1,0.5,0.75\n2,0.25,\n");
    for (const auto& entry : std::filesystem::directory_iterator(path.parent_path()))
        BOOST_TEST(entry.path().filename() == "a.csv");  // no temporary left behind
}

BOOST_AUTO_TEST_CASE(clear_errors) {
    Scratch scratch;
    BOOST_CHECK_THROW(two_epochs("csv_logger"), plexus::Error);  // no run folder
    const auto path = scratch.dir / "other.csv";
    std::ofstream(path) << "epoch,something_else\n1,2\n";
    try {
        two_epochs("csv_logger append=true path=" + path.string());
        BOOST_FAIL("expected an error");
    } catch (const plexus::Error& e) {
        BOOST_TEST(
            std::string(e.what()).find("use another path or append=false") != std::string::npos,
            e.what());
    }
    BOOST_TEST(read(path) == "epoch,something_else\n1,2\n");  // left as it was
}
