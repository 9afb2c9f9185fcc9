/* A small MPI simulation that records its state with npaa_mpi.h: every rank owns a few
 * particles, moves them each step, and appends one structured row per particle; the ranks'
 * rows of a step land together, in rank order, in one .npy file that NumPy loads as it is.
 * Rank r owns r % 3 + 1 particles, so the blocks of a step differ in length.
 *
 * Usage: mpirun -np 4 mpi_simulation FILE.npy [STEPS]
 * Then in Python: a = np.load("FILE.npy"); a["step"], a["rank"], a["pos"], ...
 * examples-c/mpi_check.py verifies every row (the test command runs it).
 */
#include <npaa_mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row: 8 + 4 + 4 + 3 * 8 = 40 bytes, no padding (packed by hand below). */
static const char *const ROW_DESCR =
    "[('step', '<u8'), ('rank', '<i4'), ('particle', '<u4'), ('pos', '<f8', (3,))]";
enum { ROW_SIZE = 40, MAX_PARTICLES = 3 };

static int fail(const char *what, npaa_status status) {
    fprintf(stderr, "mpi_simulation: %s: %s (%s)\n", what, npaa_last_error_message(),
            npaa_status_str(status));
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (argc < 2) {
        if (rank == 0) fprintf(stderr, "usage: mpi_simulation FILE.npy [STEPS]\n");
        MPI_Finalize();
        return 2;
    }
    const uint64_t steps = argc > 2 ? strtoull(argv[2], NULL, 10) : 100;
    const uint32_t particles = (uint32_t)(rank % 3) + 1;

    npaa_options options = NPAA_OPTIONS_INIT;
    options.delete_if_exists = 1;
    npaa_mpi_array *array = NULL;
    npaa_status status = npaa_mpi_open(MPI_COMM_WORLD, argv[1], &options, &array);
    if (status != NPAA_OK) return fail("opening", status);

    double pos[MAX_PARTICLES][3];
    for (uint32_t p = 0; p < particles; p++) {
        for (int d = 0; d < 3; d++) pos[p][d] = rank * 100.0 + p * 10.0 + d;
    }
    unsigned char rows[MAX_PARTICLES][ROW_SIZE];
    for (uint64_t step = 0; step < steps; step++) {
        for (uint32_t p = 0; p < particles; p++) {
            /* The toy model: every particle drifts by a quarter per step along each axis. */
            for (int d = 0; d < 3; d++) pos[p][d] += 0.25 * (d + 1);
            int32_t r = rank;
            memcpy(rows[p] + 0, &step, 8);
            memcpy(rows[p] + 8, &r, 4);
            memcpy(rows[p] + 12, &p, 4);
            memcpy(rows[p] + 16, pos[p], 24);
        }
        const uint64_t shape[1] = {particles};
        status = npaa_mpi_append(array, rows, ROW_DESCR, 1, shape);
        if (status != NPAA_OK) return fail("appending", status);
    }
    status = npaa_mpi_close(array);
    if (status != NPAA_OK) return fail("closing", status);
    MPI_Finalize();
    return 0;
}
