// Exercises the C++ wrapper (include/npaa.hpp): typed appends of every primitive type from
// vectors and pointers, Fortran order, blocks in either order, shared mode, ragged pairs
// (npaa::RaggedArray), errors as exceptions, move-only ownership.
//
// Usage: cpp_wrapper DIR   (writes DIR/*.npy; check.py wrapper DIR verifies them)
#include <npaa.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace {

int failures = 0;

void expect(bool ok, const char *what) {
    if (!ok) {
        std::cerr << "FAIL: " << what << "\n";
        failures++;
    }
}

// Appends {1, 2} then {3, 4} of type T to DIR/NAME.npy: NumPy must load [1, 2, 3, 4].
template <class T>
void typed(const std::string &dir, const std::string &name) {
    npaa::Array array(dir + "/" + name + ".npy", npaa::Options().delete_if_exists(true));
    const std::vector<T> first = {T(1), T(2)};
    const T second[2] = {T(3), T(4)};
    array.append(first, {2});
    array.append(second, {2});
    expect(array.descr() == npaa::dtype_traits<T>::descr(), "descr of a typed file");
    array.close();
}

template <class F>
void expect_error(F call, npaa_status status, const char *needle, const char *what) {
    try {
        call();
        std::cerr << "FAIL: no exception: " << what << "\n";
        failures++;
    } catch (const npaa::Error &e) {
        if (e.status() != status || std::strstr(e.what(), needle) == nullptr) {
            std::cerr << "FAIL: " << what << ": got " << e.status_str() << ": " << e.what() << "\n";
            failures++;
        } else {
            std::cout << "ok " << what << ": " << e.what() << "\n";
        }
    }
}

// A ragged pair of rows of 2 doubles, records of 3, 0, 2, 1, 2 and 1 rows (row r holds
// {r, r + 0.5}): check.py wrapper loads DIR/ragged.npy and its index DIR/ragged.idx.npy.
void ragged(const std::string &dir) {
    const std::string path = dir + "/ragged.npy";
    auto rows = [](double from, std::size_t n) {
        std::vector<double> v;
        for (std::size_t r = 0; r < n; r++) {
            v.push_back(from + double(r));
            v.push_back(from + double(r) + 0.5);
        }
        return v;
    };
    npaa::RaggedArray pair(path, npaa::Options().delete_if_exists(true));
    pair.append(rows(0, 3), {3, 2});
    const double none[1] = {0};
    pair.append(none, {0, 2});
    const std::vector<double> two = rows(3, 2);
    pair.append(two.data(), {2, 2});
    pair.extend<double>({{rows(5, 1), {1, 2}}, {rows(6, 2), {2, 2}}});
    expect(pair.size() == 5, "records after append and extend");

    expect_error([&] { pair.append(std::vector<double>(5), {3, 2}); }, NPAA_INVALID_ARGUMENT,
                 "needs 48 bytes, got 40", "record vector size");
    expect_error([&] { pair.append(std::vector<double>(3), {1, 3}); }, NPAA_SHAPE_MISMATCH,
                 "(1, 3)", "record shape mismatch");
    expect_error([&] { npaa::RaggedArray second(path); }, NPAA_LOCKED, "locked",
                 "second ragged writer");
    // A refused record in extend: the ones before it stay appended.
    expect_error([&] { pair.extend<double>({{rows(8, 1), {1, 2}}, {rows(9, 1), {2}}}); },
                 NPAA_SHAPE_MISMATCH, "(2,)", "refused record in extend");
    expect(pair.size() == 6, "records before a refused one stay");

    npaa::RaggedArray moved = std::move(pair);
    expect(!pair && static_cast<bool>(moved), "move transfers the ragged handle");
    moved.flush();
    moved.sync();
    moved.close();
    expect(!moved, "close empties the ragged object");
    moved.close();  // closing an empty object is a no-op
    expect(npaa::ragged_problems(path).empty(), "a closed pair is consistent");
    expect(npaa::recover_ragged(path) == 6, "recover_ragged on a consistent pair");

    // What a kill between the data and the index leaves: rows no index entry names.
    {
        npaa::Array data(path);
        data.append(rows(9, 1), {1, 2});
    }
    const std::vector<std::string> problems = npaa::ragged_problems(path);
    expect(problems.size() == 1 &&
               problems[0] == "needs recovery: the data holds 1 items past its last indexed "
                              "record (a half-appended record): call npaa_ragged_recover() on "
                              "its data file first",
           "ragged_problems names the half-appended record");
    expect(npaa::recover_ragged(path) == 6 && npaa::ragged_problems(path).empty(),
           "recover_ragged cuts it");
    expect(npaa::problems(path).empty(), "the data file alone is fine");
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::cerr << "usage: cpp_wrapper DIR\n";
        return 2;
    }
    const std::string dir = argv[1];
    try {
        typed<bool>(dir, "bool");
        typed<std::int8_t>(dir, "int8");
        typed<std::int16_t>(dir, "int16");
        typed<std::int32_t>(dir, "int32");
        typed<std::int64_t>(dir, "int64");
        typed<long long>(dir, "longlong");
        typed<std::uint8_t>(dir, "uint8");
        typed<std::uint16_t>(dir, "uint16");
        typed<std::uint32_t>(dir, "uint32");
        typed<std::uint64_t>(dir, "uint64");
        typed<float>(dir, "float32");
        typed<double>(dir, "float64");

        // A 2-D file: rows of 3 doubles; ints are converted (same_kind casting).
        const std::string rows = dir + "/rows.npy";
        npaa::Array array = npaa::Array::open(rows, npaa::Options().delete_if_exists(true));
        array.append(std::vector<double>{0, 1, 2, 3, 4, 5}, {2, 3});
        const std::int32_t ints[3] = {6, 7, 8};
        array.append(ints, {1, 3});
        expect(array.shape() == std::vector<std::uint64_t>({3, 3}), "shape after appends");
        expect(array.descr() == "<f8" && !array.fortran_order(), "descr and order");

        expect_error([&] { array.append(std::vector<double>(4), {1, 4}); }, NPAA_SHAPE_MISMATCH,
                     "(1, 4)", "shape mismatch");
        expect_error([&] { array.append(std::vector<double>(5), {2, 3}); }, NPAA_INVALID_ARGUMENT,
                     "needs 48 bytes, got 40", "vector size");
        expect_error([&] { array.append_raw(ints, "<c8", {1, 3}); }, NPAA_CAST, "NPAA_CASTING_UNSAFE",
                     "descr mismatch");
        expect_error([&] { npaa::Array second(rows); }, NPAA_LOCKED, "locked", "second writer");
        expect_error([&] { npaa::dtype_itemsize("<q9"); }, NPAA_INVALID_DTYPE, "<q9", "bad descr");

        // Move-only ownership.
        npaa::Array moved = std::move(array);
        expect(!array && static_cast<bool>(moved), "move transfers the handle");
        moved.close();
        expect(!moved, "close empties the object");
        moved.close();  // closing an empty object is a no-op
        expect(!npaa::needs_recovery(rows) && npaa::is_appendable(rows), "file state");

        // Fortran order: grows along the last axis.
        npaa::Array fortran(dir + "/fortran.npy", npaa::Options().delete_if_exists(true).fortran_order(true));
        fortran.append(std::vector<float>{1, 2, 3}, {3, 1});
        fortran.append(std::vector<float>{4, 5, 6, 7, 8, 9}, {3, 2});
        expect(fortran.fortran_order() && fortran.shape() == std::vector<std::uint64_t>({3, 3}),
               "Fortran order");
        // The destructor closes it.

        // Blocks laid out in either order (npaa_append_ordered()), to files of either order:
        // both files hold E = arange(12).reshape(3, 4), E[i][j] = 4i + j.
        npaa::Array to_f(dir + "/ordered_f.npy",
                         npaa::Options().delete_if_exists(true).fortran_order(true));
        // Columns 0-1 from a row-major (3, 2) buffer, columns 2-3 from a column-major one.
        to_f.append_ordered(std::vector<double>{0, 1, 4, 5, 8, 9}, {3, 2}, NPAA_ORDER_C);
        to_f.append_ordered(std::vector<double>{2, 6, 10, 3, 7, 11}, {3, 2}, NPAA_ORDER_F);
        to_f.append_ordered(std::vector<double>{}, {3, 0}, NPAA_ORDER_C);
        expect_error([&] { to_f.append_ordered(std::vector<double>(3), {3, 1}, 7); },
                     NPAA_INVALID_ARGUMENT, "NPAA_ORDER_F", "unknown order");
        expect(to_f.shape() == std::vector<std::uint64_t>({3, 4}), "shape of ordered_f");
        to_f.close();
        npaa::Array to_c(dir + "/ordered_c.npy", npaa::Options().delete_if_exists(true));
        // Rows 0-1 from a column-major (2, 4) buffer, row 2 in either order (same bytes).
        to_c.append_ordered(std::vector<double>{0, 4, 1, 5, 2, 6, 3, 7}, {2, 4}, NPAA_ORDER_F);
        to_c.append_ordered(std::vector<double>{8, 9, 10, 11}, {1, 4}, NPAA_ORDER_F);
        to_c.close();

        // Shared mode: two writers hold one file open and their appends land whole, in turn;
        // an exclusive writer gets in between, and a shared open that waits at most 50 ms
        // for it gives up with NPAA_LOCKED.
        const std::string shared = dir + "/shared.npy";
        std::remove(shared.c_str());  // shared writers never delete a file: start afresh
        npaa::Array first(shared, npaa::Options().shared(true));
        npaa::Array second(shared, npaa::Options().shared(true).wait_for_lock());
        first.append(std::vector<double>{0, 1}, {1, 2});
        second.append(std::vector<double>{2, 3, 4, 5}, {2, 2});
        first.append(std::vector<double>{6, 7}, {1, 2});
        {
            npaa::Array exclusive(shared);
            expect_error([&] { npaa::Array late(shared, npaa::Options().shared(true).lock_timeout_ms(50)); },
                         NPAA_LOCKED, "locked", "a shared open that waits at most 50 ms");
            exclusive.append(std::vector<double>{8, 9}, {1, 2});
        }
        second.append(std::vector<double>{10, 11}, {1, 2});
        expect(second.shape() == std::vector<std::uint64_t>({6, 2}), "shape seen by a shared writer");
        first.close();
        second.close();

        ragged(dir);
    } catch (const npaa::Error &e) {
        std::cerr << "FAIL: unexpected npaa::Error " << e.status_str() << ": " << e.what() << "\n";
        return 1;
    }
    std::cout << "cpp_wrapper: " << (failures == 0 ? "ok" : "FAILED") << "\n";
    return failures == 0 ? 0 : 1;
}
