/* app.c: appends 1000 rows of 3 doubles to states.npy (np.load("states.npy").shape == (1000, 3)) */
#include <npaa.h>
#include <stdint.h>
#include <stdio.h>

static int fail(const char *call, npaa_array *array) {
    fprintf(stderr, "%s: %s\n", call, npaa_last_error_message());
    npaa_close(array); /* a no-op for NULL */
    return 1;
}

int main(void) {
    npaa_options options = NPAA_OPTIONS_INIT;
    options.delete_if_exists = 1; /* a new file on every run */
    npaa_array *array = NULL;
    if (npaa_open("states.npy", &options, &array) != NPAA_OK) return fail("npaa_open", NULL);
    for (uint64_t step = 0; step < 1000; step++) {
        const double row[3] = {(double)step, 0.5 * (double)step, -1.0};
        const uint64_t shape[2] = {1, 3}; /* one row of 3 values: grows axis 0 */
        if (npaa_append(array, row, "<f8", 2, shape) != NPAA_OK) return fail("npaa_append", array);
    }
    if (npaa_close(array) != NPAA_OK) return fail("npaa_close", NULL);
    puts("wrote states.npy");
    return 0;
}
