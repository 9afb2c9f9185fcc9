/* The MPI benchmark of npaa_mpi.h (driven by bench/mpi-compare; figures in bench/RESULTS.md).
 *
 * Usage: mpirun -np 4 mpi_bench large DIR STEPS REPS   16 MiB per rank per step: npaa vs
 *                                                      plain MPI_File_write_at_all
 *        mpirun -np 4 mpi_bench small DIR STEPS REPS   one 1x16 <f8 row per rank per step:
 *                                                      npaa vs the raw MPI floor (prefix sum +
 *                                                      collective write + header write) vs
 *                                                      parallel HDF5 (H5Dset_extent +
 *                                                      collective H5Dwrite), if built with
 *                                                      -DNPAA_BENCH_HDF5
 * The contenders run in turn, REPS times each, alternating, on fresh files in DIR; the best
 * run of each is reported (rank 0 prints one line per contender, then the ratios).
 */
#include <npaa_mpi.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef NPAA_BENCH_HDF5
#include <hdf5.h>
#endif

static int rank_, size_;

static void die(const char *what) {
    fprintf(stderr, "mpi_bench: rank %d: %s: %s\n", rank_, what, npaa_last_error_message());
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Removes `path` and flushes dirty pages, so that no run pays for the previous one's
 * write-back. */
static void fresh(const char *path) {
    if (rank_ == 0) {
        unlink(path);
        sync();
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

/* Opens a new file for the plain MPI-IO contenders. */
static MPI_File create(const char *path) {
    MPI_File fh;
    if (MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_WRONLY | MPI_MODE_CREATE, MPI_INFO_NULL,
                      &fh) != MPI_SUCCESS) {
        die("MPI_File_open");
    }
    return fh;
}

/* Seconds for STEPS npaa_mpi_append() calls of `rows` x `cols` <f8 per rank, open to close. */
static double run_npaa(const char *path, const double *data, uint64_t rows, uint64_t cols,
                       long steps) {
    fresh(path);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    npaa_mpi_array *array = NULL;
    if (npaa_mpi_open(MPI_COMM_WORLD, path, NULL, &array) != NPAA_OK) die("npaa_mpi_open");
    const uint64_t shape[2] = {rows, cols};
    for (long s = 0; s < steps; s++) {
        if (npaa_mpi_append(array, data, "<f8", 2, shape) != NPAA_OK) die("npaa_mpi_append");
    }
    if (npaa_mpi_close(array) != NPAA_OK) die("npaa_mpi_close");
    MPI_Barrier(MPI_COMM_WORLD);
    return MPI_Wtime() - t0;
}

/* Plain MPI-IO: the same bytes at the same offsets, one MPI_File_write_at_all per step. */
static double run_plain(const char *path, const double *data, uint64_t bytes, long steps) {
    fresh(path);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    MPI_File fh = create(path);
    for (long s = 0; s < steps; s++) {
        MPI_Offset at = 128 + (MPI_Offset)((uint64_t)s * size_ + rank_) * bytes;
        if (MPI_File_write_at_all(fh, at, data, (int)bytes, MPI_BYTE, MPI_STATUS_IGNORE) !=
            MPI_SUCCESS) {
            die("MPI_File_write_at_all");
        }
    }
    MPI_File_close(&fh);
    MPI_Barrier(MPI_COMM_WORLD);
    return MPI_Wtime() - t0;
}

/* The raw floor of a collective append step: the byte counts of every rank (one
 * MPI_Allgather: the prefix sum and the step's total), the collective write, the barrier that
 * orders the header after the data, and rank 0's header write (a pwrite of 128 bytes). */
static double run_floor(const char *path, const double *data, uint64_t bytes, long steps) {
    fresh(path);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    MPI_File fh = create(path);
    int fd = rank_ == 0 ? open(path, O_WRONLY) : -1;
    char header[128];
    memset(header, ' ', sizeof header);
    uint64_t end = 128;
    for (long s = 0; s < steps; s++) {
        unsigned long long mine = bytes, counts[256], before = 0, total = 0;
        MPI_Allgather(&mine, 1, MPI_UNSIGNED_LONG_LONG, counts, 1, MPI_UNSIGNED_LONG_LONG,
                      MPI_COMM_WORLD);
        for (int r = 0; r < size_; r++) {
            if (r < rank_) before += counts[r];
            total += counts[r];
        }
        if (MPI_File_write_at_all(fh, (MPI_Offset)(end + before), data, (int)bytes, MPI_BYTE,
                                  MPI_STATUS_IGNORE) != MPI_SUCCESS) {
            die("MPI_File_write_at_all");
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank_ == 0 && pwrite(fd, header, sizeof header, 0) != (ssize_t)sizeof header) {
            die("pwrite");
        }
        end += total;
    }
    if (fd >= 0) close(fd);
    MPI_File_close(&fh);
    MPI_Barrier(MPI_COMM_WORLD);
    return MPI_Wtime() - t0;
}

#ifdef NPAA_BENCH_HDF5
/* Parallel HDF5: an extendible (n, 16) dataset, chunked; per step H5Dset_extent by all,
 * then each rank writes its row with a collective H5Dwrite. */
static double run_hdf5(const char *path, const double *row, long steps) {
    fresh(path);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    hsize_t dims[2] = {0, 16}, maxdims[2] = {H5S_UNLIMITED, 16}, chunk[2] = {1024, 16};
    hid_t space = H5Screate_simple(2, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    hid_t dset = H5Dcreate2(file, "x", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    hsize_t one[2] = {1, 16};
    hid_t mem = H5Screate_simple(2, one, NULL);
    for (long s = 0; s < steps; s++) {
        hsize_t grown[2] = {(hsize_t)(s + 1) * (hsize_t)size_, 16};
        if (H5Dset_extent(dset, grown) < 0) die("H5Dset_extent");
        hid_t fs = H5Dget_space(dset);
        hsize_t start[2] = {(hsize_t)s * (hsize_t)size_ + (hsize_t)rank_, 0};
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, one, NULL);
        if (H5Dwrite(dset, H5T_NATIVE_DOUBLE, mem, fs, dxpl, row) < 0) die("H5Dwrite");
        H5Sclose(fs);
    }
    H5Sclose(mem);
    H5Pclose(dxpl);
    H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(file);
    H5Pclose(fapl);
    MPI_Barrier(MPI_COMM_WORLD);
    return MPI_Wtime() - t0;
}
#endif

/* Keeps the best of the runs, and prints every run's time on rank 0. */
static double best(const char *name, double a, double b) {
    if (rank_ == 0) fprintf(stderr, "    %s run: %.3f s\n", name, b);
    return a < b ? a : b;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (size_ > 256) {
        if (rank_ == 0) fprintf(stderr, "mpi_bench: at most 256 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (argc != 5) {
        if (rank_ == 0) fprintf(stderr, "usage: mpi_bench large|small DIR STEPS REPS\n");
        MPI_Finalize();
        return 2;
    }
    const char *mode = argv[1], *dir = argv[2];
    long steps = atol(argv[3]), reps = atol(argv[4]);
    char npaa_path[4096], plain_path[4096], other_path[4096];
    snprintf(npaa_path, sizeof npaa_path, "%s/npaa.npy", dir);
    snprintf(plain_path, sizeof plain_path, "%s/plain.bin", dir);
    snprintf(other_path, sizeof other_path, "%s/hdf5.h5", dir);
    if (strcmp(mode, "large") == 0) {
        const uint64_t cols = 1024, rows = 2048, bytes = rows * cols * 8; /* 16 MiB */
        double *data = (double *)malloc(bytes);
        if (data == NULL) die("malloc");
        for (uint64_t i = 0; i < rows * cols; i++) data[i] = (double)(rank_ * 7 + i % 1000);
        double t_npaa = 1e30, t_plain = 1e30;
        for (long r = 0; r < reps; r++) {
            /* Alternating which goes first, so that neither always follows the other. */
            if (r % 2 == 0) t_plain = best("plain", t_plain, run_plain(plain_path, data, bytes, steps));
            t_npaa = best("npaa", t_npaa, run_npaa(npaa_path, data, rows, cols, steps));
            if (r % 2 == 1) t_plain = best("plain", t_plain, run_plain(plain_path, data, bytes, steps));
        }
        fresh(npaa_path);
        fresh(plain_path);
        double mib = (double)bytes * size_ * steps / (1 << 20);
        if (rank_ == 0) {
            printf("large: %d ranks x 16 MiB x %ld steps (%.0f MiB), best of %ld\n", size_,
                   steps, mib, reps);
            printf("  plain MPI_File_write_at_all  %8.0f MiB/s\n", mib / t_plain);
            printf("  npaa_mpi_append              %8.0f MiB/s\n", mib / t_npaa);
            printf("  ratio npaa / plain           %8.2fx\n", t_plain / t_npaa);
        }
        free(data);
    } else if (strcmp(mode, "small") == 0) {
        double row[16];
        for (int i = 0; i < 16; i++) row[i] = rank_ + i / 16.0;
        double t_npaa = 1e30, t_floor = 1e30, t_hdf5 = 1e30;
        for (long r = 0; r < reps; r++) {
            t_floor = best("floor", t_floor, run_floor(plain_path, row, sizeof row, steps));
            t_npaa = best("npaa", t_npaa, run_npaa(npaa_path, row, 1, 16, steps));
#ifdef NPAA_BENCH_HDF5
            t_hdf5 = best("hdf5", t_hdf5, run_hdf5(other_path, row, steps));
#endif
        }
        fresh(npaa_path);
        fresh(plain_path);
        fresh(other_path);
        if (rank_ == 0) {
            printf("small: %d ranks x one 1x16 <f8 row x %ld steps, best of %ld\n", size_, steps,
                   reps);
            printf("  raw MPI floor                %8.0f steps/s\n", steps / t_floor);
            printf("  npaa_mpi_append              %8.0f steps/s\n", steps / t_npaa);
#ifdef NPAA_BENCH_HDF5
            printf("  parallel HDF5                %8.0f steps/s\n", steps / t_hdf5);
            printf("  ratio npaa / HDF5            %8.2fx\n", t_hdf5 / t_npaa);
#else
            (void)t_hdf5;
            printf("  parallel HDF5                (not built: no libhdf5-openmpi-dev)\n");
#endif
            printf("  ratio npaa / floor           %8.2fx\n", t_floor / t_npaa);
        }
    }
    MPI_Finalize();
    return 0;
}
