/*
 * npaa_mpi.h - collective appends over MPI-IO: the ranks of an MPI job grow one .npy file
 * together, step after step, and NumPy loads it as it is.
 *
 * Header-only: this code is compiled against your own MPI (OpenMPI, MPICH, Cray MPICH, ...),
 * so libnpaa itself never links MPI. Build with your MPI compiler wrapper and link libnpaa:
 *
 *     mpicc prog.c $(pkg-config --cflags --libs npaa-mpi)
 *     CMake: find_package(npaa REQUIRED COMPONENTS mpi), target npaa::mpi
 *
 * Minimal program (examples-c/mpi_simulation.c):
 *
 *     npaa_mpi_array *array = NULL;
 *     if (npaa_mpi_open(MPI_COMM_WORLD, "states.npy", NULL, &array) != NPAA_OK) { ...error... }
 *     for (int step = 0; step < 100; step++) {
 *         double rows[2][3] = ...;                 // this rank's 2 rows of 3 values
 *         const uint64_t shape[2] = {2, 3};
 *         if (npaa_mpi_append(array, rows, "<f8", 2, shape) != NPAA_OK) { ...error... }
 *     }
 *     if (npaa_mpi_close(array) != NPAA_OK) { ...error... }
 *     // Python: np.load("states.npy").shape == (100 * 2 * nranks, 3)
 *
 * Semantics:
 * - Every function is collective over the communicator given to npaa_mpi_open(): every rank
 *   calls it, in the same order. Every rank gets the same status, and
 *   npaa_last_error_message() gives every rank the message of the rank that failed first
 *   ("npaa_mpi_append: rank 2: ...").
 * - Each npaa_mpi_append() is one step: every rank passes its own block (growth lengths may
 *   differ, 0 is fine); the blocks are laid out in rank order. The file is byte-identical to
 *   np.save of the concatenation of all ranks' blocks, step after step.
 * - A file that does not exist is created by the first step from rank 0's block (its dtype,
 *   its dimensions but the growth axis, and rank 0's options.fortran_order); the other ranks'
 *   blocks are checked against it like any later block.
 * - A block refused on any rank (shape, dtype, casting) is an error on every rank, and
 *   nothing of that step is written.
 * - Rank 0 opens the file with npaa_open()'s checks and errors and holds its lock until
 *   npaa_mpi_close(). Rank 0's options apply (mapped_window and buffer_capacity must be 0).
 *   The data goes out with MPI_File_write_at_all at offsets from the byte counts of the lower
 *   ranks; rank 0 rewrites the header once per step, after every rank's data is written.
 *   options.durability maps to MPI_File_sync at the points npaa_options describes.
 * - Crashes: a rank killed at any moment leaves a file NumPy loads as the whole steps
 *   completed. Bytes of an unfinished step (possibly with holes, when higher ranks wrote
 *   before lower ones) lie under the step's reservation mark (24 bytes ending the file,
 *   written by rank 0 before any rank writes the step; no file system feature needed):
 *   npaa recover, npaa_recover() and the next npaa_mpi_open() cut them, never counting a
 *   hole as items.
 *
 * Thread-safety: as MPI collectives on one communicator: one thread at a time per handle.
 */
#ifndef NPAA_MPI_H
#define NPAA_MPI_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npaa.h"
#include "npaa_collective.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A .npy file open for collective appends on a communicator (one per rank). */
typedef struct npaa_mpi_array {
    /** A duplicate of the communicator given to npaa_mpi_open() (owned). */
    MPI_Comm comm;
    /** The file, opened by the first step that writes data (MPI_FILE_NULL before). */
    MPI_File file;
    /** This rank's side of the session in libnpaa (owned). */
    npaa_collective *collective;
    int rank;
    int size;
    /** The file's path (owned copy). */
    char *path;
    /** Per step: status, bytes and items of every rank (3 * size values). */
    uint64_t *counts;
} npaa_mpi_array;

/* Internal helpers (npaa_mpi__*): not part of the API. */

/** Broadcasts rank `from`'s status and last error message; every rank adopts them. */
static inline npaa_status npaa_mpi__adopt(MPI_Comm comm, int rank, int from, npaa_status status,
                                          char **message) {
    const char *mine = rank == from ? npaa_last_error_message() : "";
    unsigned long long head[2] = {(unsigned long long)status, (unsigned long long)strlen(mine)};
    MPI_Bcast(head, 2, MPI_UNSIGNED_LONG_LONG, from, comm);
    char *text = (char *)malloc((size_t)head[1] + 1);
    if (text == NULL) {
        /* Out of memory: the status alone still reaches every rank. */
        char dummy[1];
        MPI_Bcast(dummy, 0, MPI_CHAR, from, comm);
        *message = NULL;
        return (npaa_status)head[0];
    }
    if (rank == from) memcpy(text, mine, (size_t)head[1]);
    MPI_Bcast(text, (int)head[1], MPI_CHAR, from, comm);
    text[head[1]] = '\0';
    *message = text;
    return (npaa_status)head[0];
}

/**
 * Every rank learns whether any rank failed (`mine` is this rank's status): NPAA_OK, or the
 * status of the lowest failing rank with its message in `*message` (malloc'd; hand it to
 * npaa_mpi__fail() after any cleanup). Acts as a barrier.
 */
static inline npaa_status npaa_mpi__share(MPI_Comm comm, int rank, int size, npaa_status mine,
                                          char **message) {
    int failing = mine != NPAA_OK ? rank : size, first = size;
    MPI_Allreduce(&failing, &first, 1, MPI_INT, MPI_MIN, comm);
    *message = NULL;
    if (first == size) return NPAA_OK;
    return npaa_mpi__adopt(comm, rank, first, mine, message);
}

/** Rank 0's status `mine` reaches every rank (an MPI_Bcast: others wait for rank 0). */
static inline npaa_status npaa_mpi__from_root(MPI_Comm comm, int rank, npaa_status mine,
                                              char **message) {
    unsigned int status = mine;
    MPI_Bcast(&status, 1, MPI_UNSIGNED, 0, comm);
    *message = NULL;
    if (status == NPAA_OK) return NPAA_OK;
    return npaa_mpi__adopt(comm, rank, 0, (npaa_status)status, message);
}

/** Makes `message` (freed here) this rank's last error message; returns `status`. */
static inline npaa_status npaa_mpi__fail(npaa_status status, char *message) {
    npaa_status result = npaa_collective_fail(status, message);
    free(message);
    return result;
}

/** NPAA_OK, or NPAA_IO with a message naming the failed MPI call, for an MPI return code. */
static inline npaa_status npaa_mpi__check(int rc, const char *func, int rank, const char *call) {
    if (rc == MPI_SUCCESS) return NPAA_OK;
    char text[MPI_MAX_ERROR_STRING + 256], reason[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, reason, &len) != MPI_SUCCESS) len = 0;
    reason[len] = '\0';
    snprintf(text, sizeof text, "%s: rank %d: %s failed: %s", func, rank, call, reason);
    return npaa_collective_fail(NPAA_IO, text);
}

/** Rank 0's layout (file dtype, shape, data end, options) reaches every rank. */
static inline npaa_status npaa_mpi__share_layout(npaa_mpi_array *a, char **message) {
    const uint8_t *bytes = NULL;
    size_t len = 0;
    npaa_status status = NPAA_OK;
    if (a->rank == 0) status = npaa_collective_layout(a->collective, &bytes, &len);
    status = npaa_mpi__from_root(a->comm, a->rank, status, message);
    if (status != NPAA_OK) return status;
    unsigned long long n = len;
    MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, a->comm);
    uint8_t *copy = a->rank == 0 ? (uint8_t *)bytes : (uint8_t *)malloc((size_t)n + 1);
    if (copy == NULL) {
        status = npaa_collective_fail(NPAA_IO, "npaa_mpi: out of memory for the file's layout");
    }
    int have = copy != NULL, all = 0;
    MPI_Allreduce(&have, &all, 1, MPI_INT, MPI_MIN, a->comm);
    if (all) {
        MPI_Bcast(copy, (int)n, MPI_BYTE, 0, a->comm);
        if (a->rank != 0) status = npaa_collective_set_layout(a->collective, copy, (size_t)n);
    }
    if (a->rank != 0) free(copy);
    if (!all && status == NPAA_OK) {
        status = npaa_collective_fail(NPAA_IO, "npaa_mpi: another rank ran out of memory");
    }
    return npaa_mpi__share(a->comm, a->rank, a->size, status, message);
}

/** Frees everything the handle owns except what MPI must close collectively. */
static inline void npaa_mpi__free(npaa_mpi_array *a) {
    free(a->counts);
    free(a->path);
    MPI_Comm_free(&a->comm);
    free(a);
}

/**
 * Opens the .npy file at `path` for collective appends by the ranks of `comm`; collective.
 *
 * Rank 0 opens (or, at the first step, creates) the file with npaa_open()'s checks and
 * errors (NPAA_LOCKED, NPAA_NEEDS_RECOVERY, NPAA_NOT_APPENDABLE, NPAA_FORMAT, ...), holding
 * its lock until npaa_mpi_close(); a killed session's unfinished step is cut here. `options`
 * may be NULL; rank 0's apply; mapped_window and buffer_capacity must be 0
 * (NPAA_INVALID_ARGUMENT). Every rank's options are checked before rank 0 touches the file,
 * so a session refused on any rank leaves the file as it was (delete_if_exists included).
 * Every rank gets the same status; on NPAA_OK, `*out` receives a handle to release with
 * npaa_mpi_close(), on failure it is left unchanged.
 */
static inline npaa_status npaa_mpi_open(MPI_Comm comm, const char *path,
                                        const npaa_options *options, npaa_mpi_array **out) {
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    npaa_mpi_array *a = (npaa_mpi_array *)calloc(1, sizeof *a);
    npaa_status status = NPAA_OK;
    char *message = NULL;
    if (out == NULL) {
        status = npaa_collective_fail(NPAA_NULL_ARGUMENT,
                                      "npaa_mpi_open: `out` is NULL; pass a pointer to an "
                                      "npaa_mpi_array pointer");
    } else if (a == NULL || path == NULL ||
               (a->counts = (uint64_t *)calloc((size_t)size * 3, sizeof(uint64_t))) == NULL ||
               (a->path = (char *)malloc(strlen(path) + 1)) == NULL) {
        status = path == NULL ? npaa_collective_fail(NPAA_NULL_ARGUMENT,
                                                     "npaa_mpi_open: `path` is NULL; pass "
                                                     "the path of a .npy file")
                              : npaa_collective_fail(NPAA_IO, "npaa_mpi_open: out of memory");
    } else {
        strcpy(a->path, path);
        /* The other ranks only check their options: they go first, so that rank 0 does not
         * open (and, with delete_if_exists, delete) the file for a session that fails. */
        if (rank != 0) status = npaa_collective_open(path, options, (uint32_t)rank, &a->collective);
    }
    status = npaa_mpi__share(comm, rank, size, status, &message);
    if (status == NPAA_OK) {
        if (rank == 0) status = npaa_collective_open(path, options, 0, &a->collective);
        status = npaa_mpi__from_root(comm, rank, status, &message);
    }
    if (status != NPAA_OK) {
        if (a != NULL) {
            (void)npaa_collective_close(a->collective);
            free(a->counts);
            free(a->path);
            free(a);
        }
        return npaa_mpi__fail(status, message);
    }
    a->rank = rank;
    a->size = size;
    a->file = MPI_FILE_NULL;
    MPI_Comm_dup(comm, &a->comm);
    status = npaa_mpi__share_layout(a, &message);
    if (status != NPAA_OK) {
        (void)npaa_collective_close(a->collective);
        npaa_mpi__free(a);
        return npaa_mpi__fail(status, message);
    }
    *out = a;
    return NPAA_OK;
}

/**
 * npaa_mpi_append_sized(), with `data_len` SIZE_MAX for npaa_mpi_append() (the block's size by
 * contract).
 */
static inline npaa_status npaa_mpi__append(npaa_mpi_array *a, const void *data,
                                           size_t data_len, const char *descr, size_t ndim,
                                           const uint64_t *shape) {
    if (a == NULL) {
        return npaa_collective_fail(NPAA_NULL_ARGUMENT,
                                    "npaa_mpi_append: `array` is NULL; pass the handle "
                                    "npaa_mpi_open() returned");
    }
    char *message = NULL;
    npaa_status status;
    if (!npaa_collective_is_defined(a->collective)) {
        /* A new file: rank 0's block defines it. */
        status = a->rank != 0 ? NPAA_OK
                              : npaa_collective_define(a->collective, descr, ndim, shape);
        status = npaa_mpi__from_root(a->comm, a->rank, status, &message);
        if (status == NPAA_OK) status = npaa_mpi__share_layout(a, &message);
        if (status != NPAA_OK) return npaa_mpi__fail(status, message);
    }
    const void *bytes_out = NULL;
    uint64_t mine[3] = {0, 0, 0};
    mine[0] = npaa_collective_prepare(a->collective, data, data_len, descr, ndim, shape,
                                      &bytes_out, &mine[1], &mine[2]);
    MPI_Allgather(mine, 3, MPI_UINT64_T, a->counts, 3, MPI_UINT64_T, a->comm);
    uint64_t before = 0, total = 0, rows = 0, largest = 0;
    for (int r = 0; r < a->size; r++) {
        const uint64_t *c = a->counts + 3 * r;
        if (c[0] != NPAA_OK) {
            status = npaa_mpi__adopt(a->comm, a->rank, r, (npaa_status)c[0], &message);
            return npaa_mpi__fail(status, message);
        }
        if (r < a->rank) before += c[1];
        total += c[1];
        rows += c[2];
        if (c[1] > largest) largest = c[1];
    }
    uint64_t start = npaa_collective_data_end(a->collective);
    /* Unless the step ends within the extent already marked, rank 0 creates the file if
     * needed and marks past the step's end; nobody writes before. Every rank knows the same. */
    status = NPAA_OK;
    if (npaa_collective_step_needs_mark(a->collective, total)) {
        status = a->rank == 0 ? npaa_collective_begin_step(a->collective, total) : NPAA_OK;
        status = npaa_mpi__from_root(a->comm, a->rank, status, &message);
        if (status != NPAA_OK) return npaa_mpi__fail(status, message);
        if (a->rank != 0) (void)npaa_collective_begin_step(a->collective, total);
    }
    uint32_t due = npaa_collective_sync_due(a->collective, total);
    if (total > 0) {
        if (a->file == MPI_FILE_NULL) {
            status = npaa_mpi__check(MPI_File_open(a->comm, a->path, MPI_MODE_WRONLY,
                                                   MPI_INFO_NULL, &a->file),
                                     "npaa_mpi_append", a->rank, "MPI_File_open");
            status = npaa_mpi__share(a->comm, a->rank, a->size, status, &message);
            if (status != NPAA_OK) {
                a->file = MPI_FILE_NULL;
                return npaa_mpi__fail(status, message);
            }
        }
        /* Counts are ints: blocks over 1 GiB go out in rounds every rank takes part in. */
        const uint64_t chunk = (uint64_t)1 << 30;
        const uint64_t rounds = (largest + chunk - 1) / chunk;
        const char *p = (const char *)bytes_out;
        for (uint64_t i = 0; i < rounds; i++) {
            uint64_t at = i * chunk;
            uint64_t n = at < mine[1] ? mine[1] - at : 0;
            if (n > chunk) n = chunk;
            int rc = MPI_File_write_at_all(a->file, (MPI_Offset)(start + before + at),
                                           n > 0 ? p + at : p, (int)n, MPI_BYTE,
                                           MPI_STATUS_IGNORE);
            if (status == NPAA_OK) {
                status = npaa_mpi__check(rc, "npaa_mpi_append", a->rank,
                                         "MPI_File_write_at_all");
            }
        }
        if (due && status == NPAA_OK) {
            status = npaa_mpi__check(MPI_File_sync(a->file), "npaa_mpi_append", a->rank,
                                     "MPI_File_sync");
        }
        /* Every rank's data is written before rank 0 counts it. */
        status = npaa_mpi__share(a->comm, a->rank, a->size, status, &message);
        if (status != NPAA_OK) return npaa_mpi__fail(status, message);
    }
    status = a->rank == 0 ? npaa_collective_commit(a->collective, rows, total, due) : NPAA_OK;
    status = npaa_mpi__from_root(a->comm, a->rank, status, &message);
    if (status != NPAA_OK) return npaa_mpi__fail(status, message);
    if (a->rank != 0) status = npaa_collective_commit(a->collective, rows, total, due);
    return status;
}

/**
 * Appends one step; collective. This rank's block has dtype `descr`, shape `shape[0..ndim]`
 * (in the file's order; only the growth axis may differ from the file's, 0 is fine) and its
 * elements at `data`, as for npaa_append(). The blocks of all ranks land in rank order.
 *
 * A block refused on any rank fails the step on every rank with that rank's status and
 * message, and nothing of the step is written. NPAA_IO for a failed MPI-IO call or header
 * update: the step is not counted (its bytes are cut by the next open or npaa_recover()).
 */
static inline npaa_status npaa_mpi_append(npaa_mpi_array *array, const void *data,
                                          const char *descr, size_t ndim,
                                          const uint64_t *shape) {
    return npaa_mpi__append(array, data, SIZE_MAX, descr, ndim, shape);
}

/**
 * npaa_mpi_append() with the length of `data` in bytes, checked by libnpaa against the block
 * (as npaa_append_sized() does): a wrong length is this rank's refused block
 * (NPAA_INVALID_ARGUMENT), failing the step on every rank.
 */
static inline npaa_status npaa_mpi_append_sized(npaa_mpi_array *array, const void *data,
                                                size_t data_len, const char *descr,
                                                size_t ndim, const uint64_t *shape) {
    return npaa_mpi__append(array, data, data_len, descr, ndim, shape);
}

/**
 * Ends the session; collective. Syncs the data if options.durability asks, closes the MPI
 * file, then rank 0 writes the final header, removes the reservation mark and releases the
 * lock. The handle is freed even on error. `array` NULL on every rank: no-op.
 */
static inline npaa_status npaa_mpi_close(npaa_mpi_array *a) {
    if (a == NULL) return NPAA_OK;
    char *message = NULL, *root_message = NULL;
    npaa_status status = NPAA_OK;
    uint32_t due = npaa_collective_sync_due_at_close(a->collective);
    if (a->file != MPI_FILE_NULL) {
        if (due) {
            status = npaa_mpi__check(MPI_File_sync(a->file), "npaa_mpi_close", a->rank,
                                     "MPI_File_sync");
        }
        npaa_status closed = npaa_mpi__check(MPI_File_close(&a->file), "npaa_mpi_close",
                                             a->rank, "MPI_File_close");
        if (status == NPAA_OK) status = closed;
    }
    status = npaa_mpi__share(a->comm, a->rank, a->size, status, &message);
    npaa_status last = npaa_collective_close(a->collective);
    last = npaa_mpi__from_root(a->comm, a->rank, a->rank == 0 ? last : NPAA_OK, &root_message);
    npaa_mpi__free(a);
    if (status != NPAA_OK) {
        free(root_message);
        return npaa_mpi__fail(status, message);
    }
    return last == NPAA_OK ? NPAA_OK : npaa_mpi__fail(last, root_message);
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NPAA_MPI_H */
