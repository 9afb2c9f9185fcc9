/* The MPI test driver of npaa_mpi.h (run by scripts/mpi-tests under mpirun; its files are
 * checked by NumPy in examples-c/mpi_check.py, which recomputes every value).
 *
 * Usage: mpi_steps write  FILE KIND STEPS [SCALE [PIDDIR]]   new file, STEPS steps
 *        mpi_steps reopen FILE KIND FIRST STEPS [SCALE]      existing file, steps FIRST..
 *        mpi_steps bad    FILE                               refused blocks, options, locks
 * KIND: rec     structured rows (C order, 1-D)
 *       fortran a (3, n) Fortran-order <f8 file, blocks of (3, k)
 *       cast    a (n, 2) <f8 file; rank r % 3 == 1 passes <i4 blocks, == 2 >f8 blocks
 * Rank r's block of step s has ((5 s + 3 r) % 4) * SCALE rows (SCALE defaults to 1): 0 rows
 * happen, rank 0's first block included (it still defines the file). With PIDDIR, every rank
 * writes its pid to PIDDIR/RANK before the first step (for the kill trials).
 * Env NPAA_MPI_DURABILITY=on_close|every_append|every_bytes:N sets options.durability, and
 * NPAA_MPI_HEADER=close turns rewrite_header_on_append off, for write and reopen.
 */
#include <npaa_mpi.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank_, size_;

static uint64_t rows_of(uint64_t step, int rank, uint64_t scale) {
    return ((5 * step + 3 * (uint64_t)rank) % 4) * scale;
}

/* Value i of rank r's block in step s: exactly representable, recomputed by mpi_check.py. */
static double value(uint64_t step, int rank, uint64_t i) {
    return (double)step * 1000.0 + rank * 10.0 + (double)i;
}

static void die(const char *what, npaa_status status) {
    fprintf(stderr, "mpi_steps: rank %d: %s: %s (%s)\n", rank_, what, npaa_last_error_message(),
            npaa_status_str(status));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static void put_f8(unsigned char *out, double v, int big) {
    unsigned char b[8];
    memcpy(b, &v, 8);
    for (int k = 0; k < 8; k++) out[k] = big ? b[7 - k] : b[k];
}

/* Appends step `step` of KIND `kind` for this rank. */
static npaa_status append_step(npaa_mpi_array *array, const char *kind, uint64_t step,
                               uint64_t scale, unsigned char **buf, size_t *cap) {
    uint64_t n = rows_of(step, rank_, scale);
    size_t need = (size_t)n * 24 + 1;
    if (need > *cap) {
        *buf = (unsigned char *)realloc(*buf, need);
        if (*buf == NULL) die("out of memory", NPAA_IO);
        *cap = need;
    }
    unsigned char *p = *buf;
    if (strcmp(kind, "rec") == 0) {
        /* [('step', '<u4'), ('rank', '<u2'), ('i', '<u2'), ('v', '<f8', (2,))]: 24 bytes. */
        for (uint64_t i = 0; i < n; i++) {
            uint32_t s = (uint32_t)step;
            uint16_t r = (uint16_t)rank_, ii = (uint16_t)(i % 65536);
            unsigned char *row = p + i * 24;
            memcpy(row, &s, 4);
            memcpy(row + 4, &r, 2);
            memcpy(row + 6, &ii, 2);
            put_f8(row + 8, value(step, rank_, i), 0);
            put_f8(row + 16, -((double)step + 0.5), 0);
        }
        const uint64_t shape[1] = {n};
        return npaa_mpi_append(array, p,
                               "[('step', '<u4'), ('rank', '<u2'), ('i', '<u2'), ('v', '<f8', (2,))]",
                               1, shape);
    }
    if (strcmp(kind, "fortran") == 0) {
        /* A (3, n) block in Fortran order: column j holds value + d / 8 for d = 0, 1, 2. */
        for (uint64_t j = 0; j < n; j++) {
            for (int d = 0; d < 3; d++) put_f8(p + (j * 3 + d) * 8, value(step, rank_, j) + d / 8.0, 0);
        }
        const uint64_t shape[2] = {3, n};
        return npaa_mpi_append(array, p, "<f8", 2, shape);
    }
    if (strcmp(kind, "cast") == 0) {
        /* An (n, 2) block: row i is (value, i); <f8, <i4 or >f8 by rank. */
        int how = rank_ % 3;
        for (uint64_t i = 0; i < n; i++) {
            double row[2] = {value(step, rank_, i), (double)i};
            for (int c = 0; c < 2; c++) {
                if (how == 1) {
                    int32_t v = (int32_t)row[c];
                    memcpy(p + (i * 2 + c) * 4, &v, 4);
                } else {
                    put_f8(p + (i * 2 + c) * 8, row[c], how == 2);
                }
            }
        }
        const uint64_t shape[2] = {n, 2};
        return npaa_mpi_append(array, p, how == 1 ? "<i4" : how == 2 ? ">f8" : "<f8", 2, shape);
    }
    fprintf(stderr, "mpi_steps: unknown kind %s\n", kind);
    MPI_Abort(MPI_COMM_WORLD, 2);
    return NPAA_INVALID_ARGUMENT;
}

static int run_steps(const char *path, const char *kind, uint64_t first, uint64_t steps,
                     uint64_t scale, int fresh, const char *piddir) {
    npaa_options options = NPAA_OPTIONS_INIT;
    options.delete_if_exists = fresh ? 1u : 0u;
    options.fortran_order = strcmp(kind, "fortran") == 0 ? 1u : 0u;
    const char *durability = getenv("NPAA_MPI_DURABILITY");
    if (durability != NULL && strcmp(durability, "on_close") == 0) {
        options.durability = NPAA_DURABILITY_ON_CLOSE;
    } else if (durability != NULL && strcmp(durability, "every_append") == 0) {
        options.durability = NPAA_DURABILITY_EVERY_APPEND;
    } else if (durability != NULL && strncmp(durability, "every_bytes:", 12) == 0) {
        options.durability = NPAA_DURABILITY_EVERY_BYTES;
        options.durability_bytes = strtoull(durability + 12, NULL, 10);
    }
    const char *header = getenv("NPAA_MPI_HEADER");
    if (header != NULL && strcmp(header, "close") == 0) options.rewrite_header_on_append = 0;
    npaa_mpi_array *array = NULL;
    npaa_status status = npaa_mpi_open(MPI_COMM_WORLD, path, &options, &array);
    if (status != NPAA_OK) die("npaa_mpi_open", status);
    if (piddir != NULL) {
        char name[4096];
        snprintf(name, sizeof name, "%s/%d", piddir, rank_);
        FILE *f = fopen(name, "w");
        if (f == NULL) die("writing the pid file", NPAA_IO);
        fprintf(f, "%ld\n", (long)getpid());
        fclose(f);
        MPI_Barrier(MPI_COMM_WORLD);
    }
    unsigned char *buf = NULL;
    size_t cap = 0;
    for (uint64_t step = first; step < first + steps; step++) {
        status = append_step(array, kind, step, scale, &buf, &cap);
        if (status != NPAA_OK) die("npaa_mpi_append", status);
    }
    free(buf);
    status = npaa_mpi_close(array);
    if (status != NPAA_OK) die("npaa_mpi_close", status);
    return 0;
}

/* ---- bad blocks, options, locks ---- */

static int failures;

static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "mpi_steps bad: rank %d: FAILED: %s (last error: %s)\n", rank_, what,
                npaa_last_error_message());
        failures++;
    }
}

/* Every rank got `want`, and a message that names rank `culprit`. */
static void expect_everywhere(npaa_status got, npaa_status want, int culprit, const char *what) {
    char needle[32];
    snprintf(needle, sizeof needle, "rank %d:", culprit);
    int ok = got == want && strstr(npaa_last_error_message(), needle) != NULL, all = 0;
    if (!ok) {
        fprintf(stderr, "  rank %d: %s: status %u (want %u), message: %s\n", rank_, what, got,
                want, npaa_last_error_message());
    }
    if (rank_ == 0) printf("  %s: %s\n", what, npaa_last_error_message());
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    expect(all, what);
}

/* The file's bytes (rank 0), to compare before and after a refused step. */
static unsigned char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = (unsigned char *)malloc((size_t)*len + 1);
    if (data != NULL && fread(data, 1, (size_t)*len, f) != (size_t)*len) {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

static void expect_unchanged(const char *path, const unsigned char *before, long len,
                             const char *what) {
    if (rank_ != 0) return;
    long now = 0;
    unsigned char *after = slurp(path, &now);
    expect(after != NULL && now == len && memcmp(after, before, (size_t)len) == 0, what);
    free(after);
}

static int run_bad(const char *path) {
    double rows[4][3];
    for (int i = 0; i < 4; i++) {
        for (int d = 0; d < 3; d++) rows[i][d] = rank_ * 10.0 + i + d / 8.0;
    }
    npaa_options options = NPAA_OPTIONS_INIT;
    options.delete_if_exists = 1;
    npaa_mpi_array *array = NULL;
    npaa_status status = npaa_mpi_open(MPI_COMM_WORLD, path, &options, &array);
    if (status != NPAA_OK) die("npaa_mpi_open", status);
    const int last = size_ - 1;

    /* 1. A new file: rank 0's block defines it, the last rank's disagrees: no file. */
    uint64_t good[2] = {(uint64_t)rank_ % 3, 3}, wide[2] = {1, 4};
    status = npaa_mpi_append(array, rows, "<f8", 2, rank_ == last ? wide : good);
    expect_everywhere(status, NPAA_SHAPE_MISMATCH, last, "first step, other shape on the last rank");
    expect(access(path, F_OK) != 0 && errno == ENOENT, "a refused first step creates no file");

    /* 2. A good step; then refused steps leave the bytes as they are. */
    uint64_t mine[2] = {(uint64_t)rank_ + 1, 3};
    status = npaa_mpi_append(array, rows, "<f8", 2, mine);
    expect(status == NPAA_OK, "good step");
    long len = 0;
    unsigned char *before = rank_ == 0 ? slurp(path, &len) : NULL;
    expect(rank_ != 0 || before != NULL, "reading the file");

    status = npaa_mpi_append(array, rows, "<f8", 2, rank_ == 2 % size_ ? wide : mine);
    expect_everywhere(status, NPAA_SHAPE_MISMATCH, 2 % size_, "other shape on rank 2");
    expect_unchanged(path, before, len, "a refused shape leaves the file unchanged");

    double complex_rows[4][3][2] = {{{0}}};
    int c = 1 % size_;
    status = npaa_mpi_append(array, rank_ == c ? (const void *)complex_rows : (const void *)rows,
                             rank_ == c ? "<c16" : "<f8", 2, mine);
    expect_everywhere(status, NPAA_CAST, c, "<c16 into <f8 on rank 1 (same_kind)");
    expect_unchanged(path, before, len, "a refused cast leaves the file unchanged");

    status = npaa_mpi_append(array, rows, rank_ == last ? "<q9" : "<f8", 2, mine);
    expect_everywhere(status, NPAA_INVALID_DTYPE, last, "bad descr on the last rank");
    expect_unchanged(path, before, len, "a bad descr leaves the file unchanged");

    status = npaa_mpi_append(array, rank_ == 0 ? NULL : (const void *)rows, "<f8", 2, mine);
    expect_everywhere(status, NPAA_NULL_ARGUMENT, 0, "NULL data on rank 0");
    expect_unchanged(path, before, len, "NULL data leaves the file unchanged");

    /* 3. While the session holds the lock, no other writer gets in. */
    npaa_array *other = NULL;
    if (rank_ == 1 % size_) {
        status = npaa_open(path, NULL, &other);
        expect(status == NPAA_LOCKED, "npaa_open while a session is open: NPAA_LOCKED");
    }
    npaa_mpi_array *second = NULL;
    status = npaa_mpi_open(MPI_COMM_WORLD, path, NULL, &second);
    expect_everywhere(status, NPAA_LOCKED, 0, "a second npaa_mpi_open: NPAA_LOCKED everywhere");
    expect(second == NULL, "a failed open leaves *out alone");

    /* 4. One more good step, then close: the file holds the two good steps. */
    status = npaa_mpi_append(array, rows, "<f8", 2, mine);
    expect(status == NPAA_OK, "good step after refused ones");
    status = npaa_mpi_close(array);
    expect(status == NPAA_OK, "close");
    free(before);

    /* 5. Options that cannot work across ranks are refused on every rank. */
    npaa_options mapped = NPAA_OPTIONS_INIT, buffered = NPAA_OPTIONS_INIT;
    mapped.mapped_window = 1 << 20;
    buffered.buffer_capacity = 4096;
    /* Every rank refuses them; the other ranks check their options before rank 0 opens the
     * file, so the message is rank 1's (the lowest rank that failed). */
    const int first_peer = size_ > 1 ? 1 : 0;
    status = npaa_mpi_open(MPI_COMM_WORLD, path, &mapped, &array);
    expect_everywhere(status, NPAA_INVALID_ARGUMENT, first_peer, "mapped_window refused");
    expect(strstr(npaa_last_error_message(), "mapped_window") != NULL, "message names mapped_window");
    status = npaa_mpi_open(MPI_COMM_WORLD, path, &buffered, &array);
    expect_everywhere(status, NPAA_INVALID_ARGUMENT, first_peer, "buffer_capacity refused");

    /* 6. Options refused on one rank only, with delete_if_exists: the file is not touched. */
    long kept_len = 0;
    unsigned char *kept = rank_ == 0 ? slurp(path, &kept_len) : NULL;
    npaa_options deleting = NPAA_OPTIONS_INIT;
    deleting.delete_if_exists = 1;
    if (rank_ == 2 % size_) deleting.buffer_capacity = 4096;
    status = npaa_mpi_open(MPI_COMM_WORLD, path, &deleting, &array);
    expect_everywhere(status, NPAA_INVALID_ARGUMENT, 2 % size_, "buffer_capacity on rank 2 only");
    expect(rank_ != 0 || kept != NULL, "reading the file");
    if (kept != NULL) expect_unchanged(path, kept, kept_len, "a refused open deletes nothing");
    free(kept);

    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank_ == 0) printf("mpi_steps bad: %d failed checks\n", all);
    return all == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    int rc = 2;
    if (argc >= 5 && strcmp(argv[1], "write") == 0) {
        uint64_t scale = argc > 5 ? strtoull(argv[5], NULL, 10) : 1;
        rc = run_steps(argv[2], argv[3], 0, strtoull(argv[4], NULL, 10), scale, 1,
                       argc > 6 ? argv[6] : NULL);
    } else if (argc >= 6 && strcmp(argv[1], "reopen") == 0) {
        uint64_t scale = argc > 6 ? strtoull(argv[6], NULL, 10) : 1;
        rc = run_steps(argv[2], argv[3], strtoull(argv[4], NULL, 10),
                       strtoull(argv[5], NULL, 10), scale, 0, NULL);
    } else if (argc == 3 && strcmp(argv[1], "bad") == 0) {
        rc = run_bad(argv[2]);
    } else if (rank_ == 0) {
        fprintf(stderr, "usage: see the comment at the top of examples-c/mpi_steps.c\n");
    }
    MPI_Finalize();
    return rc;
}
