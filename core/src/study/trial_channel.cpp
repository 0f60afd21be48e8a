// Both ends of the trial channel. Values travel as %.17g text, so the parent stores exactly
// the double the child logged.
#include "plexus/core/study/trial_channel.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <sstream>

#include "plexus/error.hpp"

namespace plexus::core {
namespace {

constexpr std::size_t kMaxLine = 4096;

bool parse_epoch(const std::string& text, std::uint64_t& epoch) {
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, epoch);
    return ec == std::errc() && ptr == end && epoch >= 1 && epoch <= 1000000000;
}

bool parse_value(const std::string& text, double& value) {
    if (text == "nan" || text == "-nan") {
        value = std::nan("");
        return true;
    }
    if (text == "inf" || text == "-inf") {
        value = text[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return ec == std::errc() && ptr == end;
}

}  // namespace

ChannelPair make_channel_pair() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        throw Error(std::string("cannot create a trial channel: ") + std::strerror(errno));
    return {fds[0], fds[1]};
}

ChannelMessage parse_channel_message(const std::string& line) {
    ChannelMessage m;
    m.text = line;
    std::istringstream in(line);
    std::string word, a, b, extra;
    in >> word;
    if (word == "epoch" && in >> a >> b && !(in >> extra) && parse_epoch(a, m.epoch) &&
        parse_value(b, m.value))
        m.kind = ChannelMessage::Kind::epoch;
    else if (word == "diverged" && in >> a && !(in >> extra) && parse_epoch(a, m.epoch))
        m.kind = ChannelMessage::Kind::diverged;
    else if (word == "missing") {
        m.kind = ChannelMessage::Kind::missing;
        m.text = line.size() > 8 ? line.substr(8) : "";
    }
    return m;
}

ChannelReader::~ChannelReader() {
    if (fd_ >= 0) close(fd_);
}

std::vector<std::string> ChannelReader::read_lines() {
    std::vector<std::string> lines;
    char chunk[1024];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        closed_ = true;
    if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0, nl;
    while ((nl = buffer_.find('\n', start)) != std::string::npos) {
        lines.push_back(buffer_.substr(start, std::min(nl - start, kMaxLine)));
        start = nl + 1;
    }
    buffer_.erase(0, start);
    if (buffer_.size() > kMaxLine) {  // a runaway line: cut it, keep reading
        lines.push_back(buffer_.substr(0, kMaxLine));
        buffer_.clear();
    }
    return lines;
}

bool ChannelReader::send(const std::string& line) {
    const std::string text = line + "\n";
    return ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

void TrialReporter::send(const std::string& line) {
    const std::string text = line + "\n";
    if (::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size()))
        throw Error("the study process is gone (trial channel closed)");
}

std::string TrialReporter::receive() {
    std::string line;
    char c;
    while (true) {
        const ssize_t n = recv(fd_, &c, 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw Error("the study process is gone (trial channel closed)");
        if (c == '\n') return line;
        if (line.size() < kMaxLine) line += c;
    }
}

void TrialReporter::on_epoch_end(TrainState& state) {
    const std::size_t epoch = state.epoch + 1;
    const auto value = state.logs.get(objective_);
    if (!value) {
        std::string names;
        for (const auto& [name, v] : state.logs.items()) names += (names.empty() ? "" : " ") + name;
        send("missing " + names);
        throw ConfigError("the study's objective '" + objective_ +
                          "' is not logged (logged: " + names + ")");
    }
    send(fmt::format("epoch {} {:.17g}", epoch, *value));
    const std::string answer = receive();
    if (answer == "prune") {
        state.stop_training = true;
        state.stop_reason = "pruned at epoch " + std::to_string(epoch);
    } else if (answer != "continue") {
        throw Error("unexpected answer from the study process: '" + answer + "'");
    }
}

void TrialReporter::on_train_end(TrainState& state) {
    if (state.stop_reason.rfind("loss became", 0) == 0) {
        send("diverged " + std::to_string(state.epoch + 1));
        receive();  // the study kills the trial; waiting keeps the outputs from being written
    }
}

}  // namespace plexus::core
