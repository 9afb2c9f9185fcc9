/* The C ABI side of bench/compare's "Python API vs C ABI" rows: the tiny-append scenario of
 * bench/ref_driver.py (rows of 16 float64, shape (n, 16), C order) made through libnpaa's C
 * ABI, so that a Python append can be set beside the same append from C.
 *
 *     capi_driver tiny PATH N mapped:WINDOW|default     (1 + N rows; N timed)
 *
 * Prints one JSON object like the other drivers: {"seconds": S, "ops": N, "best_op_seconds": B}.
 * S covers the N appends and the close, not the first append that creates the file; B is the
 * time per append of the fastest run of 5000. Built by bench/compare
 * against target/release/libnpaa.a. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npaa.h"

#define COLS 16
#define DISTINCT 1024
#define CHUNK 5000 /* appends per timed chunk */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fail(const char *what, npaa_status status) {
    fprintf(stderr, "capi_driver: %s: %s: %s\n", what, npaa_status_str(status),
            npaa_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 5 || strcmp(argv[1], "tiny") != 0) {
        fprintf(stderr, "usage: capi_driver tiny PATH N mapped:WINDOW|default\n");
        return 2;
    }
    const char *path = argv[2];
    long n = atol(argv[3]);
    npaa_options options = NPAA_OPTIONS_INIT;
    options.delete_if_exists = 1;
    if (strncmp(argv[4], "mapped:", 7) == 0) {
        options.mapped_window = (size_t)atol(argv[4] + 7);
    } else if (strcmp(argv[4], "default") != 0) {
        fprintf(stderr, "capi_driver: unknown mode %s\n", argv[4]);
        return 2;
    }
    /* Up to 1024 distinct rows, as the Python and Rust drivers use. */
    static double rows[DISTINCT][COLS];
    for (int i = 0; i < DISTINCT; i++)
        for (int j = 0; j < COLS; j++) rows[i][j] = (double)(i * COLS + j);
    const uint64_t shape[2] = {1, COLS};

    npaa_array *array = NULL;
    npaa_status status = npaa_open(path, &options, &array);
    if (status != NPAA_OK) return fail("npaa_open", status);
    status = npaa_append(array, rows[0], "<f8", 2, shape);
    if (status != NPAA_OK) return fail("npaa_append", status);
    /* Also timed: each run of CHUNK appends, whose fastest is what an append costs when the
     * machine lets it run, as in ref_driver.py. */
    double best = 1e9;
    double start = now();
    for (long first = 0; first < n; first += CHUNK) {
        long end = first + CHUNK < n ? first + CHUNK : n;
        double chunk_start = now();
        for (long i = first; i < end; i++) {
            status = npaa_append(array, rows[i % DISTINCT], "<f8", 2, shape);
            if (status != NPAA_OK) return fail("npaa_append", status);
        }
        double per_op = (now() - chunk_start) / (double)(end - first);
        if (per_op < best) best = per_op;
    }
    status = npaa_close(array);
    if (status != NPAA_OK) return fail("npaa_close", status);
    printf("{\"seconds\": %.9f, \"ops\": %ld, \"best_op_seconds\": %.12f}\n", now() - start,
           n, best);
    return 0;
}
