/* Every way of calling libnpaa wrong that we could think of: each must return its status code
 * and a message that says what to fix, leave out-parameters untouched, and never crash.
 * Run by scripts/c-tests, also under AddressSanitizer and UndefinedBehaviorSanitizer.
 *
 * Usage: bad_calls DIR                  (DIR: an empty scratch directory)
 *        bad_calls DIR --leak-a-handle  (never closes a handle: LeakSanitizer must report it) */
#define _POSIX_C_SOURCE 200809L
#include <npaa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int checks = 0;
static int failures = 0;
static char dir[4096];

/* Checks a status and the thread's message: non-empty on failure, empty on success. */
#define EXPECT(call, want) expect_status(#call, (call), (want), __LINE__)
static void expect_status(const char *text, npaa_status got, npaa_status want, int line) {
    const char *message = npaa_last_error_message();
    checks++;
    if (message == NULL) {
        fprintf(stderr, "FAIL line %d: %s: npaa_last_error_message() is NULL\n", line, text);
        failures++;
    } else if (got != want) {
        fprintf(stderr, "FAIL line %d: %s\n  returned %s\n  expected %s\n  message: %s\n", line, text,
                npaa_status_str(got), npaa_status_str(want), message);
        failures++;
    } else if (want != NPAA_OK && message[0] == '\0') {
        fprintf(stderr, "FAIL line %d: %s: %s with an empty message\n", line, text, npaa_status_str(got));
        failures++;
    } else if (want == NPAA_OK && message[0] != '\0') {
        fprintf(stderr, "FAIL line %d: %s succeeded but left a message: %s\n", line, text, message);
        failures++;
    } else if (want != NPAA_OK) {
        printf("ok %-28.28s %s\n   %s\n", npaa_status_str(got), text, message);
    }
}

#define CHECK(cond) check_true((cond), #cond, __LINE__)
static void check_true(int ok, const char *text, int line) {
    checks++;
    if (!ok) {
        fprintf(stderr, "FAIL line %d: %s\n", line, text);
        failures++;
    }
}

/* The last message mentions `needle` (so that it tells the user what to do). */
#define MESSAGE_HAS(needle) check_true(strstr(npaa_last_error_message(), (needle)) != NULL, \
                                       "message contains \"" needle "\"", __LINE__)

static const char *in_dir(const char *name) {
    static char paths[8][4352];
    static int next = 0;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const void *bytes, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

/* Writes a .npy file with a version 1.0 header aligned to 16 bytes and no spare room, as cnpy
 * and NumPy < 1.14 write it. */
static void write_legacy_npy(const char *path, const char *dict, const void *data, size_t data_len) {
    unsigned char buf[512];
    size_t text = strlen(dict);
    size_t total = 10 + text + 1;
    size_t pad = (16 - total % 16) % 16;
    size_t hlen = text + pad + 1;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, text);
    memset(buf + 10 + text, ' ', pad);
    buf[10 + text + pad] = '\n';
    memcpy(buf + 10 + hlen, data, data_len);
    write_file(path, buf, 10 + hlen + data_len);
}

static npaa_array *open_new(const char *path) {
    npaa_options options = NPAA_OPTIONS_INIT;
    options.delete_if_exists = 1;
    npaa_array *array = NULL;
    if (npaa_open(path, &options, &array) != NPAA_OK) {
        fprintf(stderr, "setup: npaa_open(%s): %s\n", path, npaa_last_error_message());
        exit(2);
    }
    return array;
}

static const uint64_t ROW[2] = {1, 3};
static const double VALUES[6] = {1, 2, 3, 4, 5, 6};

static void null_pointers(void) {
    npaa_array *const sentinel = (npaa_array *)&checks; /* any non-NULL value */
    npaa_array *array = sentinel;
    const char *path = in_dir("null.npy");

    EXPECT(npaa_open(NULL, NULL, &array), NPAA_NULL_ARGUMENT);
    MESSAGE_HAS("path");
    CHECK(array == sentinel); /* out-parameters are written only on success */
    EXPECT(npaa_open(path, NULL, NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_options_default(NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_append(NULL, VALUES, "<f8", 2, ROW), NPAA_NULL_ARGUMENT);
    MESSAGE_HAS("array");
    EXPECT(npaa_check_append(NULL, "<f8", 2, ROW), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_flush(NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_update_header(NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_sync(NULL), NPAA_NULL_ARGUMENT);
    size_t n = 77;
    bool flag = true;
    EXPECT(npaa_ndim(NULL, &n), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_shape(NULL, NULL, 0, &n), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_descr(NULL, NULL, 0, &n), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_is_fortran_order(NULL, &flag), NPAA_NULL_ARGUMENT);
    CHECK(n == 77 && flag);
    EXPECT(npaa_dtype_itemsize(NULL, &n), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_dtype_itemsize("<f8", NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_recover(NULL, 0, NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_ensure_appendable(NULL, 0, NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_is_appendable(NULL, &flag), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_is_appendable(path, NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_needs_recovery(NULL, &flag), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_needs_recovery(path, NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_close(NULL), NPAA_OK); /* a no-op */

    array = open_new(path);
    EXPECT(npaa_append(array, VALUES, NULL, 2, ROW), NPAA_NULL_ARGUMENT);
    MESSAGE_HAS("descr");
    EXPECT(npaa_append(array, VALUES, "<f8", 2, NULL), NPAA_NULL_ARGUMENT);
    MESSAGE_HAS("shape");
    EXPECT(npaa_append(array, NULL, "<f8", 2, ROW), NPAA_NULL_ARGUMENT);
    MESSAGE_HAS("data");
    EXPECT(npaa_ndim(array, NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_shape(array, NULL, 2, &n), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_shape(array, NULL, 0, NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_descr(array, NULL, 8, &n), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_descr(array, NULL, 0, NULL), NPAA_NULL_ARGUMENT);
    EXPECT(npaa_is_fortran_order(array, NULL), NPAA_NULL_ARGUMENT);
    /* Before the first append, the file does not exist: ndim 0, descr "". */
    EXPECT(npaa_ndim(array, &n), NPAA_OK);
    CHECK(n == 0);
    EXPECT(npaa_descr(array, NULL, 0, &n), NPAA_OK);
    CHECK(n == 0);
    CHECK(access(path, F_OK) != 0);
    /* (NULL, 0) is a valid empty block: a (0, 3) array. */
    const uint64_t empty[2] = {0, 3};
    EXPECT(npaa_append(array, NULL, "<f8", 2, empty), NPAA_OK);
    EXPECT(npaa_append(array, VALUES, "<f8", 2, ROW), NPAA_OK);
    EXPECT(npaa_append(array, NULL, "<f8", 2, empty), NPAA_OK);
    EXPECT(npaa_ndim(array, &n), NPAA_OK);
    CHECK(n == 2);
    EXPECT(npaa_close(array), NPAA_OK);
}

static void bad_arguments(void) {
    npaa_array *array = NULL;
    const char *path = in_dir("args.npy");
    npaa_options options;

    EXPECT(npaa_open("", NULL, &array), NPAA_INVALID_ARGUMENT);
    CHECK(array == NULL);
    EXPECT(npaa_options_default(&options), NPAA_OK);
    npaa_options init = NPAA_OPTIONS_INIT;
    CHECK(memcmp(&init, &options, sizeof options) == 0); /* the macro and the function agree */
    CHECK(options.struct_size == sizeof(npaa_options));

    options.struct_size = 0; /* e.g. an uninitialized struct */
    EXPECT(npaa_open(path, &options, &array), NPAA_INVALID_ARGUMENT);
    MESSAGE_HAS("npaa_options_default");
    npaa_options_default(&options);
    options.casting = 42;
    EXPECT(npaa_open(path, &options, &array), NPAA_INVALID_ARGUMENT);
    MESSAGE_HAS("NPAA_CASTING_");
    npaa_options_default(&options);
    options.durability = 9;
    EXPECT(npaa_open(path, &options, &array), NPAA_INVALID_ARGUMENT);
    npaa_options_default(&options);
    options.durability = NPAA_DURABILITY_EVERY_BYTES; /* durability_bytes left at 0 */
    EXPECT(npaa_open(path, &options, &array), NPAA_INVALID_ARGUMENT);
    MESSAGE_HAS("durability_bytes");
    npaa_options_default(&options);
    options.reserved = 1;
    EXPECT(npaa_open(path, &options, &array), NPAA_INVALID_ARGUMENT);
    CHECK(array == NULL);

    EXPECT(npaa_recover(path, 0x80, NULL), NPAA_INVALID_ARGUMENT);
    EXPECT(npaa_ensure_appendable(path, 0x2, NULL), NPAA_INVALID_ARGUMENT);

    /* A path in a directory that does not exist: refused at open, not at the first append. */
    EXPECT(npaa_open(in_dir("no/such/dir/x.npy"), NULL, &array), NPAA_IO);
    MESSAGE_HAS("no/such/dir");
    CHECK(array == NULL);
    EXPECT(npaa_is_appendable(in_dir("missing.npy"), &(bool){false}), NPAA_IO);
    EXPECT(npaa_needs_recovery(in_dir("missing.npy"), &(bool){false}), NPAA_IO);
    EXPECT(npaa_recover(in_dir("missing.npy"), 0, NULL), NPAA_IO);

    size_t size = 0;
    EXPECT(npaa_dtype_itemsize("not a dtype", &size), NPAA_INVALID_DTYPE);
    EXPECT(npaa_dtype_itemsize("|O", &size), NPAA_OBJECT_DTYPE);
    CHECK(size == 0);
    EXPECT(npaa_dtype_itemsize("[('step', '<u8'), ('thread', '<u4'), ('t', '<f8'), ('pos', '<f4', (3,))]", &size),
           NPAA_OK);
    CHECK(size == 32);

    /* Blocks that are wrong on their own (checked before the file exists). */
    array = open_new(path);
    const uint64_t too_big[2] = {UINT64_MAX, 3};
    const uint64_t many[65] = {1};
    EXPECT(npaa_append(array, VALUES, "<f8", 0, ROW), NPAA_ZERO_DIMENSIONAL);
    EXPECT(npaa_append(array, VALUES, "<f8", 65, many), NPAA_INVALID_ARGUMENT);
    EXPECT(npaa_append(array, VALUES, "<f8", 2, too_big), NPAA_OVERFLOW);
    EXPECT(npaa_append(array, VALUES, "<f9", 2, ROW), NPAA_INVALID_DTYPE);
    EXPECT(npaa_append(array, VALUES, "[('t', '<f8'", 2, ROW), NPAA_INVALID_DTYPE);
    EXPECT(npaa_append(array, VALUES, "|O", 2, ROW), NPAA_OBJECT_DTYPE);
    EXPECT(npaa_check_append(array, "<f8", 0, NULL), NPAA_ZERO_DIMENSIONAL);
    CHECK(access(path, F_OK) != 0); /* nothing was created by the failed calls */

    /* Blocks that do not match the file. */
    EXPECT(npaa_append(array, VALUES, "<f8", 2, ROW), NPAA_OK); /* the file is (1, 3) <f8 */
    const uint64_t row4[2] = {1, 4};
    const uint64_t flat[1] = {3};
    const uint64_t rows3d[3] = {1, 3, 1};
    EXPECT(npaa_append(array, VALUES, "<f8", 2, row4), NPAA_SHAPE_MISMATCH);
    MESSAGE_HAS("(1, 4)");
    EXPECT(npaa_append(array, VALUES, "<f8", 1, flat), NPAA_SHAPE_MISMATCH);
    EXPECT(npaa_append(array, VALUES, "<f8", 3, rows3d), NPAA_SHAPE_MISMATCH);
    EXPECT(npaa_check_append(array, "<f8", 2, row4), NPAA_SHAPE_MISMATCH);
    EXPECT(npaa_append(array, VALUES, "<c16", 2, ROW), NPAA_CAST); /* complex into float */
    MESSAGE_HAS("NPAA_CASTING_UNSAFE");
    EXPECT(npaa_append(array, VALUES, "[('a', '<f8')]", 2, ROW), NPAA_CAST);
    EXPECT(npaa_check_append(array, "<c16", 2, ROW), NPAA_CAST);
    const int32_t ints[3] = {7, 8, 9};
    EXPECT(npaa_append(array, ints, "<i4", 2, ROW), NPAA_OK); /* int into float: same_kind allows */

    /* snprintf-like getters. */
    uint64_t shape[2] = {0, 99};
    size_t ndim = 0;
    EXPECT(npaa_shape(array, shape, 1, &ndim), NPAA_OK);
    CHECK(ndim == 2 && shape[0] == 2 && shape[1] == 99); /* truncated to 1 entry */
    char descr[3] = {'x', 'x', 'x'};
    size_t len = 0;
    EXPECT(npaa_descr(array, descr, sizeof descr, &len), NPAA_OK);
    CHECK(len == 3 && strcmp(descr, "<f") == 0); /* truncated, NUL-terminated */
    bool fortran = true;
    EXPECT(npaa_is_fortran_order(array, &fortran), NPAA_OK);
    CHECK(!fortran);

    /* A second writer on the same file. */
    npaa_array *second = NULL;
    EXPECT(npaa_open(path, NULL, &second), NPAA_LOCKED);
    CHECK(second == NULL);
    EXPECT(npaa_recover(path, 0, NULL), NPAA_LOCKED);
    EXPECT(npaa_ensure_appendable(path, 0, NULL), NPAA_LOCKED);
    bool yes = false;
    EXPECT(npaa_is_appendable(path, &yes), NPAA_OK); /* readers are not locked out */
    CHECK(yes);
    EXPECT(npaa_close(array), NPAA_OK);
    EXPECT(npaa_open(path, NULL, &second), NPAA_OK); /* the lock went with the handle */
    EXPECT(npaa_close(second), NPAA_OK);

    /* casting = no refuses what same_kind allowed. */
    npaa_options_default(&options);
    options.casting = NPAA_CASTING_NO;
    EXPECT(npaa_open(path, &options, &array), NPAA_OK);
    EXPECT(npaa_append(array, ints, "<i4", 2, ROW), NPAA_CAST);
    EXPECT(npaa_close(array), NPAA_OK);
}

static void bad_files(void) {
    npaa_array *array = NULL;
    bool yes = false;

    /* Not a .npy file at all, and an empty one. */
    const char *text = in_dir("text.npy");
    write_file(text, "hello, world\n", 13);
    EXPECT(npaa_open(text, NULL, &array), NPAA_FORMAT);
    MESSAGE_HAS("text.npy: not a valid .npy file: it starts with b'hello,' instead of "
                "b'\\x93NUMPY' (it looks like a text file)");
    EXPECT(npaa_is_appendable(text, &yes), NPAA_FORMAT);
    EXPECT(npaa_recover(text, 0, NULL), NPAA_FORMAT);
    const char *empty = in_dir("empty.npy");
    write_file(empty, "", 0);
    EXPECT(npaa_open(empty, NULL, &array), NPAA_FORMAT);
    CHECK(array == NULL);

    /* A file cut short needs recovery: refused until npaa_recover. */
    const char *cut = in_dir("cut.npy");
    array = open_new(cut);
    EXPECT(npaa_append(array, VALUES, "<f8", 2, ROW), NPAA_OK);
    EXPECT(npaa_append(array, VALUES, "<f8", 2, ROW), NPAA_OK);
    EXPECT(npaa_close(array), NPAA_OK);
    struct stat st;
    CHECK(stat(cut, &st) == 0 && truncate(cut, st.st_size - 4) == 0);
    EXPECT(npaa_needs_recovery(cut, &yes), NPAA_OK);
    CHECK(yes);
    array = NULL;
    EXPECT(npaa_open(cut, NULL, &array), NPAA_NEEDS_RECOVERY);
    MESSAGE_HAS("npaa_recover");
    CHECK(array == NULL);
    npaa_recover_report report;
    memset(&report, 0xab, sizeof report);
    EXPECT(npaa_recover(cut, NPAA_RECOVER_DRY_RUN, &report), NPAA_OK);
    CHECK(report.changed && report.items_before == 2 && report.items_after == 1);
    EXPECT(npaa_needs_recovery(cut, &yes), NPAA_OK);
    CHECK(yes); /* a dry run changes nothing */
    EXPECT(npaa_recover(cut, NPAA_RECOVER_ZEROFILL_INCOMPLETE, &report), NPAA_OK);
    CHECK(report.changed && report.items_after == 2 && report.bytes_zero_filled == 4);
    EXPECT(npaa_recover(cut, 0, &report), NPAA_OK);
    CHECK(!report.changed);
    EXPECT(npaa_open(cut, NULL, &array), NPAA_OK);
    EXPECT(npaa_close(array), NPAA_OK);

    /* A legacy header without room to grow (cnpy, NumPy < 1.14): ensure_appendable fixes it. */
    const char *legacy = in_dir("legacy.npy");
    write_legacy_npy(legacy, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", VALUES,
                     sizeof VALUES);
    EXPECT(npaa_is_appendable(legacy, &yes), NPAA_OK);
    CHECK(!yes);
    EXPECT(npaa_open(legacy, NULL, &array), NPAA_NOT_APPENDABLE);
    MESSAGE_HAS("npaa_ensure_appendable");
    npaa_ensure_report ensured;
    EXPECT(npaa_ensure_appendable(legacy, 0, &ensured), NPAA_OK);
    CHECK(ensured.method == NPAA_ENSURE_COPIED && ensured.data_len == sizeof VALUES);
    EXPECT(npaa_ensure_appendable(legacy, NPAA_ENSURE_IN_PLACE, &ensured), NPAA_OK);
    CHECK(ensured.method == NPAA_ENSURE_ALREADY_APPENDABLE);
    EXPECT(npaa_open(legacy, NULL, &array), NPAA_OK);
    EXPECT(npaa_append(array, VALUES, "<f8", 2, ROW), NPAA_OK);
    uint64_t shape[2];
    size_t ndim = 0;
    EXPECT(npaa_shape(array, shape, 2, &ndim), NPAA_OK);
    CHECK(ndim == 2 && shape[0] == 3 && shape[1] == 3);
    EXPECT(npaa_close(array), NPAA_OK);

    /* Files that can never grow: a 0-d array, an object array. */
    array = NULL;
    const char *scalar = in_dir("scalar.npy");
    write_legacy_npy(scalar, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", VALUES, 8);
    EXPECT(npaa_open(scalar, NULL, &array), NPAA_SCALAR_FILE);
    const char *object = in_dir("object.npy");
    write_legacy_npy(object, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", VALUES, 8);
    EXPECT(npaa_open(object, NULL, &array), NPAA_OBJECT_DTYPE);
    CHECK(array == NULL);
}

static void statuses_and_version(void) {
    for (uint32_t code = 0; code <= NPAA_UNKNOWN; code++) {
        const char *text = npaa_status_str(code);
        CHECK(text != NULL && strncmp(text, "NPAA_", 5) == 0);
    }
    CHECK(strcmp(npaa_status_str(NPAA_UNKNOWN + 1), "unknown npaa status code") == 0);
    CHECK(strcmp(npaa_status_str(UINT32_MAX), "unknown npaa status code") == 0);
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", NPAA_VERSION_MAJOR, NPAA_VERSION_MINOR, NPAA_VERSION_PATCH);
    CHECK(strcmp(npaa_version(), expected) == 0);

    /* The message survives npaa_status_str/npaa_version and is cleared by the next success. */
    size_t size;
    EXPECT(npaa_dtype_itemsize("<x3", &size), NPAA_INVALID_DTYPE);
    (void)npaa_status_str(NPAA_IO);
    (void)npaa_version();
    MESSAGE_HAS("npaa_dtype_itemsize");
    EXPECT(npaa_dtype_itemsize("<f8", &size), NPAA_OK);
}

/* The message is per thread: a failure on another thread does not overwrite ours. */
static void *fail_on_other_thread(void *arg) {
    (void)arg;
    size_t n;
    npaa_status status = npaa_ndim(NULL, &n);
    return (void *)(uintptr_t)(status == NPAA_NULL_ARGUMENT && npaa_last_error_message()[0] != '\0');
}

static void thread_local_messages(void) {
    EXPECT(npaa_recover(in_dir("missing.npy"), 0, NULL), NPAA_IO);
    char before[1024];
    snprintf(before, sizeof before, "%s", npaa_last_error_message());
    pthread_t thread;
    void *ok = NULL;
    CHECK(pthread_create(&thread, NULL, fail_on_other_thread, NULL) == 0);
    CHECK(pthread_join(thread, &ok) == 0);
    CHECK(ok != NULL);
    CHECK(strcmp(before, npaa_last_error_message()) == 0);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bad_calls DIR [--leak-a-handle]\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    if (argc > 2 && strcmp(argv[2], "--leak-a-handle") == 0) {
        /* The negative control of the leak check: this handle is never closed. */
        npaa_array *leaked = open_new(in_dir("leak.npy"));
        return npaa_append(leaked, VALUES, "<f8", 2, ROW) == NPAA_OK ? 0 : 2;
    }
    null_pointers();
    bad_arguments();
    bad_files();
    statuses_and_version();
    thread_local_messages();
    printf("bad_calls: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
