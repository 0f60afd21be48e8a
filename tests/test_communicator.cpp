// The launcher's environment read as hostile input, the device and threads each local rank
// picks, and a build without MPI refusing to run as several ranks. The ranks themselves run in
// tests/mpi_train.sh under mpirun.
#define BOOST_TEST_MODULE communicator
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <map>
#include <string>

#include "plexus/core/training/communicator.hpp"
#include "plexus/error.hpp"

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
    const LauncherEnv srun = read({{"SLURM_STEP_NUM_TASKS", "8"},
                                   {"SLURM_PROCID", "5"},
                                   {"SLURM_LOCALID", "1"}});
    BOOST_TEST(*srun.size == 8u);
    BOOST_TEST(*srun.rank == 5u);
    BOOST_TEST(*srun.local_rank == 1u);
    BOOST_TEST(!srun.local_size.has_value());
}

BOOST_AUTO_TEST_CASE(hostile_numbers_name_the_variable) {
    for (const char* bad : {"", "x", "-1", "2x", " 2", "1e3", "1048576", "99999999999999999999999"}) {
        const std::string message = error_of({{"OMPI_COMM_WORLD_SIZE", bad}});
        BOOST_TEST(message.find("OMPI_COMM_WORLD_SIZE") != std::string::npos,
                   "size '" << bad << "': " << message);
    }
    BOOST_TEST(error_of({{"PMI_SIZE", "2"}, {"PMI_RANK", "two"}}).find("PMI_RANK") !=
               std::string::npos);
    // Numbers that are whole but do not fit together.
    BOOST_TEST(!error_of({{"OMPI_COMM_WORLD_SIZE", "0"}}).empty());
    BOOST_TEST(!error_of({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_RANK", "2"}}).empty());
    BOOST_TEST(
        !error_of({{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_LOCALID", "7"}}).empty());
    BOOST_TEST(!error_of({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "3"}})
                    .empty());
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
    BOOST_TEST(threads_per_rank(2, 3) == 1u);   // oversubscribed: at least one
    BOOST_TEST(threads_per_rank(0, 2) == 1u);   // hardware_concurrency() unknown
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
