// The launcher's environment read as hostile input, the device and threads each local rank
// picks, a build without MPI refusing to run as several ranks, and the gradient buckets
// overlapped with backward against the blocking allreduce, on ranks that are threads. The MPI
// ranks themselves run in tests/mpi_train.sh under mpirun.
#define BOOST_TEST_MODULE communicator
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "plexus/core/registry/registry.hpp"
#include "plexus/core/training/communicator.hpp"
#include "plexus/core/training/gradient_buckets.hpp"
#include "plexus/error.hpp"
#include "plexus/plexus.hpp"

using namespace plexus::core;

namespace {

// read_launcher_env takes a plain function pointer: the fake environment is a global.
std::map<std::string, std::string> g_env;
const char* fake_getenv(const char* name) {
    const auto it = g_env.find(name);
    return it == g_env.end() ? nullptr : it->second.c_str();
}

LauncherEnv read(std::map<std::string, std::string> env) {
    g_env = std::move(env);
    return read_launcher_env(fake_getenv);
}

std::string error_of(std::map<std::string, std::string> env) {
    try {
        read(std::move(env));
    } catch (const plexus::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(no_launcher_is_one_process) {
    const LauncherEnv env = read({{"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "0"}});
    // sbatch sets SLURM_NTASKS for a batch script that never ran srun: not a launcher.
    BOOST_TEST(!env.size.has_value());
}

BOOST_AUTO_TEST_CASE(launchers_in_order) {
    const LauncherEnv ompi = read({{"OMPI_COMM_WORLD_SIZE", "3"},
                                   {"OMPI_COMM_WORLD_RANK", "2"},
                                   {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                   {"OMPI_COMM_WORLD_LOCAL_SIZE", "1"},
                                   {"PMI_SIZE", "9"}});
    BOOST_TEST(*ompi.size == 3u);
    BOOST_TEST(*ompi.rank == 2u);
    BOOST_TEST(*ompi.local_rank == 0u);
    BOOST_TEST(ompi.source == "OMPI_COMM_WORLD_SIZE");
    const LauncherEnv srun =
        read({{"SLURM_STEP_NUM_TASKS", "8"}, {"SLURM_PROCID", "5"}, {"SLURM_LOCALID", "1"}});
    BOOST_TEST(*srun.size == 8u);
    BOOST_TEST(*srun.rank == 5u);
    BOOST_TEST(*srun.local_rank == 1u);
    BOOST_TEST(!srun.local_size.has_value());
}

BOOST_AUTO_TEST_CASE(hostile_numbers_name_the_variable) {
    for (const char* bad :
         {"", "x", "-1", "2x", " 2", "1e3", "1048576", "99999999999999999999999"}) {
        const std::string message = error_of({{"OMPI_COMM_WORLD_SIZE", bad}});
        BOOST_TEST(message.find("OMPI_COMM_WORLD_SIZE") != std::string::npos,
                   "size '" << bad << "': " << message);
    }
    BOOST_TEST(error_of({{"PMI_SIZE", "2"}, {"PMI_RANK", "two"}}).find("PMI_RANK") !=
               std::string::npos);
    // Numbers that are whole but do not fit together.
    BOOST_TEST(!error_of({{"OMPI_COMM_WORLD_SIZE", "0"}}).empty());
    BOOST_TEST(!error_of({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_RANK", "2"}}).empty());
    BOOST_TEST(!error_of({{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_LOCALID", "7"}}).empty());
    BOOST_TEST(
        !error_of({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "3"}}).empty());
    BOOST_TEST(error_of({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_RANK", "1"}}).empty());
}

BOOST_AUTO_TEST_CASE(device_by_local_rank) {
    // Four GPUs visible: local rank 2 takes the third; ranks beyond the count share them.
    BOOST_TEST(device_for_local_rank("opencl", 2, 4) == "opencl device=2");
    BOOST_TEST(device_for_local_rank("opencl", 5, 4) == "opencl device=1");
    BOOST_TEST(device_for_local_rank("opencl precision=fp32", 1, 2) ==
               "opencl device=1 precision=fp32");
    // One device, or a device the experiment chose itself, stays as written.
    BOOST_TEST(device_for_local_rank("opencl", 3, 1) == "opencl");
    BOOST_TEST(device_for_local_rank("opencl device=0", 3, 4) == "opencl device=0");
    BOOST_TEST(device_for_local_rank("opencl:1", 3, 4) == "opencl:1");
    BOOST_TEST(device_for_local_rank("cpu", 1, 1) == "cpu");
}

BOOST_AUTO_TEST_CASE(threads_share_the_host) {
    BOOST_TEST(threads_per_rank(16, 1) == 0u);  // alone: OpenBLAS's own default
    BOOST_TEST(threads_per_rank(16, 4) == 4u);
    BOOST_TEST(threads_per_rank(2, 3) == 1u);  // oversubscribed: at least one
    BOOST_TEST(threads_per_rank(0, 2) == 1u);  // hardware_concurrency() unknown
}

BOOST_AUTO_TEST_CASE(without_mpi_several_ranks_are_refused) {
    if (built_with_mpi()) {
        BOOST_TEST_MESSAGE("built with MPI: tests/mpi_train.sh runs the ranks");
        return;
    }
    ::setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    ::setenv("OMPI_COMM_WORLD_RANK", "0", 1);
    std::string message;
    try {
        connect_communicator();
    } catch (const plexus::Error& e) {
        message = e.what();
    }
    BOOST_TEST(message.find("built without MPI") != std::string::npos, message);
    ::unsetenv("OMPI_COMM_WORLD_SIZE");
    ::unsetenv("OMPI_COMM_WORLD_RANK");
    BOOST_TEST(connect_communicator()->size() == 1u);
}

namespace {

// N ranks as N threads: a sum is done once every rank has started it (blocking or not), each
// value then being the ranks' values added in rank order, whatever the order they came in.
// Blocking sums and nonblocking ones count apart, as on MPI's two communicators.
struct World {
    std::size_t size;
    std::mutex mutex;
    std::condition_variable changed;
    struct Sum {
        std::vector<std::span<float>> parts;
        std::size_t arrived = 0;
        bool done = false;
    };
    std::map<std::pair<int, std::size_t>, Sum> sums;  // (channel, sequence number)
};

class ThreadRank final : public Communicator {
public:
    ThreadRank(World& world, std::size_t rank) : world_(world), rank_(rank) {}
    std::size_t size() const override { return world_.size; }
    std::size_t rank() const override { return rank_; }
    std::size_t local_rank() const override { return rank_; }
    std::size_t local_size() const override { return world_.size; }
    const std::string& host() const override { return host_; }
    void allreduce_sum(std::span<float> values) override { wait(arrive(0, values)); }
    void allreduce_sum(std::span<double>) override { throw plexus::Error("not in this test"); }
    void reserve_sums(std::size_t count) override { pending_.reserve(count); }
    void start_sum(std::span<float> values) override {
        pending_.push_back(arrive(1, values));
        ++started_;
    }
    bool test_sums() override {
        std::lock_guard lock(world_.mutex);
        for (const auto& key : pending_)
            if (!world_.sums[key].done) return false;
        return true;
    }
    void wait_sums() override {
        for (const auto& key : pending_) wait(key);
        pending_.clear();
    }
    void allgather(std::span<const float>, std::span<float>,
                   std::span<const std::size_t>) override {
        throw plexus::Error("not in this test");
    }
    void broadcast(std::span<float>) override { throw plexus::Error("not in this test"); }
    void broadcast(std::string&) override { throw plexus::Error("not in this test"); }
    [[noreturn]] void abort(int) override { std::abort(); }
    std::size_t started() const { return started_; }

private:
    std::pair<int, std::size_t> arrive(int channel, std::span<float> values) {
        std::lock_guard lock(world_.mutex);
        const std::pair<int, std::size_t> key{channel, next_[channel]++};
        auto& sum = world_.sums[key];
        sum.parts.resize(world_.size);
        sum.parts[rank_] = values;
        if (++sum.arrived == world_.size) {
            for (const auto& part : sum.parts)
                BOOST_REQUIRE_EQUAL(part.size(), values.size());  // the same sums everywhere
            for (std::size_t i = 0; i < values.size(); ++i) {
                float total = sum.parts[0][i];
                for (std::size_t r = 1; r < world_.size; ++r) total += sum.parts[r][i];
                for (auto& part : sum.parts) part[i] = total;
            }
            sum.done = true;
            world_.changed.notify_all();
        }
        return key;
    }
    void wait(std::pair<int, std::size_t> key) {
        std::unique_lock lock(world_.mutex);
        // A rank that never starts its share of a sum is a failure, not a hang.
        if (!world_.changed.wait_for(lock, std::chrono::seconds(30),
                                     [&] { return world_.sums[key].done; }))
            throw plexus::Error("a sum was never completed by every rank");
    }

    World& world_;
    std::size_t rank_;
    std::size_t next_[2] = {0, 0};
    std::size_t started_ = 0;
    std::vector<std::pair<int, std::size_t>> pending_;
    std::string host_ = "test";
};

enum class Reduce { none, blocking, overlapped };

struct RankResult {
    std::vector<std::vector<float>> grads;  // per parameter, after the reduction
    float loss = 0.0f;
    std::size_t started_in_backward = 0, buckets = 0;
};

// One rank's step on its `rows` rows of a batch of `batch` rows: dense 4->3, relu (no
// parameters), dense 3->2; the loss gradient is a fixed function of the rank and row.
RankResult rank_step(plexus::core::Registry& registry, Communicator& comm, Reduce reduce,
                     std::size_t rows, std::size_t batch, std::size_t bucket_bytes,
                     std::size_t first_bytes) {
    const std::size_t r = comm.rank();
    auto device = registry.create_as<plexus::Device>("cpu");
    Sequential model;
    for (const char* spec : {"dense units=3", "relu", "dense units=2"})
        model.add(registry.create_as<plexus::Layer>(spec), parse_component_spec(spec).name);
    model.build(plexus::Shape{rows, 4}, *device, 11);  // the same weights on every rank
    std::vector<float> x(rows * 4), dy(rows * 2);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = 0.1f * static_cast<float>((i * 7 + r * 5) % 13) - 0.6f;
    for (std::size_t i = 0; i < dy.size(); ++i)
        dy[i] = 0.05f * static_cast<float>((i * 3 + r) % 7) - 0.15f;
    const plexus::Tensor xt = device->alloc(plexus::Shape{rows, 4});
    device->upload(xt, x);
    model.forward(xt, plexus::Mode::train);
    const plexus::Tensor g = model.output_grad(rows);
    device->upload(g, dy);
    const float loss = 1.0f + static_cast<float>(r);
    RankResult out;
    out.loss = loss;
    GradientBuckets buckets(*device, model, comm, bucket_bytes, first_bytes);
    buckets.begin(loss, static_cast<float>(rows) / static_cast<float>(batch));
    if (reduce == Reduce::overlapped) {
        model.backward(xt, g, &buckets);
        out.loss = buckets.finish();
    } else {
        model.backward(xt, g);
        if (reduce == Reduce::blocking) out.loss = buckets.reduce_blocking();
    }
    out.started_in_backward = buckets.started_in_backward();
    out.buckets = buckets.buckets();
    for (const plexus::Parameter* p : model.parameters()) {
        out.grads.emplace_back(p->grad.numel());
        device->download(p->grad, out.grads.back());
    }
    return out;
}

// Every rank's step on threads of its own; rank r has shares[r] rows.
std::vector<RankResult> step_on_ranks(plexus::core::Registry& registry, Reduce reduce,
                                      const std::vector<std::size_t>& shares,
                                      std::size_t bucket_bytes,
                                      std::size_t first_bytes = GradientBuckets::kFirstBucketBytes) {
    World world{shares.size(), {}, {}, {}};
    std::size_t batch = 0;
    for (std::size_t s : shares) batch += s;
    std::vector<RankResult> results(shares.size());
    std::vector<std::string> errors(shares.size());
    std::vector<std::thread> threads;
    for (std::size_t r = 0; r < shares.size(); ++r)
        threads.emplace_back([&, r] {
            try {
                ThreadRank comm(world, r);
                results[r] = rank_step(registry, comm, reduce, shares[r], batch, bucket_bytes,
                                       first_bytes);
            } catch (const std::exception& e) {
                errors[r] = e.what();
            }
        });
    for (auto& t : threads) t.join();
    for (std::size_t r = 0; r < shares.size(); ++r)
        BOOST_REQUIRE_MESSAGE(errors[r].empty(), errors[r]);
    return results;
}

}  // namespace

BOOST_AUTO_TEST_CASE(buckets_overlapped_with_backward_give_the_blocking_sums) {
    plexus::core::Registry registry;
    const std::vector<std::size_t> shares{3, 2, 2};  // a batch of 7 rows: weights 3/7, 2/7, 2/7
    // 28 bytes: buckets of 7 floats over 1 (loss) + 8 (dense 3->2) + 15 (dense 4->3) = 24 in
    // reverse layer order, so the first bucket ends inside the last layer's gradients and the
    // second spans both dense layers across the relu.
    const std::size_t bucket_bytes = 7 * sizeof(float);
    const auto alone = step_on_ranks(registry, Reduce::none, shares, bucket_bytes);
    const auto blocking = step_on_ranks(registry, Reduce::blocking, shares, bucket_bytes);
    const auto overlapped = step_on_ranks(registry, Reduce::overlapped, shares, bucket_bytes);
    // The expected sums by hand: each rank's own gradient weighted by its share, in rank order.
    float loss = 0.0f;
    for (std::size_t r = 0; r < shares.size(); ++r) loss += alone[r].loss * (shares[r] / 7.0f);
    for (std::size_t r = 0; r < shares.size(); ++r) {
        BOOST_TEST(blocking[r].loss == loss);
        BOOST_TEST(overlapped[r].loss == loss);
        BOOST_TEST(overlapped[r].buckets == 4u);
        // Only the first bucket is complete when the last layer is done; the relu adds
        // nothing; the rest waits for the first layer, the last one.
        BOOST_TEST(overlapped[r].started_in_backward == 1u);
        BOOST_REQUIRE_EQUAL(overlapped[r].grads.size(), 4u);
        for (std::size_t k = 0; k < overlapped[r].grads.size(); ++k)
            for (std::size_t i = 0; i < overlapped[r].grads[k].size(); ++i) {
                float sum = alone[0].grads[k][i] * (static_cast<float>(shares[0]) / 7.0f);
                for (std::size_t q = 1; q < shares.size(); ++q)
                    sum += alone[q].grads[k][i] * (static_cast<float>(shares[q]) / 7.0f);
                BOOST_TEST(blocking[r].grads[k][i] == sum, "parameter " << k << " value " << i);
                BOOST_TEST(overlapped[r].grads[k][i] == sum, "parameter " << k << " value " << i);
            }
    }
    // The ranks' own gradients differ (else the sum would test nothing).
    BOOST_TEST(alone[0].grads[0] != alone[1].grads[0]);
}

// DDP's layout: a small first bucket, then larger ones. 3 floats, then 5: when the last layer
// is done (9 values in) the buckets [0,3) and [3,8) start; 24 values make 1 + 5 buckets.
BOOST_AUTO_TEST_CASE(a_small_first_bucket_then_larger_ones_give_the_same_sums) {
    plexus::core::Registry registry;
    const std::vector<std::size_t> shares{3, 2, 2};
    const auto blocking = step_on_ranks(registry, Reduce::blocking, shares, 5 * sizeof(float));
    const auto overlapped =
        step_on_ranks(registry, Reduce::overlapped, shares, 5 * sizeof(float), 3 * sizeof(float));
    for (std::size_t r = 0; r < shares.size(); ++r) {
        BOOST_TEST(overlapped[r].buckets == 6u);
        BOOST_TEST(overlapped[r].started_in_backward == 2u);
        BOOST_TEST(overlapped[r].loss == blocking[r].loss);
        BOOST_TEST((overlapped[r].grads == blocking[r].grads));
    }
}

BOOST_AUTO_TEST_CASE(one_bucket_per_value_and_one_for_everything) {
    plexus::core::Registry registry;
    const std::vector<std::size_t> shares{2, 2};
    const auto blocking = step_on_ranks(registry, Reduce::blocking, shares, 1 << 20);
    for (std::size_t bytes : {std::size_t{1}, std::size_t{4}, std::size_t{1} << 20}) {
        const auto overlapped = step_on_ranks(registry, Reduce::overlapped, shares, bytes);
        // Below a float the bucket is one float: 24 buckets, 9 of them (loss and the last
        // layer) complete before the first layer's backward.
        BOOST_TEST(overlapped[0].buckets == (bytes < (1u << 20) ? 24u : 1u));
        BOOST_TEST(overlapped[0].started_in_backward == (bytes < (1u << 20) ? 9u : 0u));
        BOOST_TEST(overlapped[1].grads == blocking[1].grads);
        BOOST_TEST(overlapped[1].loss == blocking[1].loss);
    }
}
