// The study engine's pieces on their own: the trial channel's messages (every number from a
// child is checked), the leaderboard's ranking and saved epochs, progress lines, durations.
#define BOOST_TEST_MODULE tune_units
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "plexus/core/study/leaderboard.hpp"
#include "plexus/core/study/trial_channel.hpp"

using namespace plexus;
using namespace plexus::core;
using MsgKind = ChannelMessage::Kind;

BOOST_AUTO_TEST_CASE(channel_messages_are_parsed_strictly) {
    auto m = parse_channel_message("epoch 3 0.8125");
    BOOST_TEST(int(m.kind) == int(MsgKind::epoch));
    BOOST_TEST(m.epoch == 3u);
    BOOST_TEST(m.value == 0.8125);
    m = parse_channel_message("epoch 2 nan");
    BOOST_TEST(int(m.kind) == int(MsgKind::epoch));
    BOOST_TEST(std::isnan(m.value));
    BOOST_TEST(std::isinf(parse_channel_message("epoch 2 -inf").value));
    m = parse_channel_message("diverged 4");
    BOOST_TEST(int(m.kind) == int(MsgKind::diverged));
    BOOST_TEST(m.epoch == 4u);
    m = parse_channel_message("missing loss accuracy val_loss");
    BOOST_TEST(int(m.kind) == int(MsgKind::missing));
    BOOST_TEST(m.text == "loss accuracy val_loss");
    for (const char* bad : {"", "epoch", "epoch 0 1.0", "epoch -1 1.0", "epoch 3", "epoch 3 0.5 x",
                            "epoch 3 abc", "epoch 3x 0.5", "epoch 99999999999999999999 1",
                            "epoch 1e3 0.5", "diverged", "diverged two", "hello 1 2"}) {
        BOOST_TEST_INFO(bad);
        BOOST_TEST(int(parse_channel_message(bad).kind) == int(MsgKind::malformed));
    }
}

namespace {

TrialRecord trial(std::uint64_t number, TrialState state, std::optional<double> value,
                  std::uint64_t epochs, std::vector<std::pair<std::uint64_t, double>> curve = {}) {
    TrialRecord t;
    t.number = number;
    t.state = state;
    t.value = value;
    t.epochs = epochs;
    t.params = {static_cast<double>(number % 2)};
    t.intermediate = std::move(curve);
    t.started = 100.0;
    t.finished = state == TrialState::running ? 0.0 : 110.5;
    if (state == TrialState::failed) t.reason = "crashed: signal 11 (SIGSEGV)";
    return t;
}

StudySpec spec(bool maximize, const std::string& pruner) {
    StudySpec s;
    s.objective = "val_accuracy";
    s.maximize = maximize;
    s.pruner = pruner;
    SpaceParam p;
    p.name = "opt";
    p.kind = SpaceKind::choice;
    p.high = 1;
    p.choices = {"sgd", "adam"};
    s.space = {p};
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_leaderboard_ranks_complete_then_pruned_then_failed) {
    StudyTrials st;
    st.trials = {trial(0, TrialState::complete, 0.80, 10),
                 trial(1, TrialState::pruned, std::nullopt, 3, {{1, 0.5}, {2, 0.7}, {3, 0.6}}),
                 trial(2, TrialState::failed, std::nullopt, 0),
                 trial(3, TrialState::complete, 0.90, 10),
                 trial(4, TrialState::running, std::nullopt, 0)};
    st.max_epochs = {10, 10, 10, 10, 10};
    const std::string csv = leaderboard_csv(spec(true, "median"), st);
    BOOST_TEST(csv ==
               "rank,trial,state,objective,epochs,seconds,opt,reason\n"
               "1,3,complete,0.90000000000000002,10,10.500,adam,\n"
               "2,0,complete,0.80000000000000004,10,10.500,sgd,\n"
               ",1,pruned,0.69999999999999996,3,10.500,adam,\n"
               ",2,failed,,0,10.500,sgd,crashed: signal 11 (SIGSEGV)\n"
               ",4,running,,0,0.000,sgd,\n");
    // Minimizing turns the order of the complete trials around; the pruned one's best is 0.5.
    const std::string min_csv = leaderboard_csv(spec(false, "median"), st);
    BOOST_TEST(min_csv.find("1,0,complete") != std::string::npos);
    BOOST_TEST(min_csv.find(",1,pruned,0.5,") != std::string::npos);
    // Four finished trials would have trained 40 epochs; the pruned one skipped 7.
    const SavedEpochs saved = saved_epochs(st);
    BOOST_TEST(saved.saved == 7u);
    BOOST_TEST(saved.planned == 40u);
    BOOST_TEST(leaderboard_text(spec(true, "median"), st).find("pruning saved 7 of 40 epochs") !=
               std::string::npos);
    BOOST_TEST(leaderboard_text(spec(true, "none"), st).find("pruning saved") == std::string::npos);
    BOOST_TEST(best_trial(st.trials, true).value() == 3u);
    BOOST_TEST(best_trial(st.trials, false).value() == 0u);
}

BOOST_AUTO_TEST_CASE(progress_lines_and_durations) {
    const std::vector<TrialRecord> all = {trial(0, TrialState::complete, 0.80, 10),
                                          trial(1, TrialState::complete, 0.85, 10)};
    BOOST_TEST(progress_line(spec(true, "none"), 40, all[0], all, 250.0) ==
               "trial 0/40 opt=sgd  val_accuracy 0.8000 complete 10.5 s  best 0.8500 (#1)  "
               "ETA 4m10s");
    BOOST_TEST(progress_line(spec(true, "none"), 2, all[1], all, -1) ==
               "trial 1/2 opt=adam  val_accuracy 0.8500 complete 10.5 s  best 0.8500 (#1)");
    BOOST_TEST(duration_text(14.25) == "14.2 s");
    BOOST_TEST(duration_text(59.9) == "59.9 s");
    BOOST_TEST(duration_text(250) == "4m10s");
    BOOST_TEST(duration_text(7325) == "2h02m");
}
