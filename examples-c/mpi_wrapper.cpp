// The C++ RAII form of npaa_mpi.h (npaa_mpi.hpp), exercised under mpirun by scripts/mpi-tests:
// vectors of varying length per rank, a vector of the wrong size on one rank (every rank
// catches npaa::Error naming it, and the file keeps its steps), and the destructor closing.
//
// Usage: mpirun -np 4 mpi_wrapper FILE.npy     (then: mpi_check.py wrapper FILE.npy 4)
#include <npaa_mpi.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, failures = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (argc != 2) {
        if (rank == 0) std::fprintf(stderr, "usage: mpi_wrapper FILE.npy\n");
        MPI_Finalize();
        return 2;
    }
    {
        npaa::mpi::Array array(MPI_COMM_WORLD, argv[1], npaa::Options().delete_if_exists(true));
        for (int step = 0; step < 10; step++) {
            // Rank r appends (step + r) % 3 rows of 2 int64: (step, rank).
            std::uint64_t rows = static_cast<std::uint64_t>((step + rank) % 3);
            std::vector<std::int64_t> data;
            for (std::uint64_t i = 0; i < rows; i++) {
                data.push_back(step);
                data.push_back(rank);
            }
            array.append(data, {rows, 2});
        }
        try {
            std::vector<std::int64_t> data(rank == 1 ? 3 : 2, 7);
            array.append(data, {1, 2});
            std::fprintf(stderr, "rank %d: a wrong-size vector was accepted\n", rank);
            failures++;
        } catch (const npaa::Error &e) {
            if (e.status() != NPAA_INVALID_ARGUMENT ||
                std::string(e.what()).find("rank 1: block of shape (1, 2) and item size 8 needs 16 bytes, got 24") == std::string::npos) {
                std::fprintf(stderr, "rank %d: unexpected error %s\n", rank, e.what());
                failures++;
            }
            if (rank == 0) std::printf("wrong-size vector on rank 1: %s\n", e.what());
        }
        // The destructor closes the file on every rank.
    }
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    return all == 0 ? 0 : 1;
}
