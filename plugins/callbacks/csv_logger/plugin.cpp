// CSV logger (Keras' CSVLogger): one row per epoch with every logged value, for spreadsheets,
// pandas or gnuplot. The whole file is rewritten atomically after each epoch (temporary file +
// rename), so a reader — or a run killed mid-write — never sees a torn row. With append=true a
// run adds its rows to an existing file with the same columns (e.g. runs resumed in turns).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "plexus/plexus.hpp"
#include "plexus/support/files.hpp"
#include "plexus/support/run_path.hpp"
#include "plexus/support/text.hpp"

namespace {

const plexus::ParamSpec kParams[] = {
    {"path", plexus::ParamType::string, "{run_dir}/log.csv", 0, 0, nullptr,
     "file to write; {run_dir} is the run folder"},
    {"append", plexus::ParamType::boolean, "false", 0, 0, nullptr,
     "keep the rows already in the file (same columns) and add this run's"},
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class CsvLogger final : public plexus::Callback {
public:
    explicit CsvLogger(const plexus::Params& p)
        : pattern_(p.get_string("path")), append_(p.get_bool("append")) {
        if (pattern_.empty()) throw plexus::ParamError("csv_logger: path must not be empty");
    }

    void on_train_begin(plexus::TrainState& s) override {
        path_ = plexus::support::expand_run_path("csv_logger", pattern_, s);
        columns_.clear();
        content_.clear();
        if (append_ && std::filesystem::exists(path_)) {
            content_ = read_file(path_);
            if (!content_.empty() && content_.back() != '\n') content_ += '\n';
        }
    }

    void on_epoch_end(plexus::TrainState& s) override {
        if (columns_.empty()) start(s.logs);
        std::string row = fmt::format("{}", s.epoch + 1);
        for (const auto& name : columns_) {
            row += ',';
            if (const auto value = s.logs.get(name))
                fmt::format_to(std::back_inserter(row), "{:.6g}", *value);
        }
        content_ += row + '\n';
        plexus::support::write_file_atomic(path_, content_);
    }

    // The rows written so far: a resumed run rewrites the file with them and its own, exactly
    // as if it had never stopped.
    void checkpoint(plexus::SavedState& out) const override {
        out.set_text("columns", plexus::support::join(columns_, ","));
        out.set_text("content", content_);
    }

    void resume(const plexus::SavedState& in) override {
        const std::string& columns = in.text("columns");
        columns_.clear();
        if (!columns.empty()) columns_ = plexus::support::split(columns, ',');
        content_ = in.text("content");
    }

private:
    // The columns are the first epoch's logs, in order; a later epoch's missing value is an
    // empty cell.
    void start(const plexus::Logs& logs) {
        for (const auto& [name, value] : logs.items()) columns_.push_back(name);
        const std::string header = "epoch," + plexus::support::join(columns_, ",");
        if (content_.empty()) {
            plexus::support::create_parent_folder("csv_logger", path_);
            content_ = header + '\n';
            return;
        }
        const std::string existing = content_.substr(0, content_.find('\n'));
        if (existing != header)
            throw plexus::Error("csv_logger: " + path_ + " has the columns '" + existing +
                                "' but this run logs '" + header +
                                "'; use another path or append=false");
    }

    std::string pattern_;
    bool append_;
    std::string path_;
    std::vector<std::string> columns_;
    std::string content_;
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<CsvLogger>("csv_logger", "0.1.0",
                                           "Write every epoch's logged values to a CSV file",
                                           kParams))
