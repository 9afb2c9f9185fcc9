"""The Python side of bench/compare: runs one scenario with the reference implementation,
npy-append-array (PyPI), and prints one JSON object like npaa's compare_driver does. With
NPAA_BENCH_PYTHON=npaa in the environment it runs the same code with npaa's Python package
(`npaa`, a drop-in NpyAppendArray) instead: the Python-API rows compare the two through
identical calls.

Not a user-facing tool: bench/compare runs it with the project's venv (.venv), once per
measurement. Every scenario appends rows of 16 float64 (128 bytes), shape (n, 16), the same
bytes npaa's driver writes. Timings cover the same work as the Rust driver's: the appends and
the close, not the interpreter's start-up or the imports.

    ref_driver.py tiny PATH N rewrite|norewrite|mapped   (1 + N rows; N timed; mapped: npaa)
    ref_driver.py large PATH TOTAL BLOCK [sync]
    ref_driver.py reopen PATH N
    ref_driver.py ensure PATH inplace|copy
    ref_driver.py recover PATH
    ref_driver.py append-npy DEST SRC
    ref_driver.py tofile PATH TOTAL BLOCK           (ndarray.tofile of the same blocks)
    ref_driver.py threads DIR FILES TOTAL BLOCK     (one thread per file, TOTAL bytes each)
    ref_driver.py ragged PATH RECORDS SEED          (records of 50..1500 rows of 768 f4)
    ref_driver.py refresh PATH ROWS REPS            (npaa only: Reader.refresh on ROWS rows)

`ragged` is fairseq's HuBERT feature dump: with the reference, the fairseq way (an
NpyAppendArray of the concatenated features plus a text file of lengths, one per line); with
npaa, a RaggedAppendArray (the data file plus its index of record ends).
"""

import json
import os
import sys
import threading
import time

import numpy as np

if os.environ.get("NPAA_BENCH_PYTHON") == "npaa":
    import npaa as naa
    from npaa import NpyAppendArray
else:
    import npy_append_array as naa
    from npy_append_array import NpyAppendArray

COLS = 16
ROW = COLS * 8
CHUNK = 5000  # appends per timed chunk in `tiny`


def report(seconds, ops, **extra):
    print(json.dumps({"seconds": seconds, "ops": ops, **extra}))


def rows(n):
    """Up to 1024 distinct rows of shape (1, 16), as the Rust driver uses."""
    base = np.arange(min(n, 1024) * COLS, dtype="<f8").reshape(-1, 1, COLS)
    return list(base)


def tiny(path, n, mode):
    blocks = rows(n)
    if mode == "mapped":  # npaa's mapped mode (a 1 MiB window); the reference has none
        array = NpyAppendArray(path, delete_if_exists=True, mapped=True)
    else:
        rewrite = {"rewrite": True, "norewrite": False}[mode]
        array = NpyAppendArray(path, delete_if_exists=True, rewrite_header_on_append=rewrite)
    array.append(blocks[0])  # creates the file: before the clock starts, as in the Rust driver
    # Also timed: each run of CHUNK appends, whose fastest is what an append costs when the
    # machine lets it run (the whole run's time also holds the other load of the machine).
    best = float("inf")
    start = time.perf_counter()
    for first in range(0, n, CHUNK):
        chunk_start = time.perf_counter()
        for i in range(first, min(first + CHUNK, n)):
            array.append(blocks[i % 1024])
        best = min(best, (time.perf_counter() - chunk_start) / (min(first + CHUNK, n) - first))
    array.close()
    report(time.perf_counter() - start, n, best_op_seconds=best)


def large(path, total, block, sync=False):
    block_rows = block // ROW
    data = np.arange(block_rows * COLS, dtype="<f8").reshape(block_rows, COLS)
    blocks = total // (block_rows * ROW)
    if os.path.exists(path):
        os.unlink(path)
    array = NpyAppendArray(path)
    start = time.perf_counter()
    for _ in range(blocks):
        array.append(data)
    if sync:
        array.fp.flush()
        os.fsync(array.fp.fileno())
    array.close()
    report(time.perf_counter() - start, blocks, bytes=blocks * block_rows * ROW)


def reopen(path, n):
    blocks = rows(n)
    with NpyAppendArray(path, delete_if_exists=True) as first:
        first.append(blocks[0])
    start = time.perf_counter()
    for i in range(n):
        with NpyAppendArray(path) as array:
            array.append(blocks[i % 1024])
    report(time.perf_counter() - start, n)


def ensure(path, how):
    start = time.perf_counter()
    naa.ensure_appendable(path, inplace={"inplace": True, "copy": False}[how])
    report(time.perf_counter() - start, 1)


def recover(path):
    start = time.perf_counter()
    naa.recover(path, zerofill_incomplete=True)
    report(time.perf_counter() - start, 1)


def tofile(path, total, block):
    """The baseline of `large`: the same blocks written with ndarray.tofile."""
    block_rows = block // ROW
    data = np.arange(block_rows * COLS, dtype="<f8").reshape(block_rows, COLS)
    blocks = total // (block_rows * ROW)
    start = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(blocks):
            data.tofile(f)
    report(time.perf_counter() - start, blocks, bytes=blocks * block_rows * ROW)


def threads(directory, files, total, block):
    """`files` threads, each appending TOTAL bytes in BLOCK-byte appends to a file of its
    own; the time is the wall time until all are done (the aggregate rate)."""
    block_rows = max(block // ROW, 1)
    data = np.arange(block_rows * COLS, dtype="<f8").reshape(block_rows, COLS)
    blocks = max(total // (block_rows * ROW), 1)
    arrays = []
    for i in range(files):
        array = NpyAppendArray(os.path.join(directory, f"thread{i}.npy"), delete_if_exists=True)
        array.append(data)  # creates the file, before the clock starts
        arrays.append(array)
    barrier = threading.Barrier(files + 1)

    def work(array):
        barrier.wait()
        for _ in range(blocks):
            array.append(data)
        array.close()

    workers = [threading.Thread(target=work, args=(a,)) for a in arrays]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    report(time.perf_counter() - start, files * blocks, bytes=files * blocks * block_rows * ROW)


def append_npy(dest, src):
    start = time.perf_counter()
    source = np.load(src, mmap_mode="r")
    with NpyAppendArray(dest) as array:
        array.append(source)
    report(time.perf_counter() - start, int(source.shape[0]))


def ragged(path, n, seed):
    lengths = np.random.default_rng(seed).integers(50, 1501, size=n)
    pool = np.random.default_rng(0).standard_normal((1500, 768)).astype("<f4")
    start = time.perf_counter()
    if os.environ.get("NPAA_BENCH_PYTHON") == "npaa":
        with naa.RaggedAppendArray(path, delete_if_exists=True) as feats:
            for length in lengths:
                feats.append(pool[:length])
    else:
        # fairseq's dump_hubert_feature.py: feat_f.append(feat); print(leng, file=leng_f).
        feat_f = NpyAppendArray(path, delete_if_exists=True)
        with open(path[: -len(".npy")] + ".len", "w") as leng_f:
            for length in lengths:
                feat_f.append(pool[:length])
                print(length, file=leng_f)
        feat_f.close()
    report(time.perf_counter() - start, n, bytes=int(lengths.sum()) * 768 * 4)


def refresh(path, n, reps):
    """Reader.refresh() on a file of n rows of 1 float64: unchanged (`still`), and after the
    writer appended one row (`growing`, only the refresh timed)."""
    with naa.NpyAppendArray(path, delete_if_exists=True) as w:
        chunk = np.zeros((1 << 20, 1), dtype="<f8")
        left = n
        while left:
            w.append(chunk[: min(left, len(chunk))])
            left -= min(left, len(chunk))
    reader = naa.Reader(path)
    assert reader.refresh().shape == (n, 1)
    start = time.perf_counter()
    for _ in range(reps):
        reader.refresh()
    still = time.perf_counter() - start
    growing = 0.0
    with naa.NpyAppendArray(path) as w:
        row = np.ones((1, 1), dtype="<f8")
        for _ in range(reps):
            w.append(row)
            t = time.perf_counter()
            reader.refresh()
            growing += time.perf_counter() - t
    assert reader.refresh().shape == (n + reps, 1)
    report(still, reps, growing=growing)


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "tiny":
        tiny(args[0], int(args[1]), args[2])
    elif cmd == "large":
        large(args[0], int(args[1]), int(args[2]), sync=args[3:] == ["sync"])
    elif cmd == "reopen":
        reopen(args[0], int(args[1]))
    elif cmd == "ensure":
        ensure(args[0], args[1])
    elif cmd == "recover":
        recover(args[0])
    elif cmd == "append-npy":
        append_npy(args[0], args[1])
    elif cmd == "tofile":
        tofile(args[0], int(args[1]), int(args[2]))
    elif cmd == "threads":
        threads(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "ragged":
        ragged(args[0], int(args[1]), int(args[2]))
    elif cmd == "refresh":
        refresh(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit(f"ref_driver: unknown scenario {cmd!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
