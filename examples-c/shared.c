/* Many processes, one file: WORKERS child processes each open FILE.npy in shared mode and
 * append BLOCKS blocks of rows {worker, block, row in block, rows in block} (uint64), as
 * independent jobs of a batch system would. Each append waits for its turn and lands whole.
 * Then the parent checks that a shared open with a short timeout gives up with NPAA_LOCKED
 * while an exclusive writer holds the file.
 * Usage: shared FILE.npy WORKERS BLOCKS   (check.py shared FILE WORKERS BLOCKS checks it) */
#define _POSIX_C_SOURCE 200809L
#include <npaa.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what, npaa_status status) {
    fprintf(stderr, "%s failed: %s\n  %s\n", what, npaa_status_str(status), npaa_last_error_message());
    return 1;
}

static int worker(const char *path, uint64_t id, uint64_t blocks) {
    npaa_options options = NPAA_OPTIONS_INIT;
    options.shared = 1; /* others append at the same time; wait for the turn (the default) */
    npaa_array *array = NULL;
    npaa_status status = npaa_open(path, &options, &array);
    if (status != NPAA_OK) return fail("npaa_open", status);
    for (uint64_t b = 0; b < blocks; b++) {
        uint64_t n = 1 + (id + b) % 5, rows[5][4];
        for (uint64_t i = 0; i < n; i++) {
            rows[i][0] = id;
            rows[i][1] = b;
            rows[i][2] = i;
            rows[i][3] = n;
        }
        const uint64_t shape[2] = {n, 4};
        status = npaa_append(array, rows, "<u8", 2, shape);
        if (status != NPAA_OK) {
            npaa_close(array);
            return fail("npaa_append", status);
        }
    }
    status = npaa_close(array);
    return status == NPAA_OK ? 0 : fail("npaa_close", status);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: shared FILE.npy WORKERS BLOCKS\n");
        return 2;
    }
    const char *path = argv[1];
    uint64_t workers = strtoull(argv[2], NULL, 10), blocks = strtoull(argv[3], NULL, 10);
    unlink(path); /* a new file on every run: shared mode never deletes one itself */
    for (uint64_t w = 0; w < workers; w++) {
        pid_t pid = fork();
        if (pid < 0) return perror("fork"), 1;
        if (pid == 0) _exit(worker(path, w, blocks));
    }
    int failed = 0;
    for (uint64_t w = 0; w < workers; w++) {
        int st = 0;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) failed = 1;
    }
    if (failed) return 1;

    /* An exclusive writer holds the file: a shared open that waits at most 100 ms gives up. */
    npaa_options exclusive = NPAA_OPTIONS_INIT;
    npaa_array *holder = NULL;
    npaa_status status = npaa_open(path, &exclusive, &holder);
    if (status != NPAA_OK) return fail("npaa_open (exclusive)", status);
    npaa_options impatient = NPAA_OPTIONS_INIT;
    impatient.shared = 1;
    impatient.lock_wait = NPAA_LOCK_WAIT_TIMEOUT;
    impatient.lock_timeout_ms = 100;
    npaa_array *late = NULL;
    status = npaa_open(path, &impatient, &late);
    npaa_close(holder);
    if (status != NPAA_LOCKED || late != NULL) {
        fprintf(stderr, "expected NPAA_LOCKED after the timeout, got %s\n", npaa_status_str(status));
        npaa_close(late);
        return 1;
    }
    /* Refused combination: shared mode needs the header rewritten on every append. */
    npaa_options bad = NPAA_OPTIONS_INIT;
    bad.shared = 1;
    bad.rewrite_header_on_append = 0;
    status = npaa_open(path, &bad, &late);
    if (status != NPAA_INVALID_ARGUMENT) {
        fprintf(stderr, "expected NPAA_INVALID_ARGUMENT, got %s\n", npaa_status_str(status));
        npaa_close(late);
        return 1;
    }
    printf("%llu workers appended %llu blocks each to %s\n", (unsigned long long)workers,
           (unsigned long long)blocks, path);
    return 0;
}
