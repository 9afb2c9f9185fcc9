"""The shared-mode rows of bench/compare: many processes appending 1×16 float64 rows to one
.npy file with npaa's Python package, three ways, each printing one JSON object as
ref_driver.py does:

    shared_driver.py shared PATH PROCS N   PROCS processes, each with its own
                                           NpyAppendArray(PATH, shared=True), N rows in all
    shared_driver.py queue PATH PROCS N    PROCS processes put the same rows into one
                                           multiprocessing.Queue; one writer process (an
                                           exclusive NpyAppendArray) appends them: the way
                                           users funnel many workers into one file today
    shared_driver.py single PATH N         one exclusive writer alone, N rows

The clock starts when every process is running and has opened what it needs (a barrier)
and stops when the file is closed; process start-up and imports are not timed. Every file
is checked with NumPy (shape, and each row's values) before the report is printed.
"""

import json
import multiprocessing as mp
import os
import sys
import time

import numpy as np

import npaa

COLS = 16


def row(i):
    """Row i: COLS float64 that say which row it is."""
    return np.arange(i * COLS, (i + 1) * COLS, dtype="<f8").reshape(1, COLS)


def shared_worker(path, first, count, barrier):
    rows = [row(i) for i in range(first, first + count)]
    array = npaa.NpyAppendArray(path, shared=True)
    barrier.wait()
    for r in rows:
        array.append(r)
    array.close()


def producer(queue, first, count, barrier):
    rows = [row(i) for i in range(first, first + count)]
    barrier.wait()
    for r in rows:
        queue.put(r)
    queue.put(None)


def queue_writer(path, queue, producers, barrier):
    array = npaa.NpyAppendArray(path)
    barrier.wait()
    done = 0
    while done < producers:
        r = queue.get()
        if r is None:
            done += 1
        else:
            array.append(r)
    array.close()


def run(targets, barrier):
    """Starts the processes, waits at the barrier with them, and times the rest."""
    ctx_procs = [mp.Process(target=fn, args=args) for fn, args in targets]
    for p in ctx_procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    for p in ctx_procs:
        p.join()
    seconds = time.perf_counter() - start
    if any(p.exitcode != 0 for p in ctx_procs):
        sys.exit("a worker failed")
    return seconds


def shares(n, procs):
    per = n // procs
    return [(k * per, per if k < procs - 1 else n - k * per) for k in range(procs)]


def check(path, n):
    a = np.load(path)
    assert a.shape == (n, COLS), a.shape
    # Every row whole and present once, whatever the order the processes took turns in.
    first = a[:, 0].astype(np.int64) // COLS
    assert (a == first[:, None] * COLS + np.arange(COLS)).all(), "a row is torn"
    assert np.array_equal(np.sort(first), np.arange(n)), "rows missing or repeated"
    assert not npaa.needs_recovery(path)


def main(argv):
    mode, path = argv[0], argv[1]
    if os.path.exists(path):
        os.unlink(path)
    if mode == "single":
        n = int(argv[2])
        rows = [row(i) for i in range(n)]
        start = time.perf_counter()
        array = npaa.NpyAppendArray(path)
        for r in rows:
            array.append(r)
        array.close()
        seconds = time.perf_counter() - start
        procs = 1
    else:
        procs, n = int(argv[2]), int(argv[3])
        if mode == "shared":
            barrier = mp.Barrier(procs + 1)
            targets = [(shared_worker, (path, f, c, barrier)) for f, c in shares(n, procs)]
        elif mode == "queue":
            barrier = mp.Barrier(procs + 2)
            queue = mp.Queue(maxsize=10_000)
            targets = [(producer, (queue, f, c, barrier)) for f, c in shares(n, procs)]
            targets.append((queue_writer, (path, queue, procs, barrier)))
        else:
            sys.exit(f"unknown mode {mode!r}")
        seconds = run(targets, barrier)
    check(path, n)
    print(json.dumps({"seconds": seconds, "ops": n, "procs": procs}))


if __name__ == "__main__":
    main(sys.argv[1:])
