// Progress reporting in the style of Keras' verbose=1: a live bar with ETA and throughput
// when stdout is a terminal, one plain line per epoch otherwise (logs, CI, pipes).
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string>

#include "plexus/plexus.hpp"

namespace {

const plexus::ParamSpec kParams[] = {
    {"mode", plexus::ParamType::choice, "auto", 0, 0, "auto|bar|lines",
     "auto: a live bar on a terminal, one line per epoch otherwise"},
    {"width", plexus::ParamType::integer, "30", 5, 200, nullptr, "bar width in characters"},
};

std::string format_logs(const plexus::Logs& logs) {
    std::string out;
    for (const auto& [name, value] : logs.items()) {
        if (name == "seconds") continue;
        // Fixed decimals read best; a diverging loss (1e+25) switches to exponent form.
        const bool compact = name == "lr" || !(std::fabs(value) < 1e6);
        if (compact)
            fmt::format_to(std::back_inserter(out), " - {}: {:.4g}", name, value);
        else
            fmt::format_to(std::back_inserter(out), " - {}: {:.4f}", name, value);
    }
    return out;
}

std::string format_duration(double seconds) {
    const int whole = static_cast<int>(seconds);
    if (seconds < 60) return fmt::format("{:.0f}s", seconds);
    if (seconds < 3600) return fmt::format("{}:{:02}", whole / 60, whole % 60);
    return fmt::format("{}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60);
}

class Progress : public plexus::Callback {
public:
    explicit Progress(const plexus::Params& p)
        : width_(static_cast<int>(p.get_int("width"))) {
        const std::string& mode = p.get_string("mode");
        bar_ = mode == "bar" || (mode == "auto" && ::isatty(STDOUT_FILENO));
    }

    void on_epoch_begin(plexus::TrainState& s) override {
        if (bar_) fmt::print("Epoch {}/{}\n", s.epoch + 1, s.epochs);
        last_draw_ = {};
    }

    void on_batch_end(plexus::TrainState& s) override {
        if (!bar_) return;
        const auto now = std::chrono::steady_clock::now();
        if (s.batch + 1 < s.batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
        last_draw_ = now;
        const double rate = s.epoch_seconds > 0 ? s.samples_done / s.epoch_seconds : 0.0;
        const double eta = rate > 0 ? (s.samples - s.samples_done) / rate : 0.0;
        draw(s, "ETA: " + format_duration(eta), rate, format_logs(s.batch_logs));
    }

    void on_epoch_end(plexus::TrainState& s) override {
        const double seconds = s.logs.get("seconds").value_or(s.epoch_seconds);
        const double rate = seconds > 0 ? s.samples / seconds : 0.0;
        if (bar_) {
            draw(s, fmt::format("{:.1f}s", seconds), rate, format_logs(s.logs));
            fmt::print("\n");
        } else {
            fmt::print("epoch {}/{} - {:.1f}s - {:.0f} samples/s{}\n", s.epoch + 1, s.epochs,
                       seconds, rate, format_logs(s.logs));
        }
        std::fflush(stdout);
    }

private:
    void draw(const plexus::TrainState& s, const std::string& timing, double rate,
              const std::string& logs) {
        const int done = s.batches ? static_cast<int>(width_ * (s.batch + 1) / s.batches) : width_;
        std::string bar(static_cast<std::size_t>(width_), '.');
        for (int i = 0; i < done; ++i) bar[static_cast<std::size_t>(i)] = '=';
        if (done < width_) bar[static_cast<std::size_t>(done)] = '>';
        // \r + clear-to-end-of-line redraws the same line in place.
        fmt::print("\r\033[K{}/{} [{}] - {} - {:.0f} samples/s{}", s.batch + 1, s.batches, bar,
                   timing, rate, logs);
        std::fflush(stdout);
    }

    int width_;
    bool bar_;
    std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace

PLEXUS_PLUGIN(plexus::component<Progress>("progress", "0.1.0",
                                          "Keras-style progress bar (TTY) or one line per epoch",
                                          kParams))
