// Runs one fuzz case's command with a time and memory limit and judges what it did: the
// rules of docs/fuzzing.md (exit code 0, 1 or 2; no sanitizer report; a failure is one
// bounded, printable line; no temporary file or unparsable output left behind).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace plexus::fuzz {

/// The longest line a message may have, in bytes.
inline constexpr std::size_t kMaxMessageBytes = 1000;

struct Command {
    std::vector<std::string> args;  // args[0] is the program
    std::filesystem::path cwd;
    double timeout_s = 20.0;
};

struct Outcome {
    int exit_code = -1;  // -1 when killed by a signal
    int signal = 0;
    bool timed_out = false;
    double seconds = 0.0;
    std::string out, err;
};

/// Runs `command` in its own process group with stdin from /dev/null and stdout and stderr
/// captured (through files under `scratch`); after timeout_s the whole group is killed. The
/// address space is capped (4 GiB, or ASan's hard RSS limit in a sanitized build) so a
/// runaway allocation fails fast instead of starving the machine.
/// Requires: command.args non-empty; `scratch` an existing folder.
Outcome run(const Command& command, const std::filesystem::path& scratch);

/// One way a case broke the rules: `kind` is one of the words of docs/fuzzing.md ("signal",
/// "exit code", "sanitizer", "timeout", "not one line", "long line", "control character",
/// "invalid UTF-8", "temporary file", "unparsable output"; the fuzz test adds "accepted" for
/// an input a mutation certainly broke that the command took), `detail` says what exactly.
struct Symptom {
    std::string kind, detail;
};

/// Everything wrong with `outcome`, and with the files under `dir` except `inputs` (the
/// case's own files): none when the case passed.
std::vector<Symptom> judge(const Outcome& outcome, const std::filesystem::path& dir,
                           const std::set<std::filesystem::path>& inputs);

/// Why the output file `file` does not parse ("" when it does, or when its type is not one
/// the test reads: .json, .safetensors, .csv, .html).
std::string check_output(const std::filesystem::path& file);

/// `text` cut to `max` bytes with control bytes and bytes above 0x7e shown as \xNN, for the
/// test's own messages.
std::string excerpt(const std::string& text, std::size_t max = 300);

}  // namespace plexus::fuzz
