// A multi-threaded simulation that records its state with npaa: N threads each step a (toy)
// model M times and append one structured row per step to the same .npy file, through one
// shared npaa::Array handle.
//
// Usage: simulation FILE.npy [THREADS] [STEPS] [resume]
// Starts a new file, or with `resume` appends to an existing one (e.g. after a crash: opening
// cuts the space a killed run had reserved; a file cut short needs `npaa recover` first).
// Then in Python: a = np.load("FILE.npy", mmap_mode="r"); a["t"], a["pos"], ...
// examples-c/check.py verifies every row (the test command runs it).
#include <npaa.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

// One row of the file. The descr is packed (no padding): 8 + 4 + 8 + 3 * 4 = 32 bytes, so the
// row is written field by field into a byte buffer rather than as a C++ struct (which would
// have padding after `thread`).
const char *const kRowDescr = "[('step', '<u8'), ('thread', '<u4'), ('t', '<f8'), ('pos', '<f4', (3,))]";
constexpr std::size_t kRowSize = 32;

struct State {
    std::uint64_t step;
    std::uint32_t thread;
    double t;
    float pos[3];
};

// The toy model: every value is a function of (thread, step) that check.py recomputes
// exactly (all values are exactly representable).
State step_model(std::uint32_t thread, std::uint64_t step) {
    State s{};
    s.step = step;
    s.thread = thread;
    s.t = static_cast<double>(step) * 0.25 + thread * 1000.0;
    s.pos[0] = static_cast<float>(thread) + static_cast<float>(step) * 0.5f;
    s.pos[1] = -static_cast<float>(step);
    s.pos[2] = static_cast<float>((thread * step) % 1000);
    return s;
}

void pack(const State &s, unsigned char (&row)[kRowSize]) {
    static_assert(sizeof(s.pos) == 12, "three 4-byte floats");
    std::memcpy(row + 0, &s.step, 8);
    std::memcpy(row + 8, &s.thread, 4);
    std::memcpy(row + 12, &s.t, 8);
    std::memcpy(row + 20, s.pos, 12);
}

}  // namespace

int main(int argc, char **argv) {
    if (!npaa::detail::little_endian()) {
        std::cerr << "this example writes little-endian rows\n";
        return 1;
    }
    const std::string path = argc > 1 ? argv[1] : "simulation.npy";
    const unsigned threads = argc > 2 ? static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10)) : 4;
    const std::uint64_t steps = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;
    try {
        if (npaa::dtype_itemsize(kRowDescr) != kRowSize) {
            std::cerr << "descr and row layout disagree\n";
            return 1;
        }
        const bool resume = argc > 4 && std::string(argv[4]) == "resume";
        // Mapped mode: each 32-byte row is copied into space reserved past the data, with no
        // system call per append; the header still counts every row as soon as it is written.
        npaa::Array array(path, npaa::Options().delete_if_exists(!resume).mapped_window(1 << 20));
        // Fail now, not after the first step, if the file cannot take these rows.
        array.check_append(kRowDescr, {1});

        std::vector<std::thread> workers;
        std::vector<std::exception_ptr> errors(threads);
        for (unsigned id = 0; id < threads; id++) {
            workers.emplace_back([&array, &errors, id, steps] {
                try {
                    for (std::uint64_t step = 0; step < steps; step++) {
                        unsigned char row[kRowSize];
                        pack(step_model(id, step), row);
                        array.append_raw(row, kRowDescr, {1});  // thread-safe on one handle
                        if (step % 250 == 0) (void)array.shape();  // concurrent readers too
                    }
                } catch (...) {
                    errors[id] = std::current_exception();
                }
            });
        }
        for (auto &worker : workers) worker.join();
        for (auto &error : errors) {
            if (error) std::rethrow_exception(error);
        }
        const auto shape = array.shape();
        array.close();
        std::cout << "simulation: " << threads << " threads x " << steps << " steps -> " << path
                  << " shape (" << shape.at(0) << ",)\n";
    } catch (const npaa::Error &e) {
        std::cerr << "simulation: " << e.status_str() << "\n  " << e.what() << "\n";
        return 1;
    }
    return 0;
}
