// Exercises the C++ wrapper (include/npaa.hpp): typed appends of every primitive type from
// vectors and pointers, Fortran order, blocks in either order, errors as exceptions,
// move-only ownership.
//
// Usage: cpp_wrapper DIR   (writes DIR/*.npy; check.py wrapper DIR verifies them)
#include <npaa.hpp>

#include <cstdint>
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
    } catch (const npaa::Error &e) {
        std::cerr << "FAIL: unexpected npaa::Error " << e.status_str() << ": " << e.what() << "\n";
        return 1;
    }
    std::cout << "cpp_wrapper: " << (failures == 0 ? "ok" : "FAILED") << "\n";
    return failures == 0 ? 0 : 1;
}
