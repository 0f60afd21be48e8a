// fork + exec rather than std::system: no shell between the test and plexus (mutated paths
// and arguments stay exact), a process group to kill on a hang, and a memory limit.
#include "runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>

namespace fs = std::filesystem;

namespace plexus::fuzz {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

// RFC 4180 records: every record has as many fields as the first; a quote left open fails.
std::string check_csv(const std::string& text) {
    if (text.empty()) return "empty";
    if (text.back() != '\n') return "the last line is not complete";
    std::size_t fields = 1, expected = 0, record = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') ++i;
            else if (c == '"') quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            ++fields;
        } else if (c == '\n') {
            if (record++ == 0) expected = fields;
            else if (fields != expected)
                return "record " + std::to_string(record) + " has " + std::to_string(fields) +
                       " fields, the header " + std::to_string(expected);
            fields = 1;
        }
    }
    return quoted ? "a quoted field is never closed" : "";
}

std::string check_safetensors(const std::string& bytes) {
    if (bytes.size() < 8) return "shorter than its length prefix";
    std::uint64_t len = 0;
    for (int i = 0; i < 8; ++i) len |= std::uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
    if (len > bytes.size() - 8) return "the header runs past the end of the file";
    const auto header = nlohmann::json::parse(bytes.substr(8, len), nullptr, false);
    if (!header.is_object()) return "the header is not a JSON object";
    std::uint64_t end = 0;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;
        if (!entry.is_object()) return "tensor " + name + " is not an object";
        const auto& offsets = entry.value("data_offsets", nlohmann::json::array());
        if (offsets.size() != 2 || !offsets[1].is_number_unsigned()) return "tensor " + name + " has no data_offsets";
        end = std::max(end, offsets[1].get<std::uint64_t>());
    }
    if (end != bytes.size() - 8 - len) return "the tensors do not fill the data exactly";
    return "";
}

}  // namespace

Outcome run(const Command& command, const fs::path& scratch) {
    const std::string out = (scratch / "stdout.txt").string(), err = (scratch / "stderr.txt").string();
    std::vector<char*> argv;
    for (const auto& a : command.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // hard_rss_limit_mb makes ASan report a runaway allocation; without ASan the address
    // space limit turns it into std::bad_alloc. ASan needs terabytes of address space.
    // Everything is prepared before fork(): OpenBLAS, loaded with libplexus_core.so, has
    // started threads, so the child may only make async-signal-safe calls.
    const char* old = std::getenv("ASAN_OPTIONS");
    std::vector<std::string> env_text;
    for (char** e = environ; *e; ++e)
        if (!kSanitized || std::strncmp(*e, "ASAN_OPTIONS=", 13) != 0) env_text.emplace_back(*e);
    if (kSanitized)
        env_text.push_back(std::string("ASAN_OPTIONS=") + (old ? old : "") + (old && *old ? ":" : "") +
                           "hard_rss_limit_mb=3072:max_allocation_size_mb=2048");
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string cwd = command.cwd.string();
    const rlimit memory{4ul << 30, 4ul << 30};

    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::setpgid(0, 0);
        const int in = ::open("/dev/null", O_RDONLY);
        const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || o < 0 || e < 0 || ::dup2(in, 0) < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0 ||
            ::chdir(cwd.c_str()) != 0)
            ::_exit(127);
        if (!kSanitized) ::setrlimit(RLIMIT_AS, &memory);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    Outcome r;
    if (pid < 0) {
        r.err = std::string("fork failed: ") + std::strerror(errno);
        return r;
    }
    ::setpgid(pid, pid);  // also here: either side may run first
    int status = 0;
    const auto time_limit = std::chrono::duration<double>(command.timeout_s);
    for (;;) {
        if (::waitpid(pid, &status, WNOHANG) == pid) break;
        if (std::chrono::steady_clock::now() - t0 > time_limit) {
            r.timed_out = true;
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::kill(-pid, SIGKILL);  // whatever the command left running in its group
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r.timed_out && WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    if (!r.timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
}

std::string check_output(const fs::path& file) {
    const std::string ext = file.extension().string();
    if (ext != ".json" && ext != ".safetensors" && ext != ".csv" && ext != ".html") return "";
    const std::string text = read_file(file);
    if (ext == ".json")
        return nlohmann::json::parse(text, nullptr, false).is_discarded() ? "not JSON" : "";
    if (ext == ".safetensors") return check_safetensors(text);
    if (ext == ".csv") return check_csv(text);
    return text.find("</html>") == std::string::npos ? "no </html>: cut short" : "";
}

std::vector<Symptom> judge(const Outcome& o, const fs::path& dir, const std::set<fs::path>& inputs) {
    std::vector<Symptom> s;
    const std::string first = excerpt(o.err.substr(0, o.err.find('\n')));
    bool sanitizer = false;
    for (const char* mark : {"Sanitizer", ": runtime error: "}) {
        const std::size_t at = o.err.find(mark);
        if (at == std::string::npos) continue;
        const std::size_t bol = o.err.rfind('\n', at);
        const std::size_t from = bol == std::string::npos ? 0 : bol + 1;
        s.push_back({"sanitizer", excerpt(o.err.substr(from, o.err.find('\n', at) - from))});
        sanitizer = true;
        break;
    }
    if (o.timed_out) {
        s.push_back({"timeout", "still running after the case's time limit"});
    } else if (o.signal) {
        s.push_back({"signal", std::string(strsignal(o.signal)) + "; stderr: " + first});
    } else if (o.exit_code != 0 && o.exit_code != 1 && o.exit_code != 2) {
        s.push_back({"exit code", std::to_string(o.exit_code) + ": " + first});
    } else if (o.exit_code != 0 && !sanitizer) {
        const auto lines = std::count(o.err.begin(), o.err.end(), '\n');
        // One "plexus..." message broken by a line break it echoed is told apart from two
        // messages (a warning before the error, a usage text).
        std::size_t messages = o.err.rfind("plexus", 0) == 0;
        for (std::size_t at = o.err.find("\nplexus"); at != std::string::npos; at = o.err.find("\nplexus", at + 1))
            ++messages;
        if (lines != 1 || o.err.back() != '\n')
            s.push_back({"not one line", (messages == 1 ? "one message over " : "") + std::to_string(lines) +
                                             " lines: " + excerpt(o.err)});
    }
    std::size_t longest = 0;
    for (std::size_t from = 0; from < o.err.size();) {
        const std::size_t end = std::min(o.err.find('\n', from), o.err.size());
        longest = std::max(longest, end - from);
        from = end + 1;
    }
    if (longest > kMaxMessageBytes)
        s.push_back({"long line", std::to_string(longest) + " bytes: " + excerpt(first, 200)});
    for (const char c : o.err)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
            s.push_back({"control character", excerpt(first)});
            break;
        }
    if (!valid_utf8(o.err)) s.push_back({"invalid UTF-8", excerpt(first)});

    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec) || inputs.count(it->path())) continue;
        const std::string name = it->path().filename().string();
        if (name == "stdout.txt" || name == "stderr.txt") continue;
        if (name.find(".tmp") != std::string::npos)
            s.push_back({"temporary file", it->path().lexically_relative(dir).string()});
        else if (const std::string why = check_output(it->path()); !why.empty())
            s.push_back({"unparsable output", it->path().lexically_relative(dir).string() + ": " + why});
    }
    return s;
}

std::string excerpt(const std::string& text, std::size_t max) {
    std::string out;
    for (const char ch : text.substr(0, max)) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += ch;
        }
    }
    return text.size() > max ? out + "..." : out;
}

}  // namespace plexus::fuzz
