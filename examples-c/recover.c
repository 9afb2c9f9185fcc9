/* Repairing a file cut short, then appending to it again.
 *
 * A simulation killed mid-write, a full disk or an interrupted copy can leave a .npy file whose
 * last row is incomplete. npaa_open refuses such a file (NPAA_NEEDS_RECOVERY) rather than
 * append after garbage; npaa_recover makes it whole again in constant time.
 *
 * Usage: recover FILE.npy   (writes FILE.npy; check.py recover FILE.npy verifies it) */
#define _POSIX_C_SOURCE 200809L
#include <npaa.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROW_BYTES (3 * sizeof(double))

static int fail(const char *what, npaa_status status) {
    fprintf(stderr, "recover: %s failed: %s\n  %s\n", what, npaa_status_str(status),
            npaa_last_error_message());
    return 1;
}

/* Appends rows first..last-1, row i being [i, i + 0.5, -i], as one block. */
static npaa_status append_rows(npaa_array *array, unsigned first, unsigned last) {
    double rows[10][3];
    for (unsigned i = first; i < last; i++) {
        rows[i - first][0] = (double)i;
        rows[i - first][1] = (double)i + 0.5;
        rows[i - first][2] = -(double)i;
    }
    const uint64_t shape[2] = {last - first, 3};
    return npaa_append(array, rows, "<f8", 2, shape);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "recover.npy";
    npaa_options options = NPAA_OPTIONS_INIT;
    options.delete_if_exists = 1;
    npaa_array *array = NULL;
    npaa_status status;

    /* 1. A file of 10 rows. */
    if ((status = npaa_open(path, &options, &array)) != NPAA_OK) return fail("npaa_open", status);
    if ((status = append_rows(array, 0, 10)) != NPAA_OK) return fail("npaa_append", status);
    if ((status = npaa_close(array)) != NPAA_OK) return fail("npaa_close", status);

    /* 2. Cut it inside row 7, as a crash during a write would. */
    struct stat st;
    if (stat(path, &st) != 0) { perror("stat"); return 1; }
    const off_t header_len = st.st_size - (off_t)(10 * ROW_BYTES);
    if (truncate(path, header_len + (off_t)(7 * ROW_BYTES) + 5) != 0) { perror("truncate"); return 1; }

    /* 3. npaa sees it: opening is refused with a message that says what to do. */
    bool broken = false;
    if ((status = npaa_needs_recovery(path, &broken)) != NPAA_OK) return fail("npaa_needs_recovery", status);
    status = npaa_open(path, NULL, &array);
    if (!broken || status != NPAA_NEEDS_RECOVERY) {
        fprintf(stderr, "recover: expected a file that needs recovery\n");
        return 1;
    }
    printf("npaa_open refused it: %s\n  %s\n", npaa_status_str(status), npaa_last_error_message());

    /* 4. Repair: the incomplete row 7 is cut off; rows 0..6 remain. */
    npaa_recover_report report;
    if ((status = npaa_recover(path, 0, &report)) != NPAA_OK) return fail("npaa_recover", status);
    printf("npaa_recover: %llu rows -> %llu rows, %llu bytes cut\n",
           (unsigned long long)report.items_before, (unsigned long long)report.items_after,
           (unsigned long long)report.bytes_cut);
    if (!report.changed || report.items_before != 10 || report.items_after != 7 || report.bytes_cut != 5) {
        fprintf(stderr, "recover: unexpected report\n");
        return 1;
    }

    /* 5. Append the lost rows again. */
    if ((status = npaa_open(path, NULL, &array)) != NPAA_OK) return fail("npaa_open", status);
    if ((status = append_rows(array, 7, 10)) != NPAA_OK) {
        npaa_close(array);
        return fail("npaa_append", status);
    }
    uint64_t shape[2] = {0, 0};
    size_t ndim = 0;
    if ((status = npaa_shape(array, shape, 2, &ndim)) != NPAA_OK) {
        npaa_close(array);
        return fail("npaa_shape", status);
    }
    if ((status = npaa_close(array)) != NPAA_OK) return fail("npaa_close", status);
    printf("appended again: shape (%llu, %llu)\n", (unsigned long long)shape[0], (unsigned long long)shape[1]);
    return ndim == 2 && shape[0] == 10 && shape[1] == 3 ? 0 : 1;
}
