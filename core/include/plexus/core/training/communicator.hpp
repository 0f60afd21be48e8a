// The processes one training run spans: MPI ranks under mpirun or srun, or this process
// alone. Data-parallel training (architecture §5b) needs a handful of collectives; MPI does
// them (Nothing home-made where an existing engine does the job), and a run started without
// a launcher gets the one-rank group, whose collectives do nothing. MPI is compiled in only
// when the build found it (PLEXUS_HAVE_MPI); the launcher is recognised from its environment
// either way, so a build without MPI refuses to run as N copies that would each write the
// same run folder.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "plexus/collective.hpp"

#pragma GCC visibility push(default)

namespace plexus::core {

class Communicator : public Collective {
public:
    /// Ranks on this host and this rank's place among them (devices and threads per rank).
    virtual std::size_t local_rank() const = 0;
    virtual std::size_t local_size() const = 0;
    /// This host's name, for messages that say which rank failed where.
    virtual const std::string& host() const = 0;
    /// Sums doubles elementwise across ranks, in place (loss sums, counts).
    virtual void allreduce_sum(std::span<double> values) = 0;
    using Collective::allreduce_sum;
    /// Every rank's `mine` one after the other in rank order, into `all` on every rank;
    /// `counts[r]` is rank r's size (all ranks pass the same counts, each its own `mine`).
    virtual void allgather(std::span<const float> mine, std::span<float> all,
                           std::span<const std::size_t> counts) = 0;
    /// Nonblocking sums of floats across ranks, in place (the gradient buckets overlapped
    /// with backward): start_sum starts one and returns; `values` must stay untouched until
    /// wait_sums() returns. They run on a communicator of their own (MPI_Comm_dup), so the
    /// blocking collectives a layer makes inside backward (batchnorm sync=true) cannot be
    /// matched against them whatever their order. Every rank starts the same sums in the same
    /// order. reserve_sums(n): room for n pending sums, so a step allocates nothing.
    virtual void reserve_sums(std::size_t count) = 0;
    virtual void start_sum(std::span<float> values) = 0;
    /// Lets the started sums progress (MPI progresses only inside its calls); true when all
    /// are done.
    virtual bool test_sums() = 0;
    /// Returns once every started sum is done.
    virtual void wait_sums() = 0;
    /// Replaces `values` on every rank with rank 0's. Requires the same size on every rank.
    virtual void broadcast(std::span<float> values) = 0;
    /// Replaces `text` on every rank with rank 0's.
    virtual void broadcast(std::string& text) = 0;
    /// Ends every rank of the run with `code` (MPI_Abort); alone: std::exit(code).
    [[noreturn]] virtual void abort(int code) = 0;
    /// "rank 1 of 3 on node7", the prefix of a rank's error line.
    std::string where() const;
};

/// What the launcher's environment says about the run (OpenMPI's OMPI_COMM_WORLD_*, PMI's
/// PMI_SIZE/PMI_RANK, Slurm's srun SLURM_STEP_NUM_TASKS/SLURM_PROCID/SLURM_LOCALID; not
/// SLURM_NTASKS, which a batch script without srun has too). Absent fields are unset.
struct LauncherEnv {
    std::optional<std::size_t> size, rank, local_rank, local_size;
    std::string source;  // the variable `size` came from, for messages
};
/// Reads the launcher's variables from `getenv`. Throws plexus::Error naming the variable
/// when one holds anything but a whole number below 2^20 (a rank at or beyond the size).
LauncherEnv read_launcher_env(const char* (*getenv)(const char*));

/// The run's communicator: MPI when the launcher started more than one rank, this process
/// alone otherwise. Throws plexus::Error when the launcher started several ranks but this
/// build has no MPI (one line, saying to rebuild with libopenmpi-dev), or MPI fails to start.
std::unique_ptr<Communicator> connect_communicator();

/// Makes every later support::write_file_atomic of this process (run folder, callbacks'
/// files, model files, caches) write nothing: the ranks other than rank 0 call it, so only
/// rank 0 writes, whatever a callback, in tree or not, was told to write.
void discard_file_writes();

/// Whether this build can run on several ranks.
bool built_with_mpi();

/// The MPI group's library, beside libplexus_core.so (opened only for several ranks), and its
/// entry point: `Communicator* plexus_connect_mpi(const LauncherEnv*)`, a group the caller
/// owns, or it throws plexus::Error.
inline constexpr const char* kMpiLibrary = "libplexus_mpi.so";
inline constexpr const char* kConnectMpiSymbol = "plexus_connect_mpi";

/// The train.device spec rank `local_rank` uses: a device component named without choosing
/// a device of its own (`opencl`, no device=) gets `device=<local_rank mod visible>` when
/// more than one device of that component is visible, so one node with 4 GPUs runs
/// `mpirun -np 4`; anything else is kept as written.
std::string device_for_local_rank(const std::string& spec, std::size_t local_rank,
                                  std::size_t visible);

/// OpenBLAS threads for one of `local_size` ranks on a host of `cores` cores: an equal share,
/// at least one; 0 (keep OpenBLAS's default) when the rank is alone on its host.
std::size_t threads_per_rank(std::size_t cores, std::size_t local_size);

}  // namespace plexus::core

#pragma GCC visibility pop
