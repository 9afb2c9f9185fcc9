// npaa_mpi.hpp - header-only C++17 RAII form of npaa_mpi.h: collective appends of the ranks
// of an MPI job to one .npy file.
//
//     #include <npaa_mpi.hpp>
//     npaa::mpi::Array array(MPI_COMM_WORLD, "states.npy", npaa::Options().delete_if_exists(true));
//     std::vector<double> rows(2 * 3, rank);      // this rank's 2 rows of 3 values
//     array.append(rows, {2, 3});                 // collective: one step, blocks in rank order
//     array.close();                              // collective
//
// Every member function is collective over the communicator: call it on every rank, in the
// same order. A failure on any rank throws npaa::Error on every rank, with the message of
// the rank that failed. Compile with your MPI's C++ compiler wrapper (mpicxx) and -lnpaa.
//
// The destructor closes the file (collectively, errors ignored) if close() was not called:
// destroy the object on every rank, never on one rank alone (e.g. while an exception thrown
// on that rank only unwinds), or the other ranks wait forever; call close() explicitly.
#ifndef NPAA_MPI_HPP
#define NPAA_MPI_HPP

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "npaa.hpp"
#include "npaa_mpi.h"

namespace npaa {
namespace mpi {

/// A .npy file open for collective appends (npaa_mpi_array; move-only).
class Array {
public:
    /// An empty object that owns no file.
    Array() noexcept = default;

    /// Opens `path` on every rank of `comm` (npaa_mpi_open()); throws npaa::Error.
    Array(MPI_Comm comm, const std::string &path, const Options &options = Options()) {
        detail::check(npaa_mpi_open(comm, path.c_str(), options.get(), &handle_));
    }

    Array(const Array &) = delete;
    Array &operator=(const Array &) = delete;
    Array(Array &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Array &operator=(Array &&other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }

    /// Closes the file collectively, ignoring errors: call close() to see them.
    ~Array() { reset(); }

    /// Appends this rank's block of the step: product(shape) elements of dtype `descr` at
    /// `data` (npaa_mpi_append()); throws npaa::Error on every rank if any rank failed.
    void append_raw(const void *data, const std::string &descr,
                    const std::vector<std::uint64_t> &shape) {
        detail::check(npaa_mpi_append(handle_, data, descr.c_str(), shape.size(), shape.data()));
    }

    /// Appends product(shape) elements of a primitive type from `data`.
    template <class T>
    void append(const T *data, const std::vector<std::uint64_t> &shape) {
        append_raw(data, dtype_traits<T>::descr(), shape);
    }

    /// Appends the elements of `data` as a block of shape `shape` (npaa_mpi_append_sized()). A
    /// vector whose size is not product(shape) is refused by libnpaa (NPAA_INVALID_ARGUMENT)
    /// on every rank, as any bad block.
    template <class T>
    void append(const std::vector<T> &data, const std::vector<std::uint64_t> &shape) {
        detail::check(npaa_mpi_append_sized(handle_, data.data(), data.size() * sizeof(T),
                                            dtype_traits<T>::descr(), shape.size(),
                                            shape.data()));
    }

    template <class T>
    void append(const std::vector<T> &data, std::initializer_list<std::uint64_t> shape) {
        append(data, std::vector<std::uint64_t>(shape));
    }

    /// Closes the file (npaa_mpi_close(), collective), throwing npaa::Error on every rank if
    /// any rank failed. The object is empty afterwards, even when it throws.
    void close() { detail::check(npaa_mpi_close(std::exchange(handle_, nullptr))); }

    /// True while the object owns an open file.
    explicit operator bool() const noexcept { return handle_ != nullptr; }

    /// The C handle, still owned by this object.
    npaa_mpi_array *handle() const noexcept { return handle_; }

private:
    void reset() noexcept {
        if (handle_ != nullptr) {
            (void)npaa_mpi_close(std::exchange(handle_, nullptr));
        }
    }

    npaa_mpi_array *handle_ = nullptr;
};

}  // namespace mpi
}  // namespace npaa

#endif  // NPAA_MPI_HPP
