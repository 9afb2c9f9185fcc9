#!/usr/bin/env python3
"""Dask arrays to disk: npaa.dask.to_npy vs x.to_zarr, da.to_npy_stack and np.save(x.compute()).

Each contender runs in a fresh process (this script with --run NAME) on the same array: a
``da.random.random`` array of SIZE GiB in chunks of 8 MiB split along both axes, computed by the
threaded scheduler with WORKERS workers. The memory budget is a multiple of the chunk size;
every contender's peak RSS (the whole process: interpreter, Dask, chunks) is reported against
it. Times are wall-clock of the store alone (imports excluded), best of REPS; the written
data is checked (shape, and one chunk's values against the generator).

    .venv/bin/python bench/dask_compare.py [--size-gib 4] [--workers 2] [--reps 2]
        [--dir DIR] [--budget-mib 1024]

Prints a Markdown table. Needs the venv's dask, zarr and npaa (scripts/setup-venv, then
``pip install ./npaa-python``).
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

COLS = 4096  # f8 columns: 32 KiB per row
CHUNK_ROWS = 1024  # chunks of 1024 rows x 1024 columns: 8 MiB, 4 across a row


_NOISE = []


def fill(block, block_info=None):
    """A chunk of incompressible values that tell where it lies: one random chunk per process,
    plus the chunk's position (cheap: the writers, not the generator, are measured)."""
    import numpy as np

    if not _NOISE:
        _NOISE.append(np.random.default_rng(7).random((CHUNK_ROWS, COLS // 4)))
    row, col = block_info[None]["chunk-location"]
    return _NOISE[0][: block.shape[0], : block.shape[1]] + (row * 4.0 + col)


def array(size_gib):
    import dask.array as da

    rows = (size_gib << 30) // (COLS * 8)
    rows -= rows % CHUNK_ROWS
    zeros = da.zeros((rows, COLS), chunks=(CHUNK_ROWS, COLS // 4))
    return zeros.map_blocks(fill, dtype="<f8")


def run(name, size_gib, workers, out):
    import dask
    import dask.array as da
    import numpy as np

    x = array(size_gib)
    dask.config.set(scheduler="threads", num_workers=workers)
    start = time.perf_counter()
    if name == "npaa.dask.to_npy":
        import npaa.dask

        npaa.dask.to_npy(out, x)
    elif name == "x.to_zarr":
        x.to_zarr(out)
    elif name == "da.to_npy_stack":
        da.to_npy_stack(out, x, axis=0)
    elif name == "np.save(x.compute())":
        np.save(out, x.compute())
    else:
        raise SystemExit(f"unknown contender {name}")
    seconds = time.perf_counter() - start
    # Check: the shape, and the first chunk's values.
    first = x[:CHUNK_ROWS, : COLS // 4].compute()
    if name in ("npaa.dask.to_npy", "np.save(x.compute())"):
        got = np.load(out, mmap_mode="r")
        shape, head = got.shape, np.asarray(got[:CHUNK_ROWS, : COLS // 4])
    elif name == "x.to_zarr":
        got = da.from_zarr(out)
        shape, head = got.shape, got[:CHUNK_ROWS, : COLS // 4].compute()
    else:
        got = da.from_npy_stack(out)
        shape, head = got.shape, got[:CHUNK_ROWS, : COLS // 4].compute()
    ok = tuple(shape) == x.shape and np.array_equal(head, first)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "ok": bool(ok)}))


CONTENDERS = ["npaa.dask.to_npy", "x.to_zarr", "da.to_npy_stack", "np.save(x.compute())"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size-gib", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--budget-mib", type=int, default=1024)
    p.add_argument("--dir", default=os.environ.get("TMPDIR", "/tmp"))
    p.add_argument("--only", default="")
    p.add_argument("--run")
    p.add_argument("--out")
    args = p.parse_args()
    if args.run:
        run(args.run, args.size_gib, args.workers, args.out)
        return
    names = [n for n in CONTENDERS if not args.only or n in args.only.split(",")]
    results = {n: [] for n in names}
    for _ in range(args.reps):
        for name in names:  # interleaved
            out = os.path.join(args.dir, "dask-bench-" + name.split("(")[0].replace(".", "-") + ".npy")
            cmd = [sys.executable, __file__, "--run", name, "--out", out,
                   "--size-gib", str(args.size_gib), "--workers", str(args.workers)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if os.path.isdir(out):
                shutil.rmtree(out)
            elif os.path.exists(out):
                os.remove(out)
            if proc.returncode != 0:
                results[name].append({"error": proc.stderr.strip().splitlines()[-1]})
                continue
            results[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    size = args.size_gib << 10
    print(f"Array: {args.size_gib} GiB of f8, incompressible chunks made by map_blocks ({array(args.size_gib).shape}, chunks of 8 MiB "
          f"split 4 ways along the rows), threads scheduler, {args.workers} workers; "
          f"memory budget {args.budget_mib} MiB (peak RSS of the whole process); best of "
          f"{args.reps}.\n")
    print("| Contender | Time | Throughput | Peak RSS | Within budget | One file | Data checked |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        runs = [r for r in results[name] if "error" not in r]
        if not runs:
            print(f"| {name} | failed: {results[name][0]['error']} | | | | | |")
            continue
        best = min(runs, key=lambda r: r["seconds"])
        peak = max(r["peak_mib"] for r in runs)
        print(f"| {name} | {best['seconds']:.2f} s | {size / best['seconds']:,.0f} MiB/s | "
              f"{peak:,} MiB | {'yes' if peak <= args.budget_mib else 'no'} | "
              f"{'yes' if name in ('npaa.dask.to_npy', 'np.save(x.compute())') else 'no'} | "
              f"{'yes' if all(r['ok'] for r in runs) else 'NO'} |")


if __name__ == "__main__":
    main()
