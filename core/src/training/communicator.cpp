// The launcher's environment, the one-rank group, and the choices per local rank (device,
// threads). The MPI group is communicator_mpi.cpp, in libplexus_mpi.so beside this library,
// built only when the build found MPI and opened only for a run of several ranks.
#include "plexus/core/training/communicator.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "plexus/error.hpp"

namespace plexus::core {
namespace {

constexpr std::size_t kMaxRanks = std::size_t{1} << 20;

std::optional<std::size_t> read_count(const char* (*getenv)(const char*), const char* name) {
    const char* text = getenv(name);
    if (!text) return std::nullopt;
    const std::string_view s(text);
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value >= kMaxRanks)
        throw Error(std::string("the launcher's ") + name + "='" + std::string(s.substr(0, 40)) +
                    "' is not a whole number below " + std::to_string(kMaxRanks) +
                    " (start plexus through mpirun or srun, or unset it)");
    return value;
}

std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "unknown host";
    return name;
}

/// This process alone: every collective leaves its values as they are.
class SingleProcess final : public Communicator {
public:
    std::size_t size() const override { return 1; }
    std::size_t rank() const override { return 0; }
    std::size_t local_rank() const override { return 0; }
    std::size_t local_size() const override { return 1; }
    const std::string& host() const override { return host_; }
    void allreduce_sum(std::span<float>) override {}
    void allreduce_sum(std::span<double>) override {}
    void reserve_sums(std::size_t) override {}
    void start_sum(std::span<float>) override {}
    bool test_sums() override { return true; }
    void wait_sums() override {}
    void allgather(std::span<const float> mine, std::span<float> all,
                   std::span<const std::size_t>) override {
        std::copy(mine.begin(), mine.end(), all.begin());
    }
    void broadcast(std::span<float>) override {}
    void broadcast(std::string&) override {}
    [[noreturn]] void abort(int code) override { std::exit(code); }

private:
    std::string host_ = host_name();
};

}  // namespace

#ifdef PLEXUS_HAVE_MPI
namespace {

/// libplexus_mpi.so, beside this library (dladdr finds where that is), opened with its MPI
/// libraries global: Open MPI's own components, which it opens, need libmpi's symbols.
std::unique_ptr<Communicator> connect_mpi(const LauncherEnv& env) {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&read_launcher_env), &info) == 0 || !info.dli_fname)
        throw Error("cannot find libplexus_core.so's folder to open " + std::string(kMpiLibrary));
    const std::filesystem::path lib =
        (std::filesystem::path(info.dli_fname).parent_path() / kMpiLibrary).lexically_normal();
    void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL);  // never closed
    if (!handle) {
        const char* why = dlerror();
        // dlerror's message starts with the file's path.
        throw Error("started as " + std::to_string(*env.size) + " ranks (" + env.source + ") but " +
                    std::string(kMpiLibrary) + " cannot be loaded (" +
                    (why ? std::string(why) : lib.string()) +
                    "): install Open MPI's runtime (apt install openmpi-bin) or reinstall plexus");
    }
    using ConnectFn = Communicator* (*)(const LauncherEnv*);
    const auto connect = reinterpret_cast<ConnectFn>(dlsym(handle, kConnectMpiSymbol));
    if (!connect) throw Error(lib.string() + ": no " + kConnectMpiSymbol + "; reinstall plexus");
    return std::unique_ptr<Communicator>(connect(&env));
}

}  // namespace

bool built_with_mpi() { return true; }
#else
bool built_with_mpi() { return false; }
#endif

std::string Communicator::where() const {
    return "rank " + std::to_string(rank()) + " of " + std::to_string(size()) + " on " + host();
}

LauncherEnv read_launcher_env(const char* (*getenv)(const char*)) {
    struct Names {
        const char *size, *rank, *local_rank, *local_size;
    };
    // OpenMPI's mpirun, then PMI (MPICH's hydra, srun --mpi=pmi2), then Slurm's srun itself.
    static constexpr Names kLaunchers[] = {
        {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
         "OMPI_COMM_WORLD_LOCAL_SIZE"},
        {"PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
        {"SLURM_STEP_NUM_TASKS", "SLURM_PROCID", "SLURM_LOCALID", nullptr},
    };
    LauncherEnv env;
    for (const Names& n : kLaunchers) {
        env.size = read_count(getenv, n.size);
        if (!env.size) continue;
        env.source = n.size;
        env.rank = read_count(getenv, n.rank);
        env.local_rank = read_count(getenv, n.local_rank);
        if (n.local_size) env.local_size = read_count(getenv, n.local_size);
        if (*env.size == 0 || (env.rank && *env.rank >= *env.size) ||
            (env.local_rank && *env.local_rank >= *env.size) ||
            (env.local_size && (*env.local_size == 0 || *env.local_size > *env.size)))
            throw Error(std::string("the launcher's ") + n.size + "=" +
                        std::to_string(*env.size) +
                        " does not fit its rank variables (start plexus through mpirun or srun)");
        return env;
    }
    return env;
}

std::unique_ptr<Communicator> connect_communicator() {
    const LauncherEnv env = read_launcher_env([](const char* name) -> const char* {
        return std::getenv(name);
    });
    if (!env.size || *env.size <= 1) return std::make_unique<SingleProcess>();
#ifdef PLEXUS_HAVE_MPI
    return connect_mpi(env);
#else
    throw Error("started as " + std::to_string(*env.size) + " ranks (" + env.source +
                ") but this plexus was built without MPI: install libopenmpi-dev and rebuild, "
                "or run one process");
#endif
}

std::string device_for_local_rank(const std::string& spec, std::size_t local_rank,
                                  std::size_t visible) {
    if (visible <= 1) return spec;
    // "opencl" or "opencl key=value ...", never one that chose its device itself.
    const std::size_t name_end = spec.find_first_of(" \t");
    if (spec.find("device=") != std::string::npos || spec.find(':') != std::string::npos)
        return spec;
    const std::string name = spec.substr(0, name_end);
    const std::string rest = name_end == std::string::npos ? "" : spec.substr(name_end);
    return name + " device=" + std::to_string(local_rank % visible) + rest;
}

std::size_t threads_per_rank(std::size_t cores, std::size_t local_size) {
    if (local_size <= 1) return 0;
    return std::max<std::size_t>(1, cores / local_size);
}

}  // namespace plexus::core
