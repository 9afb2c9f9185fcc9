"""Checks with NumPy the files the C/C++ examples wrote (run by scripts/c-tests).

Usage: check.py append FILE STEPS
       check.py simulation FILE THREADS STEPS
       check.py recover FILE
       check.py wrapper DIR
       check.py ragged FILE RECORDS
       check.py shared FILE WORKERS BLOCKS
Every file is opened the way users open it: np.load(..., mmap_mode="r").
"""

import sys

import numpy as np


def load(path):
    a = np.load(path, mmap_mode="r")
    assert isinstance(a, np.memmap), type(a)
    return a


def check_append(path, steps):
    a = load(path)
    step = np.arange(steps, dtype="<f8")
    expected = np.stack([step, 0.5 * step, np.full(steps, -1.0)], axis=1)
    assert a.dtype == np.dtype("<f8"), a.dtype
    assert a.shape == (steps, 3), a.shape
    assert np.array_equal(a, expected), "values differ"
    return f"{path}: {a.shape} {a.dtype}"


ROW = np.dtype([("step", "<u8"), ("thread", "<u4"), ("t", "<f8"), ("pos", "<f4", (3,))])


def check_simulation(path, threads, steps):
    a = load(path)
    assert a.dtype == ROW, a.dtype
    assert a.shape == (threads * steps,), a.shape
    rows = np.asarray(a)
    # Every (thread, step) exactly once.
    keys = rows["thread"].astype(np.uint64) * steps + rows["step"]
    assert rows["thread"].max() < threads and rows["step"].max() < steps
    assert np.array_equal(np.sort(keys), np.arange(threads * steps, dtype=np.uint64)), "missing or duplicate rows"
    # Every value, recomputed as simulation.cpp computes it.
    thread = rows["thread"].astype(np.uint64)
    step = rows["step"]
    assert np.array_equal(rows["t"], step * 0.25 + thread * 1000.0), "t differs"
    pos = np.stack(
        [
            thread.astype(np.float32) + step.astype(np.float32) * np.float32(0.5),
            -step.astype(np.float32),
            ((thread * step) % 1000).astype(np.float32),
        ],
        axis=1,
    )
    assert np.array_equal(rows["pos"], pos), "pos differs"
    # Each thread's rows are in step order: every append landed whole and in call order.
    for t in range(threads):
        assert np.array_equal(step[rows["thread"] == t], np.arange(steps)), f"thread {t} out of order"
    return f"{path}: {threads} threads x {steps} steps, every row checked"


def check_recover(path):
    a = load(path)
    # recover.c writes rows i = 0..9 as [i, i + 0.5, -i], cuts the file inside row 7, recovers
    # (7 rows), then appends rows 7..9 again.
    i = np.arange(10, dtype="<f8")
    expected = np.stack([i, i + 0.5, -i], axis=1)
    assert a.shape == (10, 3), a.shape
    assert np.array_equal(a, expected), "values differ"
    return f"{path}: recovered and grown to {a.shape}"


def check_wrapper(directory):
    # cpp_wrapper.cpp appends [1, 2] then [3, 4] with each C++ type.
    for name, descr in [
        ("bool", "|b1"), ("int8", "|i1"), ("int16", "<i2"), ("int32", "<i4"), ("int64", "<i8"),
        ("longlong", "<i8"), ("uint8", "|u1"), ("uint16", "<u2"), ("uint32", "<u4"),
        ("uint64", "<u8"), ("float32", "<f4"), ("float64", "<f8"),
    ]:
        a = load(f"{directory}/{name}.npy")
        assert a.dtype == np.dtype(descr), (name, a.dtype)
        assert np.array_equal(a, np.array([1, 2, 3, 4]).astype(descr)), (name, a)
    rows = load(f"{directory}/rows.npy")
    assert rows.dtype == np.dtype("<f8") and np.array_equal(rows, np.arange(9.0).reshape(3, 3)), rows
    fortran = load(f"{directory}/fortran.npy")
    assert fortran.flags.f_contiguous and fortran.dtype == np.dtype("<f4"), fortran.flags
    assert np.array_equal(fortran, np.arange(1, 10, dtype="<f4").reshape(3, 3, order="F")), fortran
    # npaa_append_ordered(): byte-identical to np.save of E in each file's order.
    import io
    e = np.arange(12.0).reshape(3, 4)
    for name, expected in [("ordered_f", np.asfortranarray(e)), ("ordered_c", e)]:
        a = load(f"{directory}/{name}.npy")
        assert np.array_equal(a, e), (name, a)
        saved = io.BytesIO()
        np.save(saved, expected)
        with open(f"{directory}/{name}.npy", "rb") as f:
            assert f.read() == saved.getvalue(), f"{name}: bytes differ from np.save"
    shared = load(f"{directory}/shared.npy")
    assert np.array_equal(shared, np.arange(12.0).reshape(6, 2)), shared
    # npaa::RaggedArray: records of 3, 0, 2, 1, 2 and 1 rows, row r = [r, r + 0.5].
    data = load(f"{directory}/ragged.npy")
    r = np.arange(9.0)[:, None]
    assert data.dtype == np.dtype("<f8") and np.array_equal(data, np.hstack([r, r + 0.5])), data
    ends = load(f"{directory}/ragged.idx.npy")
    assert ends.dtype == np.dtype("<i8") and ends.tolist() == [3, 3, 5, 6, 8, 9], ends
    return (f"{directory}: 12 typed files, rows.npy, fortran.npy, ordered_f.npy, ordered_c.npy, "
            "shared.npy, ragged.npy")


def check_shared(path, workers, blocks):
    """shared.c: every worker's blocks whole, each worker's in order, none missing."""
    a = np.asarray(load(path))
    assert a.dtype == np.dtype("<u8") and a.ndim == 2 and a.shape[1] == 4, (a.dtype, a.shape)
    nxt = [0] * workers
    i = 0
    while i < len(a):
        w, b, k, n = (int(v) for v in a[i])
        block = a[i : i + n]
        assert k == 0 and b == nxt[w] and len(block) == n, (i, a[i])
        assert (block[:, :2] == [w, b]).all() and (block[:, 2] == np.arange(n)).all(), i
        assert (block[:, 3] == n).all(), i
        nxt[w] += 1
        i += n
    assert nxt == [blocks] * workers, nxt
    return f"{path}: {a.shape}, {workers} x {blocks} whole blocks"


def check_ragged(path, records):
    """ragged.c: record r has r % 7 rows [r, j, r + j, -1]; the index holds the record ends."""
    a = load(path)
    ends = load(path[: -len(".npy")] + ".idx.npy")
    lengths = np.arange(records) % 7
    assert ends.dtype == np.dtype("<i8") and np.array_equal(ends, np.cumsum(lengths)), ends
    assert a.dtype == np.dtype("<f4") and a.shape == (int(lengths.sum()), 4), (a.dtype, a.shape)
    r = np.repeat(np.arange(records), lengths).astype("<f4")
    j = np.concatenate([np.arange(n) for n in lengths]).astype("<f4")
    expected = np.stack([r, j, r + j, np.full(len(r), -1.0, "<f4")], axis=1)
    assert np.array_equal(a, expected), "values differ"
    return f"{path}: {records} records, {a.shape} {a.dtype}"


def main(argv):
    kind, path, *rest = argv
    if kind == "append":
        message = check_append(path, int(rest[0]))
    elif kind == "simulation":
        message = check_simulation(path, int(rest[0]), int(rest[1]))
    elif kind == "recover":
        message = check_recover(path)
    elif kind == "wrapper":
        message = check_wrapper(path)
    elif kind == "ragged":
        message = check_ragged(path, int(rest[0]))
    elif kind == "shared":
        message = check_shared(path, int(rest[0]), int(rest[1]))
    else:
        raise SystemExit(f"unknown check {kind!r}")
    print(f"check.py: ok: {message}")


if __name__ == "__main__":
    main(sys.argv[1:])
