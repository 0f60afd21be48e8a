// The MPI group (OpenMPI, MPICH): libplexus_mpi.so, built only when the build found MPI and
// opened by communicator.cpp only when a launcher started several ranks, so a plain `plexus`
// command neither loads MPI's libraries (7 ms of every process start, libmpi and the Open MPI
// libraries it pulls in) nor starts MPI.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "plexus/core/training/communicator.hpp"
#include "plexus/error.hpp"

namespace plexus::core {
namespace {

/// MPI counts are ints: longer spans go in pieces.
template <class T, class Op>
void in_chunks(std::span<T> values, Op op) {
    for (std::size_t at = 0; at < values.size();) {
        const std::size_t n = std::min<std::size_t>(values.size() - at, INT_MAX);
        op(values.data() + at, static_cast<int>(n));
        at += n;
    }
}

class MpiGroup final : public Communicator {
public:
    MpiGroup() {
        int provided = 0;
        // Only the training thread calls MPI (the batch loader's thread never does).
        if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            throw Error("MPI_Init_thread failed: cannot start the MPI ranks");
        int rank = 0, size = 0, local_rank = 0, local_size = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        // The ranks sharing this host's memory: their index picks the device and threads.
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local_);
        MPI_Comm_rank(local_, &local_rank);
        MPI_Comm_size(local_, &local_size);
        // The nonblocking gradient sums' own channel: a blocking collective on the world
        // inside backward (batchnorm sync=true) can never be matched against one of them.
        MPI_Comm_dup(MPI_COMM_WORLD, &sums_);
        rank_ = static_cast<std::size_t>(rank);
        size_ = static_cast<std::size_t>(size);
        local_rank_ = static_cast<std::size_t>(local_rank);
        local_size_ = static_cast<std::size_t>(local_size);
        char name[MPI_MAX_PROCESSOR_NAME] = {};
        int length = 0;
        MPI_Get_processor_name(name, &length);
        host_.assign(name, static_cast<std::size_t>(std::max(0, length)));
    }
    ~MpiGroup() override {
        MPI_Comm_free(&sums_);
        MPI_Comm_free(&local_);
        MPI_Finalize();
    }
    MpiGroup(const MpiGroup&) = delete;
    MpiGroup& operator=(const MpiGroup&) = delete;

    std::size_t size() const override { return size_; }
    std::size_t rank() const override { return rank_; }
    std::size_t local_rank() const override { return local_rank_; }
    std::size_t local_size() const override { return local_size_; }
    const std::string& host() const override { return host_; }

    void allreduce_sum(std::span<float> values) override {
        in_chunks(values, [](float* p, int n) {
            MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        });
    }
    void allreduce_sum(std::span<double> values) override {
        in_chunks(values, [](double* p, int n) {
            MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        });
    }
    void reserve_sums(std::size_t count) override { requests_.reserve(count); }
    void start_sum(std::span<float> values) override {
        in_chunks(values, [this](float* p, int n) {
            requests_.push_back(MPI_REQUEST_NULL);
            MPI_Iallreduce(MPI_IN_PLACE, p, n, MPI_FLOAT, MPI_SUM, sums_, &requests_.back());
        });
    }
    bool test_sums() override {
        if (requests_.empty()) return true;
        int done = 0;
        MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done,
                    MPI_STATUSES_IGNORE);
        if (done) requests_.clear();
        return done != 0;
    }
    void wait_sums() override {
        MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
        requests_.clear();
    }
    void allgather(std::span<const float> mine, std::span<float> all,
                   std::span<const std::size_t> counts) override {
        // Small (a batch's outputs and targets): int counts are checked, not chunked.
        counts_.resize(counts.size());
        offsets_.resize(counts.size());
        std::size_t at = 0;
        for (std::size_t r = 0; r < counts.size(); ++r) {
            if (counts[r] > INT_MAX || at > INT_MAX)
                throw Error("allgather: more than 2^31 values");
            counts_[r] = static_cast<int>(counts[r]);
            offsets_[r] = static_cast<int>(at);
            at += counts[r];
        }
        MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_FLOAT, all.data(),
                       counts_.data(), offsets_.data(), MPI_FLOAT, MPI_COMM_WORLD);
    }
    void broadcast(std::span<float> values) override {
        in_chunks(values, [](float* p, int n) { MPI_Bcast(p, n, MPI_FLOAT, 0, MPI_COMM_WORLD); });
    }
    void broadcast(std::string& text) override {
        unsigned long long length = text.size();
        MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
        text.resize(static_cast<std::size_t>(length));
        in_chunks(std::span<char>(text.data(), text.size()),
                  [](char* p, int n) { MPI_Bcast(p, n, MPI_CHAR, 0, MPI_COMM_WORLD); });
    }
    [[noreturn]] void abort(int code) override {
        MPI_Abort(MPI_COMM_WORLD, code);
        std::_Exit(code);  // MPI_Abort does not return; if it ever did, the rank still ends
    }

private:
    MPI_Comm local_ = MPI_COMM_NULL, sums_ = MPI_COMM_NULL;
    std::vector<MPI_Request> requests_;  // the started sums; reserve_sums sizes it
    std::size_t rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
    std::string host_;
    std::vector<int> counts_, offsets_;  // allgather's, kept between steps
};

}  // namespace

std::unique_ptr<Communicator> connect_mpi(const LauncherEnv& env) {
    auto group = std::make_unique<MpiGroup>();
    // srun without MPI's PMI plugin starts N processes that each find a world of one: N runs
    // writing N folders, which is what the launcher check exists to prevent.
    if (env.size && group->size() != *env.size) {
        const std::string message =
            "the launcher started " + std::to_string(*env.size) + " ranks (" + env.source +
            ") but MPI sees " + std::to_string(group->size()) +
            ": start plexus through this MPI's mpirun, or give srun its PMI (srun --mpi=pmix)";
        if (group->size() == 1) throw Error(message);
        std::fprintf(stderr, "plexus: error: %s: %s\n", group->where().c_str(), message.c_str());
        group->abort(1);
    }
    return group;
}

}  // namespace plexus::core

/// The module's one entry point (kConnectMpiSymbol): a new group the caller owns, or throws
/// plexus::Error.
extern "C" __attribute__((visibility("default"))) plexus::core::Communicator* plexus_connect_mpi(
    const plexus::core::LauncherEnv* env) {
    return plexus::core::connect_mpi(*env).release();
}
