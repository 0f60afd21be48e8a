// The fuzz test (docs/fuzzing.md): mutated experiment files, data files (CSV, IDX plain and
// gzipped, .npy, series), model files (safetensors headers and model metadata), run folders,
// study files and plugin libraries go through the real plexus command. Every case must end
// within its time limit with exit code 0, 1 or 2 and no sanitizer report; a failure says so
// in one printable line of at most 1000 bytes; nothing half-written stays behind.
//
// Seeded and time-bounded; the environment sets it:
//   PLEXUS_FUZZ_SEED      seed of the run (default 17)
//   PLEXUS_FUZZ_SECONDS   time for the cases, after the three seed models train (default 35)
//   PLEXUS_FUZZ_CASES     stop after this many cases (default 0: when the time is up)
//   PLEXUS_FUZZ_TARGETS   only these targets, comma-separated (default: all)
//   PLEXUS_FUZZ_TIMEOUT   seconds a case may run (default 15, train and tune twice that;
//                         four times as much in a sanitized build)
//   PLEXUS_FUZZ_REPLAY    FILE: run only the saved input FILE (seedS-caseN__TARGET__COMMAND.input)
//   PLEXUS_FUZZ_KEEP      1: keep the work folder (inputs of every failing case, known or not)
#define BOOST_TEST_MODULE fuzz
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>

#include "bench.hpp"
#include "known.hpp"

namespace fs = std::filesystem;
using namespace plexus::fuzz;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr double kSlowdown = 4.0;
#else
constexpr double kSlowdown = 1.0;
#endif

std::string env(const char* name, const std::string& fallback = "") {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

// A work folder, kept when asked or when a case failed unexpectedly (its inputs are there).
struct WorkDir {
    fs::path path;
    bool keep = env("PLEXUS_FUZZ_KEEP") == "1";
    WorkDir() {
        path = fs::temp_directory_path() / ("plexus-fuzz-" + std::to_string(::getpid()));
        fs::remove_all(path);
        fs::create_directories(path / "scratch");
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace);
    }
    ~WorkDir() {
        std::error_code ec;
        if (!keep) fs::remove_all(path, ec);
    }
};

struct Tally {
    std::size_t cases = 0, unexpected = 0;
    std::map<std::string, std::size_t> known;      // entry id -> cases
    std::map<std::string, std::size_t> per_target; // target -> cases
    std::map<std::string, std::size_t> exit_zero;  // target -> cases whose command succeeded
};

// Runs one case and reports every symptom: a known one as skipped, any other as a test error
// with the seed, the case number and where its input was saved.
void run_case(const Bench& bench, const Target& t, const std::string& command,
              const std::string& input, const Notes& notes, const std::string& label,
              const fs::path& work, Tally& tally) {
    const fs::path dir = work / "case";
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::set<fs::path> inputs;
    const Command c = bench.place(t, command, input, dir, inputs);
    const Outcome o = run(c, work / "scratch");
    auto symptoms = judge(o, dir, inputs);
    if (o.exit_code == 0)  // a mutation that certainly broke the input: the command must refuse it
        for (const auto& n : notes)
            if (n.rfind('!', 0) == 0) symptoms.push_back({"accepted", "exit code 0 although " + n.substr(1)});
    ++tally.cases;
    ++tally.per_target[t.name];
    tally.exit_zero[t.name] += o.exit_code == 0;
    bool unexpected = false;
    std::string report;
    for (const Symptom& s : symptoms) {
        const Known* k = known_failure(t.name, command, s);
        if (k) ++tally.known[k->id];
        else unexpected = true;
        report += (k ? "  known " + std::string(k->id) + " (" + k->owner + "): " : "  ") + s.kind + ": " + s.detail + "\n";
    }
    if (symptoms.empty()) return;
    const fs::path saved = work / "failures" / (label + "__" + t.name + "__" + command + ".input");
    fs::create_directories(saved.parent_path());
    std::ofstream(saved, std::ios::binary) << input;
    std::string how;
    std::ofstream kept(saved.string() + ".notes");  // a replay needs the '!' notes
    for (const auto& n : notes) {
        how += (how.empty() ? "" : "; ") + n;
        kept << n << "\n";
    }
    std::string line;
    for (const auto& a : c.args) line += " " + a;
    std::cout << "fuzz: " << label << " target " << t.name << " (" << how << ")\n  ran:" << line
              << "\n  exit " << o.exit_code << (o.signal ? ", signal " + std::to_string(o.signal) : "")
              << " in " << o.seconds << " s\n" << report << "  input: " << saved.string()
              << "\n  replay: PLEXUS_FUZZ_REPLAY=" << saved.string() << " " << PLEXUS_TEST_BUILD_DIR
              << "/tests/test_fuzz --run_test=mutated_inputs_never_break_plexus\n";
    if (unexpected) {
        ++tally.unexpected;
        BOOST_ERROR("fuzz " << label << ", target " << t.name << ", command " << command << ":\n"
                            << report << "input saved as " << saved.string());
    }
}

}  // namespace

// The checks themselves can fail: each rule is broken once on purpose by a shell command.
BOOST_AUTO_TEST_CASE(the_checks_catch_every_symptom) {
    // A shell script, the symptoms the judge must name (comma-separated, in its order), and
    // the start of the first symptom's detail where that matters.
    struct Rule {
        const char* script;
        const char* kinds;
        const char* detail = "";
        double timeout = 10.0;
    };
    const Rule rules[] = {
        {"echo 'plexus: error: x.ini:3: bad value' >&2; exit 1", ""},
        {"echo ok; exit 0", ""},
        {"printf 'a,\"b,c\"\\n1,\"2,\"\"3\"\\n' > ok.csv", ""},
        {"kill -SEGV $$", "signal"},
        {"echo 'plexus: internal error: std::bad_alloc' >&2; exit 3", "exit code"},
        {"echo '==1==ERROR: AddressSanitizer: SEGV' >&2; exit 1", "sanitizer"},
        {"echo 'a.cpp:3:5: runtime error: shift' >&2; exit 1", "sanitizer"},
        {"sleep 5", "timeout", "", 0.3},
        {"exit 1", "not one line"},
        {"printf 'one\\ntwo\\n' >&2; exit 2", "not one line", "2 lines"},
        // A line break echoed from a file inside one message, told apart from two messages.
        {"printf 'plexus: error: found \"a\\nb\"\\n' >&2; exit 1", "not one line", "one message over 2"},
        {"printf 'plexus: warning: w\\nplexus: error: e\\n' >&2; exit 1", "not one line", "2 lines"},
        {"printf '%1001s\\n' x >&2; exit 1", "long line"},
        {"printf 'bad \\033[31m\\n' >&2; exit 1", "control character"},
        {"printf 'bad \\377\\n' >&2; exit 1", "invalid UTF-8"},
        {"echo x > .model.safetensors.tmp42", "temporary file"},
        {"printf '{\"a\":' > metrics.json", "unparsable output"},
        {"printf 'a,b\\n1\\n' > history.csv", "unparsable output"},
        {"printf 'a,b\\n1,2' > history.csv", "unparsable output"},
        {"printf '<html><body>' > report.html", "unparsable output"},
        {"printf '\\020\\0\\0\\0\\0\\0\\0\\0{}' > m.safetensors", "unparsable output"},
    };
    WorkDir work;
    const fs::path dir = work.path / "case";
    for (const Rule& rule : rules) {
        fs::remove_all(dir);
        fs::create_directories(dir);
        const Outcome o = run({{"/bin/sh", "-c", rule.script}, dir, rule.timeout}, work.path / "scratch");
        const auto symptoms = judge(o, dir, {});
        std::string kinds;
        for (const Symptom& s : symptoms) kinds += (kinds.empty() ? "" : ",") + s.kind;
        BOOST_TEST(kinds == rule.kinds, rule.script);
        if (*rule.detail && !symptoms.empty())
            BOOST_TEST(symptoms[0].detail.rfind(rule.detail, 0) == 0, rule.script << ": " << symptoms[0].detail);
    }
}

// The engine is deterministic per (seed, case), and kWrapDims wraps as documented.
BOOST_AUTO_TEST_CASE(the_mutations_replay_from_the_seed) {
    const std::string seed = classes_csv();
    auto mutated = [&](std::uint64_t s, std::uint64_t c) {
        Rng rng(case_seed(s, c));
        std::string text = seed;
        Notes notes;
        mutate_text(text, rng, notes);
        return text;
    };
    BOOST_TEST(mutated(17, 5) == mutated(17, 5));
    std::size_t differ = 0;
    for (std::uint64_t c = 0; c < 20; ++c) differ += mutated(17, c) != seed;
    BOOST_TEST(differ >= 18u);  // a mutation may undo itself now and then, rarely
    BOOST_TEST(mutated(17, 5) != mutated(18, 5));
    __extension__ typedef unsigned __int128 U128;  // GCC's 128-bit integer, for the exact product
    U128 exact = 1;
    std::uint64_t wrapped = 1;
    for (const std::uint64_t d : kWrapDims) {
        BOOST_TEST(d <= (1u << 24));
        exact *= d;
        wrapped *= d;
    }
    BOOST_TEST(wrapped == 1u);
    BOOST_TEST((exact == (U128(1) << 65) + 1));  // 2^65 + 1, tests/fuzz/wrap_dims.py
}

BOOST_AUTO_TEST_CASE(mutated_inputs_never_break_plexus) {
    WorkDir work;
    const std::uint64_t seed = std::stoull(env("PLEXUS_FUZZ_SEED", "17"));
    const double seconds = std::stod(env("PLEXUS_FUZZ_SECONDS", "35"));
    const std::uint64_t max_cases = std::stoull(env("PLEXUS_FUZZ_CASES", "0"));
    const double timeout = std::stod(env("PLEXUS_FUZZ_TIMEOUT", "15")) * kSlowdown;
    const Bench bench(work.path, timeout);
    Tally tally;

    if (const std::string replay = env("PLEXUS_FUZZ_REPLAY"); !replay.empty()) {
        const std::string name = fs::path(replay).stem().string();
        const std::size_t a = name.find("__"), b = name.rfind("__");
        const Target* t = a != b ? find_target(name.substr(a + 2, b - a - 2)) : nullptr;
        BOOST_REQUIRE_MESSAGE(t, replay << ": not named seedS-caseN__TARGET__COMMAND.input");
        std::ifstream in(replay, std::ios::binary);
        const std::string input{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        Notes notes{"replayed from " + replay};
        std::ifstream saved_notes(replay + ".notes");
        for (std::string line; std::getline(saved_notes, line);) notes.push_back(line);
        run_case(bench, *t, name.substr(b + 2), input, notes, name.substr(0, a), work.path, tally);
        work.keep = work.keep || tally.unexpected > 0;
        return;
    }

    const auto t0 = std::chrono::steady_clock::now();
    const auto deadline = t0 + std::chrono::duration<double>(seconds);
    std::vector<Target> all;
    const std::string only = "," + env("PLEXUS_FUZZ_TARGETS") + ",";
    for (const Target& t : targets())
        if (only == ",," || only.find("," + t.name + ",") != std::string::npos) all.push_back(t);
    BOOST_REQUIRE_MESSAGE(!all.empty(), "PLEXUS_FUZZ_TARGETS names no target");
    for (std::uint64_t n = 0; (max_cases == 0 || n < max_cases) &&
                              (n == 0 || std::chrono::steady_clock::now() < deadline);
         ++n) {
        const Target& t = all[n % all.size()];
        Rng rng(case_seed(seed, n));
        Notes notes;
        const std::string command = rng.pick(t.commands);
        const std::string input = bench.make_input(t, rng, notes);
        run_case(bench, t, command, input, notes, "seed" + std::to_string(seed) + "-case" + std::to_string(n),
                 work.path, tally);
    }
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "fuzz: seed " << seed << ", " << tally.cases << " cases in " << took << " s, "
              << tally.unexpected << " failed unexpectedly";
    for (const auto& [id, n] : tally.known) std::cout << "; known " << id << " skipped in " << n << " cases";
    std::cout << "\nfuzz: cases per target (of which exit code 0):";
    for (const auto& [name, n] : tally.per_target)
        std::cout << " " << name << " " << n << " (" << tally.exit_zero[name] << ")";
    std::cout << "\n";
    work.keep = work.keep || tally.unexpected > 0;
    if (work.keep) std::cout << "fuzz: work folder kept: " << work.path.string() << "\n";
    // Every target ran at least once (unless PLEXUS_FUZZ_CASES asked for fewer cases).
    BOOST_TEST(tally.cases >= (max_cases ? std::min<std::uint64_t>(max_cases, all.size()) : all.size()));
}
