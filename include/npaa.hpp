// npaa.hpp - header-only C++17 wrapper of the npaa C API (npaa.h): grow NumPy .npy files.
//
//     #include <npaa.hpp>
//     npaa::Array array("states.npy", npaa::Options().delete_if_exists(true));
//     std::vector<double> row = {1.0, 2.0, 3.0};
//     array.append(row, {1, 3});          // one row of 3 doubles: file shape (n, 3)
//     array.close();                      // or let the destructor close it (errors ignored)
//
// npaa::RaggedArray appends records of any length with an index beside the data (a ragged
// pair); npaa::recover_ragged() and npaa::ragged_problems() repair and check one.
//
// Errors are thrown as npaa::Error (a std::runtime_error) carrying the status code and the
// library's message. Link with -lnpaa, as for npaa.h.
//
// Thread-safety: an npaa::Array may be used by many threads at once through its const
// member functions (append, append_raw, append_ordered, check_append, shape, descr, flush, update_header,
// sync), as the C handle allows. close(), assignment, moving and destruction must not run
// concurrently with anything else on the same object.
#ifndef NPAA_HPP
#define NPAA_HPP

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "npaa.h"

namespace npaa {

/// A failed npaa call: what() is the library's message (npaa_last_error_message()), status()
/// the NPAA_* code.
class Error : public std::runtime_error {
public:
    Error(npaa_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}

    /// The NPAA_* status code of the failure.
    npaa_status status() const noexcept { return status_; }

    /// Static text of the status code (npaa_status_str()).
    const char *status_str() const noexcept { return npaa_status_str(status_); }

private:
    npaa_status status_;
};

namespace detail {

/// Throws npaa::Error for a failed status, with the calling thread's last error message.
inline void check(npaa_status status) {
    if (status != NPAA_OK) {
        std::string message = npaa_last_error_message();
        if (message.empty()) message = npaa_status_str(status);
        throw Error(status, message);
    }
}

constexpr bool little_endian() noexcept {
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return false;
#else
    return true;
#endif
}

/// Move-only ownership of a C handle `H` that `Close` releases (npaa_close(),
/// npaa_ragged_close()): the part npaa::Array and npaa::RaggedArray share.
template <class H, npaa_status (*Close)(H *)>
class Owned {
public:
    /// An empty object that owns no handle.
    Owned() noexcept = default;
    Owned(const Owned &) = delete;
    Owned &operator=(const Owned &) = delete;
    Owned(Owned &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Owned &operator=(Owned &&other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }

    /// Closes the handle, ignoring errors: call close() to see them.
    ~Owned() { reset(); }

    /// Closes the handle, throwing npaa::Error if the final writes failed. The object is
    /// empty afterwards, even when it throws; closing an empty object does nothing.
    void close() { check(Close(std::exchange(handle_, nullptr))); }

    /// True while the object owns an open handle.
    explicit operator bool() const noexcept { return handle_ != nullptr; }

    /// The C handle, still owned by this object.
    H *handle() const noexcept { return handle_; }

protected:
    H *handle_ = nullptr;

private:
    void reset() noexcept {
        if (handle_ != nullptr) {
            (void)Close(std::exchange(handle_, nullptr));
        }
    }
};

}  // namespace detail

/// The NumPy descr of a C++ element type, in native byte order: bool, int8_t ... int64_t,
/// uint8_t ... uint64_t, float, double. Other types have no `descr()` (a compile error).
template <class T, class Enable = void>
struct dtype_traits;

#define NPAA_HPP_DTYPE(type, little, big)                                        \
    template <>                                                                  \
    struct dtype_traits<type> {                                                  \
        static const char *descr() noexcept {                                    \
            return detail::little_endian() ? little : big;                       \
        }                                                                        \
    }
NPAA_HPP_DTYPE(bool, "|b1", "|b1");
NPAA_HPP_DTYPE(std::int8_t, "|i1", "|i1");
NPAA_HPP_DTYPE(std::uint8_t, "|u1", "|u1");
NPAA_HPP_DTYPE(std::int16_t, "<i2", ">i2");
NPAA_HPP_DTYPE(std::uint16_t, "<u2", ">u2");
NPAA_HPP_DTYPE(std::int32_t, "<i4", ">i4");
NPAA_HPP_DTYPE(std::uint32_t, "<u4", ">u4");
NPAA_HPP_DTYPE(std::int64_t, "<i8", ">i8");
NPAA_HPP_DTYPE(std::uint64_t, "<u8", ">u8");
NPAA_HPP_DTYPE(float, "<f4", ">f4");
NPAA_HPP_DTYPE(double, "<f8", ">f8");
#undef NPAA_HPP_DTYPE

// `long long` and `long` are distinct types: map the one that is not int64_t by size.
template <class T>
struct dtype_traits<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                        !std::is_same_v<T, char> &&
                                        (std::is_same_v<T, long> || std::is_same_v<T, long long> ||
                                         std::is_same_v<T, unsigned long> ||
                                         std::is_same_v<T, unsigned long long>) &&
                                        !std::is_same_v<T, std::int64_t> &&
                                        !std::is_same_v<T, std::uint64_t>>>
    : dtype_traits<std::conditional_t<
          std::is_signed_v<T>,
          std::conditional_t<sizeof(T) == 8, std::int64_t, std::int32_t>,
          std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>>> {};

static_assert(sizeof(bool) == 1, "npaa appends bool as NumPy's 1-byte |b1");

/// Options for opening a file (npaa_options with chainable setters). See npaa_options for
/// what each one means.
class Options {
public:
    Options() noexcept : raw_ NPAA_OPTIONS_INIT {}

    /// Delete an existing file when opening (start a new one with the first append).
    Options &delete_if_exists(bool yes) noexcept { raw_.delete_if_exists = yes; return *this; }
    /// Update the header after every append (default true).
    Options &rewrite_header_on_append(bool yes) noexcept {
        raw_.rewrite_header_on_append = yes;
        return *this;
    }
    /// Fortran order for a file created by the first append.
    Options &fortran_order(bool yes) noexcept { raw_.fortran_order = yes; return *this; }
    /// One of the NPAA_CASTING_* constants (default NPAA_CASTING_SAME_KIND).
    Options &casting(std::uint32_t rule) noexcept { raw_.casting = rule; return *this; }
    /// One of the NPAA_DURABILITY_* constants; `bytes` for NPAA_DURABILITY_EVERY_BYTES.
    Options &durability(std::uint32_t mode, std::uint64_t bytes = 0) noexcept {
        raw_.durability = mode;
        raw_.durability_bytes = bytes;
        return *this;
    }
    /// Coalesce appends in memory up to this many bytes (0: no buffering).
    Options &buffer_capacity(std::size_t bytes) noexcept {
        raw_.buffer_capacity = bytes;
        return *this;
    }
    /// Copy small appends into reserved space through a memory mapping, this many bytes at a
    /// time (0: off). See npaa_options.mapped_window.
    Options &mapped_window(std::size_t bytes) noexcept {
        raw_.mapped_window = bytes;
        return *this;
    }
    /// Shared mode: many writers append at once, each append in its own turn under the
    /// file's lock. See npaa_options.shared.
    Options &shared(bool yes) noexcept { raw_.shared = yes; return *this; }
    /// Wait at most `ms` milliseconds for the file's lock (0: not at all), then fail with
    /// NPAA_LOCKED. See npaa_options.lock_wait.
    Options &lock_timeout_ms(std::uint64_t ms) noexcept {
        raw_.lock_wait = NPAA_LOCK_WAIT_TIMEOUT;
        raw_.lock_timeout_ms = ms;
        return *this;
    }
    /// Wait for the file's lock as long as it takes.
    Options &wait_for_lock() noexcept {
        raw_.lock_wait = NPAA_LOCK_WAIT_FOREVER;
        return *this;
    }

    /// The C struct, for npaa_open().
    const npaa_options *get() const noexcept { return &raw_; }

private:
    npaa_options raw_;
};

namespace detail {

/// The appends npaa::Array and npaa::RaggedArray share, over the C functions `Append`
/// (npaa_append(), npaa_ragged_append()) and `AppendSized` (their _sized forms).
template <class H, npaa_status (*Close)(H *),
          npaa_status (*Append)(H *, const void *, const char *, std::size_t,
                                const std::uint64_t *),
          npaa_status (*AppendSized)(H *, const void *, std::size_t, const char *, std::size_t,
                                     const std::uint64_t *)>
class Appender : public Owned<H, Close> {
public:
    /// Appends a block (a record, for a RaggedArray) of shape `shape` and dtype `descr` from
    /// `data` (npaa_append(), npaa_ragged_append()); `data` holds itemsize(descr) *
    /// product(shape) bytes in the file's order.
    void append_raw(const void *data, const char *descr, const std::uint64_t *shape,
                    std::size_t ndim) const {
        check(Append(this->handle_, data, descr, ndim, shape));
    }

    void append_raw(const void *data, const std::string &descr,
                    std::initializer_list<std::uint64_t> shape) const {
        append_raw(data, descr.c_str(), shape.begin(), shape.size());
    }

    void append_raw(const void *data, const std::string &descr,
                    const std::vector<std::uint64_t> &shape) const {
        append_raw(data, descr.c_str(), shape.data(), shape.size());
    }

    /// Appends product(shape) elements of a primitive type from `data`.
    template <class T>
    void append(const T *data, std::initializer_list<std::uint64_t> shape) const {
        append_raw(data, dtype_traits<T>::descr(), shape.begin(), shape.size());
    }

    template <class T>
    void append(const T *data, const std::vector<std::uint64_t> &shape) const {
        append_raw(data, dtype_traits<T>::descr(), shape.data(), shape.size());
    }

    /// Appends the elements of `data` as a block of shape `shape` (npaa_append_sized(),
    /// npaa_ragged_append_sized()); throws npaa::Error with NPAA_INVALID_ARGUMENT if
    /// data.size() is not product(shape) (the library checks the vector's length against the
    /// block).
    template <class T>
    void append(const std::vector<T> &data, std::initializer_list<std::uint64_t> shape) const {
        append(data, std::vector<std::uint64_t>(shape));
    }

    template <class T>
    void append(const std::vector<T> &data, const std::vector<std::uint64_t> &shape) const {
        check(AppendSized(this->handle_, data.data(), data.size() * sizeof(T),
                          dtype_traits<T>::descr(), shape.size(), shape.data()));
    }

    /// std::vector<bool> is bit-packed: its elements are copied to bytes first.
    void append(const std::vector<bool> &data, const std::vector<std::uint64_t> &shape) const {
        std::unique_ptr<bool[]> bytes(new bool[data.size() > 0 ? data.size() : 1]);
        for (std::size_t i = 0; i < data.size(); i++) bytes[i] = data[i];
        check(AppendSized(this->handle_, bytes.get(), data.size() * sizeof(bool),
                          dtype_traits<bool>::descr(), shape.size(), shape.data()));
    }
};

}  // namespace detail

/// A .npy file open for appending: owns an npaa_array handle (move-only).
class Array : public detail::Appender<npaa_array, npaa_close, npaa_append, npaa_append_sized> {
public:
    /// An empty object that owns no file.
    Array() noexcept = default;

    /// Opens `path` for appending (npaa_open()); throws npaa::Error.
    explicit Array(const std::string &path, const Options &options = Options()) {
        detail::check(npaa_open(path.c_str(), options.get(), &handle_));
    }

    /// Opens `path` for appending; throws npaa::Error.
    static Array open(const std::string &path, const Options &options = Options()) {
        return Array(path, options);
    }

    /// Appends the elements of `data`, laid out in `order` (NPAA_ORDER_C: row-major, or
    /// NPAA_ORDER_F: column-major), as a block of shape `shape` (npaa_append_ordered()): a
    /// row-major buffer can feed a Fortran-order file. Throws npaa::Error with
    /// NPAA_INVALID_ARGUMENT if data.size() is not product(shape) or `order` is unknown.
    template <class T>
    void append_ordered(const std::vector<T> &data, const std::vector<std::uint64_t> &shape,
                        std::uint32_t order) const {
        detail::check(npaa_append_ordered_sized(handle_, data.data(), data.size() * sizeof(T),
                                                dtype_traits<T>::descr(), shape.size(),
                                                shape.data(), order));
    }

    /// Checks that a block could be appended, without writing (npaa_check_append()).
    void check_append(const std::string &descr, const std::vector<std::uint64_t> &shape) const {
        detail::check(npaa_check_append(handle_, descr.c_str(), shape.size(), shape.data()));
    }

    /// The current shape; empty before the first append created the file.
    std::vector<std::uint64_t> shape() const {
        std::vector<std::uint64_t> shape(NPAA_MAX_DIMS);
        std::size_t ndim = 0;
        detail::check(npaa_shape(handle_, shape.data(), shape.size(), &ndim));
        shape.resize(ndim);
        return shape;
    }

    /// The file's descr; empty before the first append created the file.
    std::string descr() const {
        std::size_t len = 0;
        detail::check(npaa_descr(handle_, nullptr, 0, &len));
        std::string text(len + 1, '\0');
        detail::check(npaa_descr(handle_, &text[0], text.size(), &len));
        text.resize(len < text.size() ? len : text.size() - 1);
        return text;
    }

    /// True for a Fortran-order file.
    bool fortran_order() const {
        bool fortran = false;
        detail::check(npaa_is_fortran_order(handle_, &fortran));
        return fortran;
    }

    void flush() const { detail::check(npaa_flush(handle_)); }
    void update_header() const { detail::check(npaa_update_header(handle_)); }
    void sync() const { detail::check(npaa_sync(handle_)); }

    // append_raw() and append() (npaa_append(), npaa_append_sized()), close() (npaa_close()),
    // operator bool and handle() come from detail::Appender.
};

/// A ragged pair open for appending (npaa_ragged_open()): records of any length along the
/// growth axis of a .npy data file, with their ends in an index beside it ("feats.npy" +
/// "feats.idx.npy"). Owns an npaa_ragged handle (move-only); opening repairs what a crash
/// left (a half-appended record is cut).
///
///     npaa::RaggedArray feats("feats.npy", npaa::Options().delete_if_exists(true));
///     feats.append(frames, {n, 768});    // one record of n items of 768 floats
///     feats.close();
///
/// Thread-safety as npaa::Array: append, extend, size, flush and sync may run concurrently;
/// close(), assignment, moving and destruction must not run concurrently with anything else.
class RaggedArray : public detail::Appender<npaa_ragged, npaa_ragged_close, npaa_ragged_append,
                                            npaa_ragged_append_sized> {
public:
    /// An empty object that owns no pair.
    RaggedArray() noexcept = default;

    /// Opens the pair whose data file is `path` (npaa_ragged_open()); throws npaa::Error.
    explicit RaggedArray(const std::string &path, const Options &options = Options()) {
        detail::check(npaa_ragged_open(path.c_str(), options.get(), &handle_));
    }

    /// Opens the pair whose data file is `path`; throws npaa::Error.
    static RaggedArray open(const std::string &path, const Options &options = Options()) {
        return RaggedArray(path, options);
    }

    /// Appends records in turn, each a (data, shape) pair as append() takes them. A refused
    /// record throws; the records before it stay appended.
    template <class T>
    void extend(
        const std::vector<std::pair<std::vector<T>, std::vector<std::uint64_t>>> &records) const {
        for (const auto &record : records) append(record.first, record.second);
    }

    /// The number of records appended so far (npaa_ragged_len()).
    std::uint64_t size() const {
        std::uint64_t records = 0;
        detail::check(npaa_ragged_len(handle_, &records));
        return records;
    }

    /// Writes records held back, then their index entries (npaa_ragged_flush()).
    void flush() const { detail::check(npaa_ragged_flush(handle_)); }
    /// Forces everything to stable storage, the data before the index (npaa_ragged_sync()).
    void sync() const { detail::check(npaa_ragged_sync(handle_)); }

    // append_raw() and append() of one record (npaa_ragged_append(),
    // npaa_ragged_append_sized(): its length along the growth axis may be anything, 0
    // included), close() (npaa_ragged_close(): an error means the last records may not be
    // indexed), operator bool and handle() come from detail::Appender.
};

/// Size in bytes of one element of `descr`, NumPy's itemsize (npaa_dtype_itemsize()).
inline std::size_t dtype_itemsize(const std::string &descr) {
    std::size_t size = 0;
    detail::check(npaa_dtype_itemsize(descr.c_str(), &size));
    return size;
}

/// Repairs a file cut short (npaa_recover()); flags: NPAA_RECOVER_*.
inline npaa_recover_report recover(const std::string &path, std::uint32_t flags = 0) {
    npaa_recover_report report{};
    detail::check(npaa_recover(path.c_str(), flags, &report));
    return report;
}

/// Gives a legacy header room to grow (npaa_ensure_appendable()); flags: NPAA_ENSURE_*.
inline npaa_ensure_report ensure_appendable(const std::string &path, std::uint32_t flags = 0) {
    npaa_ensure_report report{};
    detail::check(npaa_ensure_appendable(path.c_str(), flags, &report));
    return report;
}

/// npaa_is_appendable().
inline bool is_appendable(const std::string &path) {
    bool yes = false;
    detail::check(npaa_is_appendable(path.c_str(), &yes));
    return yes;
}

/// npaa_needs_recovery().
inline bool needs_recovery(const std::string &path) {
    bool yes = false;
    detail::check(npaa_needs_recovery(path.c_str(), &yes));
    return yes;
}

namespace detail {

/// The findings `problems` (npaa_problems() or npaa_ragged_problems()) gives for `path`, one
/// string each.
inline std::vector<std::string> problems(
    npaa_status (*problems)(const char *, char *, std::size_t, std::size_t *, std::size_t *),
    const std::string &path) {
    std::size_t len = 0, count = 0;
    check(problems(path.c_str(), nullptr, 0, &len, &count));
    std::string text(len + 1, '\0');
    check(problems(path.c_str(), &text[0], text.size(), &len, &count));
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t i = 0; i < count; i++) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos || end > len) end = len;
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

}  // namespace detail

/// What keeps the file at `path` from loading in NumPy or from being appended to, each with
/// the C function that fixes it (npaa_problems()); empty when the file is fine.
inline std::vector<std::string> problems(const std::string &path) {
    return detail::problems(npaa_problems, path);
}

/// What is wrong with the ragged pair whose data file is `path` (npaa_ragged_problems());
/// empty for a consistent pair.
inline std::vector<std::string> ragged_problems(const std::string &path) {
    return detail::problems(npaa_ragged_problems, path);
}

/// Restores a consistent ragged pair after a crash (npaa_ragged_recover()); returns the
/// number of records after the repair.
inline std::uint64_t recover_ragged(const std::string &path) {
    std::uint64_t records = 0;
    detail::check(npaa_ragged_recover(path.c_str(), &records));
    return records;
}

/// The linked library's version, e.g. "0.1.0".
inline std::string version() { return npaa_version(); }

}  // namespace npaa

#endif  // NPAA_HPP
