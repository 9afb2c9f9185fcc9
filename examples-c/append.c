/* The minimal npaa program: append one row of 3 doubles per step to a .npy file.
 * Usage: append FILE.npy [STEPS]   (then: np.load("FILE.npy", mmap_mode="r").shape == (STEPS, 3)) */
#include <npaa.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, npaa_status status) {
    fprintf(stderr, "%s failed: %s\n  %s\n", what, npaa_status_str(status), npaa_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "states.npy";
    uint64_t steps = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000;
    npaa_options options = NPAA_OPTIONS_INIT;
    options.delete_if_exists = 1; /* start a new file on every run */

    npaa_array *array = NULL;
    npaa_status status = npaa_open(path, &options, &array);
    if (status != NPAA_OK) return fail("npaa_open", status);
    for (uint64_t step = 0; step < steps; step++) {
        const double row[3] = {(double)step, 0.5 * (double)step, -1.0};
        const uint64_t shape[2] = {1, 3}; /* one row of 3 values */
        status = npaa_append(array, row, "<f8", 2, shape);
        if (status != NPAA_OK) {
            npaa_close(array);
            return fail("npaa_append", status);
        }
    }
    status = npaa_close(array); /* flushes and releases the file */
    if (status != NPAA_OK) return fail("npaa_close", status);
    printf("appended %llu rows to %s\n", (unsigned long long)steps, path);
    return 0;
}
