// The line protocol between `plexus tune` and a training trial (a socketpair, one text line
// each way per epoch):
//   child → parent   "epoch N VALUE"    the objective logged at the end of epoch N (1-based)
//                    "diverged N"       the loss became NaN or infinite during epoch N
//                    "missing NAMES…"   the objective is not among the logged names
//   parent → child   "continue" | "prune"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plexus/callback.hpp"

// Core internals used by the app and tests are exported from libplexus_core.so too.
#pragma GCC visibility push(default)

namespace plexus::core {

/// A connected pair of stream sockets: parent's end and child's end (both close-on-exec).
struct ChannelPair {
    int parent = -1, child = -1;
};
/// Throws Error when the system refuses.
ChannelPair make_channel_pair();

/// One parsed child → parent message.
struct ChannelMessage {
    enum class Kind { epoch, diverged, missing, malformed } kind = Kind::malformed;
    std::uint64_t epoch = 0;
    double value = 0.0;  // epoch: as logged (NaN and infinities included)
    std::string text;    // missing: the logged names; malformed: the line
};
/// Parses a line; every number is checked (a malformed or out-of-range epoch is malformed).
ChannelMessage parse_channel_message(const std::string& line);

/// The parent's end: non-blocking reads of whole lines.
class ChannelReader {
public:
    explicit ChannelReader(int fd) : fd_(fd) {}
    ~ChannelReader();
    ChannelReader(const ChannelReader&) = delete;
    ChannelReader& operator=(const ChannelReader&) = delete;
    int fd() const { return fd_; }
    /// Reads what is available (call when poll() says readable); returns the complete lines.
    /// Sets closed() at end of file. A line longer than 4 KiB is returned cut.
    std::vector<std::string> read_lines();
    bool closed() const { return closed_; }
    /// Writes one line; false when the child is gone.
    bool send(const std::string& line);

private:
    int fd_;
    std::string buffer_;
    bool closed_ = false;
};

/// The child's end, as a callback appended after the experiment's own: after every epoch it
/// reports the objective and obeys the answer (stop_training with "pruned at epoch N").
class TrialReporter : public Callback {
public:
    TrialReporter(int fd, std::string objective) : fd_(fd), objective_(std::move(objective)) {}
    void on_epoch_end(TrainState& state) override;
    void on_train_end(TrainState& state) override;

private:
    void send(const std::string& line);
    std::string receive();
    int fd_;
    std::string objective_;
};

}  // namespace plexus::core

#pragma GCC visibility pop
