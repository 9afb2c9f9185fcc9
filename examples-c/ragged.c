/* Ragged records: feature dumps whose records have different lengths (fairseq's HuBERT
 * features: one utterance of 50..1500 frames of 768 floats each), written as a data file and
 * an index of record ends that NumPy both load, committed together.
 *
 * Usage: ragged FILE.npy RECORDS   (writes FILE.npy and FILE.idx.npy; check.py ragged
 * FILE.npy RECORDS verifies them). Record r has r % 7 rows (0 included) of 4 floats; row j
 * of record r holds [r, j, r + j, -1]. */
#include <npaa.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, npaa_status status) {
    fprintf(stderr, "ragged: %s failed: %s\n  %s\n", what, npaa_status_str(status),
            npaa_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "feats.npy";
    const unsigned records = argc > 2 ? (unsigned)atoi(argv[2]) : 100;
    npaa_options options = NPAA_OPTIONS_INIT;
    options.delete_if_exists = 1;
    npaa_ragged *feats = NULL;
    npaa_status status;
    if ((status = npaa_ragged_open(path, &options, &feats)) != NPAA_OK)
        return fail("npaa_ragged_open", status);
    float rows[6][4];
    for (unsigned r = 0; r < records; r++) {
        const unsigned n = r % 7;
        for (unsigned j = 0; j < n; j++) {
            rows[j][0] = (float)r;
            rows[j][1] = (float)j;
            rows[j][2] = (float)(r + j);
            rows[j][3] = -1.0f;
        }
        const uint64_t shape[2] = {n, 4};
        if ((status = npaa_ragged_append(feats, rows, "<f4", 2, shape)) != NPAA_OK) {
            npaa_ragged_close(feats);
            return fail("npaa_ragged_append", status);
        }
    }
    /* A record that does not fit is refused, and leaves the pair as it was. */
    const uint64_t bad[2] = {1, 5};
    status = npaa_ragged_append(feats, rows, "<f4", 2, bad);
    if (status != NPAA_SHAPE_MISMATCH) {
        npaa_ragged_close(feats);
        fprintf(stderr, "ragged: expected NPAA_SHAPE_MISMATCH, got %s\n", npaa_status_str(status));
        return 1;
    }
    /* A second writer is refused while the pair is open. */
    npaa_ragged *second = NULL;
    status = npaa_ragged_open(path, NULL, &second);
    if (status != NPAA_LOCKED || second != NULL) {
        npaa_ragged_close(feats);
        fprintf(stderr, "ragged: expected NPAA_LOCKED, got %s\n", npaa_status_str(status));
        return 1;
    }
    uint64_t count = 0;
    if ((status = npaa_ragged_len(feats, &count)) != NPAA_OK) {
        npaa_ragged_close(feats);
        return fail("npaa_ragged_len", status);
    }
    if ((status = npaa_ragged_close(feats)) != NPAA_OK) return fail("npaa_ragged_close", status);
    uint64_t recovered = 0;
    if ((status = npaa_ragged_recover(path, &recovered)) != NPAA_OK)
        return fail("npaa_ragged_recover", status);
    if (count != records || recovered != records) {
        fprintf(stderr, "ragged: %llu records appended, %llu after recovery, expected %u\n",
                (unsigned long long)count, (unsigned long long)recovered, records);
        return 1;
    }
    if (npaa_ragged_close(NULL) != NPAA_OK) return 1;
    printf("ragged: %u records in %s\n", records, path);
    return 0;
}
