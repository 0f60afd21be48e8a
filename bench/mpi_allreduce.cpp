// plexus-mpi-allreduce COUNT...: the time of one in-place MPI_Allreduce (sum) of COUNT floats,
// the trainer's fused gradient buffer, on the ranks mpirun started. Each call starts after a
// barrier, so the figure is the collective's own cost, not a wait for a slower rank; prints the
// median of 40 calls per count (after 3 to warm up), from rank 0.
//   mpirun -np 2 build/release/bin/plexus-mpi-allreduce 235146 5824522
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

constexpr int kCalls = 40;

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0) std::printf("ranks floats bytes median_ms\n");
    for (int a = 1; a < argc; ++a) {
        const long count = std::strtol(argv[a], nullptr, 10);
        if (count <= 0 || count > (1L << 30)) {
            if (rank == 0) std::fprintf(stderr, "plexus-mpi-allreduce: bad count '%s'\n", argv[a]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        std::vector<float> buffer(static_cast<std::size_t>(count), 1.0f);
        std::vector<double> times;
        // A fixed count: every rank must make the same calls (a count each rank chose from its
        // own clock would leave one waiting in a barrier the others never reach).
        for (int i = 0; i < 3 + kCalls; ++i) {
            MPI_Barrier(MPI_COMM_WORLD);
            const double t0 = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                          MPI_COMM_WORLD);
            const double t = MPI_Wtime() - t0;
            if (i >= 3) times.push_back(t);  // after warm-up: buffers registered, pages touched
        }
        std::sort(times.begin(), times.end());
        // Every rank's own median differs a little; rank 0's is printed.
        if (rank == 0)
            std::printf("%d %ld %ld %.4f\n", size, count, count * 4L,
                        1e3 * times[times.size() / 2]);
    }
    MPI_Finalize();
    return 0;
}
