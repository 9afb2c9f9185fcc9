"""Checks with NumPy the files the MPI programs wrote (run by scripts/mpi-tests).

Usage: mpi_check.py steps FILE KIND RANKS STEPS [SCALE]     exactly STEPS whole steps
       mpi_check.py prefix FILE KIND RANKS MAXSTEPS [SCALE] some whole steps; prints
                                                            "STEPS TAIL HOLES": how many, the
                                                            bytes past what the header counts,
                                                            1 if those are not the next step's
       mpi_check.py exact FILE                              no bytes past the header's count
       mpi_check.py bad FILE RANKS                          the two good steps of `mpi_steps bad`
       mpi_check.py simulation FILE RANKS STEPS
       mpi_check.py wrapper FILE RANKS                      what mpi_wrapper.cpp writes
The expected arrays are recomputed here from the rules in mpi_steps.c / mpi_simulation.c,
independently of npaa, and compared with np.array_equal, row by row; files are also compared
with what np.save writes for the expected array, byte for byte.
"""

import io
import os
import sys

import numpy as np

REC = np.dtype([("step", "<u4"), ("rank", "<u2"), ("i", "<u2"), ("v", "<f8", (2,))])


def rows_of(step, rank, scale):
    return ((5 * step + 3 * rank) % 4) * scale


def block(kind, step, rank, scale):
    n = rows_of(step, rank, scale)
    i = np.arange(n)
    value = step * 1000.0 + rank * 10.0 + i
    if kind == "rec":
        b = np.zeros(n, REC)
        b["step"], b["rank"], b["i"] = step, rank, i % 65536
        b["v"][:, 0], b["v"][:, 1] = value, -(step + 0.5)
        return b
    if kind == "fortran":
        return np.stack([value + d / 8.0 for d in range(3)])  # (3, n)
    if kind == "cast":
        return np.stack([value, i.astype(np.float64)], axis=1).astype("<f8")  # (n, 2)
    raise SystemExit(f"unknown kind {kind}")


def expected(kind, ranks, steps, scale):
    blocks = [block(kind, s, r, scale) for s in range(steps) for r in range(ranks)]
    axis = 1 if kind == "fortran" else 0
    if not blocks:
        return block(kind, 0, 0, 0)
    out = np.concatenate(blocks, axis=axis)
    return np.asfortranarray(out) if kind == "fortran" else out


def saved_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def header_end(path):
    """Offset where the data NumPy reads ends."""
    a = np.load(path, mmap_mode="r")
    return a.offset + a.nbytes


def check_steps(path, kind, ranks, steps, scale):
    a = np.load(path)
    want = expected(kind, ranks, steps, scale)
    assert a.dtype == want.dtype, (a.dtype, want.dtype)
    assert a.shape == want.shape, (a.shape, want.shape)
    assert np.array_equal(a, want), "values differ"
    if kind == "fortran" and want.shape[1] > 0:
        assert np.isfortran(np.load(path, mmap_mode="r")), "not Fortran order"
    with open(path, "rb") as f:
        data = f.read()
    assert data == saved_bytes(want), "bytes differ from np.save of the concatenation"
    return f"{path}: {a.shape} {a.dtype}: {steps} steps of {ranks} ranks, every row exact"


def check_prefix(path, kind, ranks, max_steps, scale):
    a = np.load(path)
    axis = 1 if kind == "fortran" else 0
    n = a.shape[axis]
    total, steps = 0, 0
    while total < n and steps < max_steps:
        total += sum(rows_of(steps, r, scale) for r in range(ranks))
        steps += 1
    assert total == n, f"{n} rows is not a whole number of steps (steps end at {total})"
    want = expected(kind, ranks, steps, scale)
    assert a.dtype == want.dtype and a.shape == want.shape, (a.dtype, a.shape, want.shape)
    assert np.array_equal(a, want), "values differ"
    end = header_end(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(end)
        rest = f.read()
    # An unfinished step lies under the reservation mark that ends the file (24 bytes: the
    # magic, then the file's length as a little-endian u64), with the rest of the marked
    # window, never written, reading as zeros: the step's bytes are those up to the last
    # non-zero one.
    if rest[-24:-8] == b"\x93NPAA-reserved\0\n" and int.from_bytes(rest[-8:], "little") == size:
        rest = rest[:-24].rstrip(b"\0")
    tail = len(rest)
    # A tail that is not the start of the next step's bytes has holes (a lower rank's block
    # not written while a higher one's was).
    order = "F" if kind == "fortran" else "C"
    following = b"".join(block(kind, steps, r, scale).tobytes(order) for r in range(ranks))
    holes = int(rest != following[:tail])
    print(steps, tail, holes)


def check_exact(path):
    tail = os.path.getsize(path) - header_end(path)
    assert tail == 0, f"{tail} bytes past what the header counts"
    return f"{path}: no bytes past the header's count"


def check_bad(path, ranks):
    rows = [np.array([[r * 10.0 + i + d / 8.0 for d in range(3)] for i in range(r + 1)]) for r in range(ranks)]
    want = np.concatenate(rows + rows)
    a = np.load(path)
    assert a.shape == want.shape and np.array_equal(a, want), (a.shape, want.shape)
    with open(path, "rb") as f:
        assert f.read() == saved_bytes(want), "bytes differ from np.save"
    return f"{path}: {a.shape}: the two good steps, nothing of the refused ones"


ROW = np.dtype([("step", "<u8"), ("rank", "<i4"), ("particle", "<u4"), ("pos", "<f8", (3,))])


def check_simulation(path, ranks, steps):
    parts = []
    for step in range(steps):
        for r in range(ranks):
            n = r % 3 + 1
            b = np.zeros(n, ROW)
            b["step"], b["rank"], b["particle"] = step, r, np.arange(n)
            base = r * 100.0 + np.arange(n)[:, None] * 10.0 + np.arange(3)[None, :]
            b["pos"] = base + 0.25 * np.arange(1, 4)[None, :] * (step + 1)
            parts.append(b)
    want = np.concatenate(parts)
    a = np.load(path, mmap_mode="r")
    assert a.dtype == ROW and a.shape == want.shape, (a.dtype, a.shape, want.shape)
    assert np.array_equal(np.asarray(a), want), "values differ"
    return f"{path}: {a.shape}, every row exact"


def check_wrapper(path, ranks):
    rows = [[s, r] for s in range(10) for r in range(ranks) for _ in range((s + r) % 3)]
    want = np.array(rows, dtype="<i8").reshape(-1, 2)
    a = np.load(path)
    assert a.dtype == want.dtype and np.array_equal(a, want), (a.dtype, a.shape, want.shape)
    with open(path, "rb") as f:
        assert f.read() == saved_bytes(want), "bytes differ from np.save"
    return f"{path}: {a.shape}, every row exact"


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd in ("steps", "prefix"):
        path, kind, ranks, steps = args[0], args[1], int(args[2]), int(args[3])
        scale = int(args[4]) if len(args) > 4 else 1
        if cmd == "steps":
            print(check_steps(path, kind, ranks, steps, scale))
        else:
            check_prefix(path, kind, ranks, steps, scale)
    elif cmd == "exact":
        print(check_exact(args[0]))
    elif cmd == "bad":
        print(check_bad(args[0], int(args[1])))
    elif cmd == "wrapper":
        print(check_wrapper(args[0], int(args[1])))
    elif cmd == "simulation":
        print(check_simulation(args[0], int(args[1]), int(args[2])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
