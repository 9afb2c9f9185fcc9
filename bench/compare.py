"""Side-by-side benchmark: npaa against the Python reference npy-append-array and against the
physical baseline (the same bytes written with plain write calls), measured in one run.

Run it through bench/compare (which builds the drivers and picks the project's venv); see
bench/README.md for what each scenario does. Ratios are reported, never asserted: the exit
status is non-zero only when a scenario fails to run or produces a wrong file.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(ROOT, "target", "release", "compare_driver")
NPAA = os.path.join(ROOT, "target", "release", "npaa")
REF_DRIVER = os.path.join(ROOT, "bench", "ref_driver.py")
SHARED_DRIVER = os.path.join(ROOT, "bench", "shared_driver.py")
CAPI_DRIVER = os.path.join(ROOT, "target", "bench", "capi_driver")
NOTES_MARKER = "<!-- notes below are kept when bench/compare rewrites this file -->"

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
ROW = 16 * 8  # every scenario appends rows of 16 float64

SIZES = {
    "full": dict(
        tiny_n=200_000,
        tiny_reps=3,
        buffer=1 * MIB,
        large_total=2 * GIB,
        large_block=64 * MIB,
        large_reps=5,
        large_sync=True,
        reopen_n=20_000,
        reopen_reps=5,
        ensure_size=1 * GIB,
        recover_size=1 * GIB,
        recover_small=1 * MIB,
        recover_reps=5,
        ensure_reps=2,
        large_sync_reps=2,
        append_size=2 * GIB,
        append_reps=3,
        ragged_records=300,
        ragged_reps=5,
        refresh_rows=(10**5, 10**6, 10**7),
        refresh_reps=20_000,
        shared_rows=200_000,
        shared_reps=3,
    ),
    "quick": dict(
        tiny_n=20_000,
        tiny_reps=1,
        buffer=1 * MIB,
        large_total=256 * MIB,
        large_block=64 * MIB,
        large_reps=1,
        large_sync=False,
        reopen_n=1_000,
        reopen_reps=1,
        ensure_size=64 * MIB,
        recover_size=64 * MIB,
        recover_small=1 * MIB,
        recover_reps=1,
        ensure_reps=1,
        large_sync_reps=1,
        append_size=128 * MIB,
        append_reps=1,
        ragged_records=20,
        ragged_reps=1,
        refresh_rows=(10**3, 10**4, 10**5),
        refresh_reps=1000,
        shared_rows=20_000,
        shared_reps=1,
    ),
}


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Failure(Exception):
    pass


GNU_TIME = "/usr/bin/time"


def run(argv, check_json=True, env=None):
    """Runs a driver; returns (its JSON report, wall seconds, peak RSS in bytes or None).

    The peak RSS comes from GNU time (Debian package `time`), which forks from a process of
    its own: a child forked from this Python process would report Python's RSS as its own
    high-water mark.
    """
    with tempfile.NamedTemporaryFile(mode="r") as rss_file:
        timed = os.path.exists(GNU_TIME)
        full = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv] if timed else argv
        start = time.perf_counter()
        proc = subprocess.run(full, capture_output=True, env=env)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise Failure(
                f"{' '.join(map(str, argv))} exited with {proc.returncode}: "
                f"{proc.stderr.decode(errors='replace').strip()}"
            )
        rss = int(rss_file.read().split()[-1]) * KIB if timed else None
    report = json.loads(proc.stdout.decode().strip().splitlines()[-1]) if check_json else {}
    return report, wall, rss


def rust(*args):
    return run([DRIVER, *map(str, args)])[0]


def ref(*args):
    return run([sys.executable, REF_DRIVER, *map(str, args)])[0]


def py_npaa(*args):
    """ref_driver.py run with npaa's Python package in place of the reference."""
    env = dict(os.environ, NPAA_BENCH_PYTHON="npaa")
    return run([sys.executable, REF_DRIVER, *map(str, args)], env=env)[0]


def drop_caches():
    """Empties the page cache; False if not allowed (not root, or a container)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def warm(path):
    with open(path, "rb") as f:
        while f.read(16 * MIB):
            pass


def remove(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def check_shape(path, shape, what):
    found = np.load(path, mmap_mode="r").shape
    if tuple(found) != tuple(shape):
        raise Failure(f"{what}: {path} loads with shape {found}, expected {shape}")


def median(values):
    return statistics.median(values)


def size_text(n):
    return f"{n / GIB:g} GiB" if n >= GIB else f"{n / MIB:g} MiB"


def interleaved(contenders, reps, after=None):
    """Runs every contender once unmeasured (a warm-up: on a VM, memory the guest touches for
    the first time is slow, which would penalize whoever runs first), then `reps` rounds of
    all contenders in turn. Returns {key: [reports]}."""
    results = {k: [] for k in contenders}
    for rnd in range(reps + 1):
        for key, fn in contenders.items():
            report = fn(warmup=rnd == 0)
            if after:
                after(key, rnd == 0)
            if rnd > 0:
                results[key].append(report)
    return results


# -- scenarios -------------------------------------------------------------------------------
# Each returns rows: dict(scenario, contender, seconds (median), ops, reps, extra...).


def row(scenario, contender, reports, best=False, **extra):
    """The median of the reports' times, or with `best` the shortest (for scenarios whose
    outliers come from the machine, not from the contender)."""
    secs = [r["seconds"] for r in reports]
    return dict(
        scenario=scenario,
        contender=contender,
        seconds=min(secs) if best else median(secs),
        all_seconds=secs,
        ops=reports[0]["ops"],
        bytes=reports[0].get("bytes"),
        **extra,
    )


def tiny(s, d):
    n, reps, buf = s["tiny_n"], s["tiny_reps"], s["buffer"]
    path = os.path.join(d, "tiny.npy")
    window = 1 * MIB
    on, off, buffered, mapped = (
        "tiny, header rewrite on",
        "tiny, header rewrite off",
        f"tiny, buffered ({size_text(buf)} buffer)",
        f"tiny, mapped mode, header rewrite on ({size_text(window)} window)",
    )

    def count(warmup):
        return max(n // 10, 1000) if warmup else n

    contenders = {
        (on, "npaa"): lambda warmup: rust("tiny", path, count(warmup), "rewrite"),
        (on, "reference"): lambda warmup: ref("tiny", path, count(warmup), "rewrite"),
        (on, "raw write"): lambda warmup: rust("raw-tiny", path, count(warmup)),
        (off, "npaa"): lambda warmup: rust("tiny", path, count(warmup), "norewrite"),
        (off, "reference"): lambda warmup: ref("tiny", path, count(warmup), "norewrite"),
        (buffered, "npaa"): lambda warmup: rust("tiny", path, count(warmup), f"buffered:{buf}"),
        (buffered, "raw write"): lambda warmup: rust(
            "raw-tiny-buffered", path, count(warmup), buf
        ),
        (mapped, "npaa"): lambda warmup: rust("tiny", path, count(warmup), f"mapped:{window}"),
    }

    def after(key, warmup):
        if key[1] == "npaa" and not warmup:
            check_shape(path, (n + 1, 16), f"{key[0]} ({key[1]})")
        remove(path)

    results = interleaved(contenders, reps, after)
    # The reference has no buffering: its rows for the other modes stand in, for the ratios.
    results[(off, "raw write")] = results[(on, "raw write")]
    results[(buffered, "reference (no buffering: its default mode, rewrite on)")] = results[
        (on, "reference")
    ]
    results[(mapped, "reference (no mapped mode: its default mode, rewrite on)")] = results[
        (on, "reference")
    ]
    results[(mapped, "raw write")] = results[(on, "raw write")]
    order = [on, mapped, off, buffered]
    keys = sorted(results, key=lambda k: order.index(k[0]))
    return [row(k[0], k[1], results[k], n=n) for k in keys]


def large(s, d):
    total, block, reps = s["large_total"], s["large_block"], s["large_reps"]
    path = os.path.join(d, "large.npy")
    rows = []
    variants = [("", reps)]
    if s["large_sync"]:
        variants.append(("sync", s["large_sync_reps"]))
    for sync, nreps in variants:
        name = f"large, {size_text(block)} per append to {size_text(total)}" + (
            " + fsync (disk)" if sync else f" (page cache, best of {nreps})"
        )
        extra = [sync] if sync else []

        def go(driver, *args):
            def fn(warmup):
                os.sync()  # start every run with no dirty pages of earlier runs
                return driver(*args)

            return fn

        contenders = {
            "npaa": go(rust, "large", path, total, block, *extra),
            "reference": go(ref, "large", path, total, block, *extra),
            "raw write": go(rust, "raw-large", path, total, block, *extra),
        }

        def after(key, warmup):
            if key == "npaa" and not warmup:
                check_shape(path, (total // ROW, 16), name)
            remove(path)

        if sync:  # disk-bound: no warm-up needed
            results = {key: [] for key in contenders}
            for rnd in range(nreps):
                for key, fn in contenders.items():
                    results[key].append(fn(False))
                    after(key, False)
        else:
            results = interleaved(contenders, nreps, after)
        # In the page cache, the time is that of copying 2 GiB into pages the guest may not
        # have touched for a while, which this VM makes up to 5x slower at random (91% of the
        # time in the kernel's copy, whoever the contender): the best run is the measure.
        rows += [row(name, c, v, best=not sync) for c, v in results.items()]
    return rows


def reopen(s, d):
    n, reps = s["reopen_n"], s["reopen_reps"]
    path = os.path.join(d, "reopen.npy")
    name = "reopen per append (open, append 1 row, close)"
    # npaa's system calls for the same cycle, made with nothing around them: the floor under
    # npaa's time, and so the highest ratio to the reference that this machine allows.
    calls = "npaa's system calls of that cycle alone (no parsing or checks)"

    def count(warmup):
        return max(n // 10, 100) if warmup else n

    contenders = {
        "npaa": lambda warmup: rust("reopen", path, count(warmup)),
        "reference": lambda warmup: ref("reopen", path, count(warmup)),
        "raw write": lambda warmup: rust("raw-reopen", path, count(warmup)),
        "calls alone": lambda warmup: rust("calls-reopen", path, count(warmup)),
    }

    def after(key, warmup):
        if key in ("npaa", "calls alone") and not warmup:
            check_shape(path, (n + 1, 16), f"{name} ({key})")
        remove(path)

    results = interleaved(contenders, reps, after)
    rows = [row(name, c, results[c], n=n) for c in ("npaa", "reference", "raw write")]
    # The floor's row: the same reference and raw runs stand in, for the ratios.
    rows.append(row(calls, "npaa (its system calls alone)", results["calls alone"], n=n))
    rows += [row(calls, c, results[c], n=n) for c in ("reference", "raw write")]
    return rows


def ensure(s, d, can_drop):
    size, reps = s["ensure_size"], s["ensure_reps"]
    path = os.path.join(d, "legacy.npy")
    rows = []
    caches = ["cold", "warm"] if can_drop else ["warm"]
    for how in ["inplace", "copy"]:
        for cache in caches:
            where = "in place" if how == "inplace" else "via copy"
            name = f"ensure_appendable {where}, {size_text(size)}, {cache} cache"
            results = {"npaa": [], "reference": []}
            for rnd in range(reps):
                for contender in results:
                    gen = rust("gen-legacy", path, size)
                    os.sync()
                    if cache == "cold":
                        drop_caches()
                    else:
                        warm(path)
                    if contender == "npaa":
                        report, _, rss = run([DRIVER, "ensure", path, how])
                    else:
                        report, _, rss = run([sys.executable, REF_DRIVER, "ensure", path, how])
                    check_shape(path, (gen["ops"], 16), f"{name} ({contender})")
                    report.update(peak_rss=rss, header_len=_header_len(path))
                    results[contender].append(report)
                    remove(path)
            for contender, reports in results.items():
                peaks = [r["peak_rss"] for r in reports if r["peak_rss"] is not None]
                rows.append(
                    row(name, contender, reports, peak_rss=max(peaks) if peaks else None,
                        method=reports[0].get("method"), header_len=reports[0]["header_len"])
                )
    return rows


def _header_len(path):
    with open(path, "rb") as f:
        head = f.read(12)
    if head[6] == 1:
        return 10 + int.from_bytes(head[8:10], "little")
    return 12 + int.from_bytes(head[8:12], "little")


def recover(s, d, can_drop):
    """A file left by an interrupted append (100 bytes of a 128-byte row after the data),
    repaired by zero-filling the row. The file is made once per size; each run breaks it
    again the same way (it grows by one row per run)."""
    rows = []
    path = os.path.join(d, "broken.npy")
    for size in [s["recover_small"], s["recover_size"]]:
        name = f"recover, {size_text(size)}"
        items = rust("gen-npy", path, size)["ops"]
        results = {"npaa": [], "reference": []}
        for rep in range(s["recover_reps"]):
            for contender in results:
                with open(path, "ab") as f:
                    f.write(b"\x01" * 100)
                os.sync()
                if can_drop:
                    drop_caches()
                driver = rust if contender == "npaa" else ref
                results[contender].append(driver("recover", path))
                items += 1
                check_shape(path, (items, 16), f"{name} ({contender})")
        remove(path)
        rows += [row(name, c, v, size=size) for c, v in results.items()]
    return rows


def append_cli(s, d, have_cli):
    """`npaa append DEST SRC` of a large source: bytes copied by the kernel when SRC has DEST's
    dtype; converted in bounded chunks when it does not (here: big-endian `>f8` into `<f8`)."""
    size, reps = s["append_size"], s["append_reps"]
    src = os.path.join(d, "source.npy")
    dest = os.path.join(d, "dest.npy")
    how = "CLI" if have_cli else "library: the CLI did not build"
    rows = []
    for generator, what in [("gen-npy", "<f8"), ("gen-npy-be", ">f8 into <f8, byte-swapped")]:
        name = f"`npaa append` of a {size_text(size)} .npy, {what} ({how})"
        gen = rust(generator, src, size)
        os.sync()
        argvs = {
            "npaa": [NPAA, "append", dest, src] if have_cli
            else [DRIVER, "append-npy", dest, src],
            "reference": [sys.executable, REF_DRIVER, "append-npy", dest, src],
            "raw write": [DRIVER, "raw-copy", src, dest],
        }

        def measure(contender):
            def fn(warmup):
                if contender != "raw write":
                    rust("gen-npy", dest, ROW)  # DEST holds one <f8 row; SRC is appended to it
                os.sync()
                _, wall, rss = run(argvs[contender], check_json=False)
                return dict(seconds=wall, ops=1, bytes=size, peak_rss=rss)

            return fn

        def after(contender, warmup):
            if contender != "raw write" and not warmup:
                check_shape(dest, (gen["ops"] + 1, 16), f"{name} ({contender})")
                if np.load(dest, mmap_mode="r").dtype != np.dtype("<f8"):
                    raise Failure(f"{name} ({contender}): {dest} is not <f8")
            remove(dest)
            os.sync()

        results = interleaved({c: measure(c) for c in argvs}, reps, after)
        remove(src)
        rows += [
            row(name, c, v, peak_rss=None if any(r["peak_rss"] is None for r in v)
                else max(r["peak_rss"] for r in v))
            for c, v in results.items()
        ]
    return rows


# -- report ------------------------------------------------------------------------------------


def python_api(s, d):
    """npaa's Python package against the reference, through the same Python calls
    (ref_driver.py with and without NPAA_BENCH_PYTHON=npaa)."""
    rows = []
    path = os.path.join(d, "py.npy")
    n, reopen_n = s["tiny_n"], s["reopen_n"]

    def pair(name, argv, reps, check, best=False, baseline=None):
        contenders = {
            "npaa (Python)": lambda warmup: py_npaa(*argv(warmup)),
            "reference": lambda warmup: ref(*argv(warmup)),
        }
        if baseline:
            contenders["raw write (ndarray.tofile)"] = lambda warmup: ref(*baseline(warmup))
            # As in `large`: every run starts with no dirty pages of earlier runs.
            contenders = {k: (lambda fn: lambda warmup: (os.sync(), fn(warmup))[1])(fn)
                          for k, fn in contenders.items()}

        def after(key, warmup):
            if key.startswith("npaa") and not warmup:
                check()
            remove(path)

        results = interleaved(contenders, reps, after)
        return [row(name, c, v, best=best) for c, v in results.items()]

    small = lambda count: (lambda warmup: max(count // 10, 100) if warmup else count)
    tiny_n, reopen_count = small(n), small(reopen_n)
    tiny_rows = pair("Python API: tiny appends (1×16 f64), header rewrite on",
                     lambda w: ("tiny", path, tiny_n(w), "rewrite"), s["tiny_reps"],
                     lambda: check_shape(path, (n + 1, 16), "python tiny"))
    rows += tiny_rows
    # The same append from Python and through the C ABI (bench/capi_driver.c), mapped mode:
    # what the Python call itself costs.
    mapped = "Python API: tiny appends (1×16 f64), mapped mode (1 MiB window)"
    contenders = {
        "npaa (Python)": lambda warmup: py_npaa("tiny", path, tiny_n(warmup), "mapped"),
        "C ABI": lambda warmup: run(
            [CAPI_DRIVER, "tiny", path, str(tiny_n(warmup)), f"mapped:{MIB}"])[0],
    }

    def after_mapped(key, warmup):
        if not warmup:
            check_shape(path, (n + 1, 16), f"python mapped ({key})")
        remove(path)

    results = interleaved(contenders, s["tiny_reps"], after_mapped)
    rows += [row(mapped, c, v, best_op=min(r["best_op_seconds"] for r in v))
             for c, v in results.items()]
    reference = next(r for r in tiny_rows if r["contender"] == "reference")
    rows.append(dict(reference, scenario=mapped,
                     contender="reference (no mapped mode: its default mode, rewrite on)"))
    rows += pair("Python API: open, append 1 row, close",
                 lambda w: ("reopen", path, reopen_count(w)), s["reopen_reps"],
                 lambda: check_shape(path, (reopen_n + 1, 16), "python reopen"))
    total, block = s["large_total"], s["large_block"]
    rows += pair(f"Python API: {size_text(block)} per append to {size_text(total)} "
                 f"(page cache, best of {s['large_reps']})",
                 lambda w: ("large", path, total, block), s["large_reps"],
                 lambda: check_shape(path, (total // ROW, 16), "python large"), best=True,
                 baseline=lambda w: ("tofile", path, total, block))
    files = 4
    for per_file, blk, what in ((s["large_total"] // 8, 1 * MIB, "1 MiB"),
                                (s["tiny_n"] // 4 * ROW, ROW, "1 row")):
        def check_threads(per_file=per_file, blk=blk):
            for i in range(files):
                p = os.path.join(d, f"thread{i}.npy")
                check_shape(p, (per_file // blk * (blk // ROW) + blk // ROW, 16), "threads")
                remove(p)

        amount = size_text(per_file) if blk >= MIB else f"{per_file // ROW:,} rows"
        rows += pair(f"Python API: {files} threads × {files} files, {what} per append, "
                     f"{amount} per file (aggregate)",
                     lambda w, pf=per_file, b=blk: ("threads", d, files, pf, b),
                     s["large_reps"], check_threads)
    return rows


def ragged(s, d):
    """Ragged appends, HuBERT's shape (records of 50..1500 rows of 768 f4): npaa's
    RaggedAppendArray against the fairseq way (the reference's NpyAppendArray plus a lengths
    file), through ref_driver.py."""
    n, reps = s["ragged_records"], s["ragged_reps"]
    path = os.path.join(d, "feats.npy")

    def argv(warmup):
        # The same records for both contenders (seed 1).
        return ("ragged", path, max(n // 10, 2) if warmup else n, 1)

    def after(key, warmup):
        if key.startswith("npaa") and not warmup:
            ends = np.load(path[:-4] + ".idx.npy")
            check_shape(path, (int(ends[-1]), 768), "ragged")
        remove(path, path[:-4] + ".idx.npy", path[:-4] + ".len")

    # As in `large`: every run starts with no dirty pages of earlier runs.
    results = interleaved({
        "npaa (Python, RaggedAppendArray)":
            lambda warmup: (os.sync(), py_npaa(*argv(warmup)))[1],
        "reference (fairseq way: NpyAppendArray + lengths file)":
            lambda warmup: (os.sync(), ref(*argv(warmup)))[1],
    }, reps, after)
    name = f"ragged appends: {n} records of 50..1500 rows × 768 f4 (HuBERT), per record"
    return [row(name, c, v) for c, v in results.items()]


def reader(s, d):
    """npaa.Reader.refresh() on files of growing size: its cost must not depend on it."""
    rows = []
    path = os.path.join(d, "follow.npy")
    for n in s["refresh_rows"]:
        r = py_npaa("refresh", path, n, s["refresh_reps"])
        remove(path)
        rows.append(dict(scenario=f"Reader.refresh(), file of {n:,} rows (unchanged)",
                         contender="npaa (Python)", seconds=r["seconds"], all_seconds=[r["seconds"]],
                         ops=r["ops"], bytes=None))
        rows.append(dict(scenario=f"Reader.refresh(), file of {n:,} rows (1 row appended before each)",
                         contender="npaa (Python)", seconds=r["growing"],
                         all_seconds=[r["growing"]], ops=r["ops"], bytes=None))
    return rows
SHARED_PROCS = 8


def shared(s, d):
    """Issue 19: SHARED_PROCS processes appending 1×16 f64 rows to one file in shared mode,
    against one writer process fed through a multiprocessing.Queue by as many producers
    (what users do today), and against one exclusive writer alone. Returns
    {contender: report} (the median rep of each)."""
    path = os.path.join(d, "shared.npy")
    n = s["shared_rows"]

    def driver(*args):
        return run([sys.executable, SHARED_DRIVER, *map(str, args)])[0]

    rows = lambda warmup: max(n // 10, 1000) if warmup else n
    contenders = {
        "shared": lambda warmup: driver("shared", path, SHARED_PROCS, rows(warmup)),
        "queue": lambda warmup: driver("queue", path, SHARED_PROCS, rows(warmup)),
        "single": lambda warmup: driver("single", path, rows(warmup)),
    }
    results = interleaved(contenders, s["shared_reps"], after=lambda key, warmup: remove(path))
    return {k: sorted(v, key=lambda r: r["seconds"])[len(v) // 2] for k, v in results.items()}


def shared_report(results, smoke=False):
    """The shared-mode section: rows per second of each way, and the targets."""
    rate = {k: r["ops"] / r["seconds"] for k, r in results.items()}
    names = {
        "shared": f"{SHARED_PROCS} processes, each NpyAppendArray(shared=True)",
        "queue": f"{SHARED_PROCS} producers → multiprocessing.Queue → 1 writer process",
        "single": "1 exclusive writer alone",
    }
    out = ["| Way (1×16 f64 rows) | rows/s |", "|---|---|"]
    out += [f"| {names[k]} | {rate[k]:,.0f} |" for k in ("shared", "queue", "single")]
    out += ["", "| Target | Measured | Verdict |", "|---|---|---|"]
    for name, value, goal in (
        ("shared ≥ 5× the queue", rate["shared"] / rate["queue"], 5),
        ("shared ≥ 0.5× one exclusive writer", rate["shared"] / rate["single"], 0.5),
    ):
        verdict = ("– (smoke run)" if smoke else "**met**" if value >= goal else "**not met**")
        out.append(f"| {name} | {fmt_ratio(value)} | {verdict} |")
    return "\n".join(out)


def python_targets(rows, smoke=False):
    """The Python-API rows against issue 12's targets; `smoke` (quick mode): figures only, no
    verdicts, as in `targets`."""
    by = {(r["scenario"], r["contender"].split(" (")[0]): r for r in rows}

    def x(prefix, against="reference"):
        for (sc, c), r in by.items():
            if sc.startswith(prefix) and c == "npaa":
                return ratio(r, by.get((sc, against)))
        return None

    out = ["| Target | Measured | Verdict |", "|---|---|---|"]
    python, capi = (by.get(("Python API: tiny appends (1×16 f64), mapped mode (1 MiB window)", c))
                    for c in ("npaa", "C ABI"))
    if python and capi:
        gap = per_op(python) - per_op(capi)
        verdict = "– (smoke run)" if smoke else "**met**" if gap <= 0.5e-6 else "**not met**"
        best_gap = python["best_op"] - capi["best_op"]
        out.append(f"| a mapped-mode append from Python costs ≤ 0.5 µs more than through the "
                   f"C ABI | {gap * 1e6:+.2f} µs ({fmt_time(per_op(python))} vs "
                   f"{fmt_time(per_op(capi))}, medians of whole runs); fastest runs of 5000: "
                   f"{best_gap * 1e6:+.2f} µs ({fmt_time(python['best_op'])} vs "
                   f"{fmt_time(capi['best_op'])}) | {verdict} |")
    for name, value, goal in (
        ("tiny appends: ≥ 10× the reference", x("Python API: tiny"), 10),
        ("open, append 1 row, close: ≥ 5× the reference", x("Python API: open"), 5),
        ("64 MiB appends: ≥ 0.9× ndarray.tofile", x("Python API: 64 MiB", "raw write"), 0.9),
        ("4 threads × 4 files, 1 MiB appends: aggregate vs the reference",
         x("Python API: 4 threads × 4 files, 1 MiB"), None),
        ("4 threads × 4 files, 1 row appends: aggregate vs the reference",
         x("Python API: 4 threads × 4 files, 1 row"), None),
        ("ragged appends (HuBERT shape): ≥ 1× the fairseq way", x("ragged appends"), 1),
    ):
        verdict = ("(informative)" if goal is None else "not measured" if value is None
                   else "– (smoke run)" if smoke
                   else "**met**" if value >= goal else "**not met**")
        out.append(f"| {name} | {fmt_ratio(value)} | {verdict} |")
    refresh = [r for r in rows if r["scenario"].startswith("Reader.refresh()")
               and "appended" in r["scenario"]]
    if len(refresh) >= 2:
        small, big = refresh[0], refresh[-1]
        growth = per_op(big) / per_op(small)
        verdict = ("– (smoke run)" if smoke
                   else "**met**" if growth < 2 else "**not met**")
        out.append(f"| Reader.refresh() constant in the file's size: largest ÷ smallest file "
                   f"(≤ 2×) | {growth:.2f}× ({fmt_time(per_op(small))} → "
                   f"{fmt_time(per_op(big))}) | {verdict} |")
    return "\n".join(out)


def fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def per_op(r):
    return r["seconds"] / r["ops"]


def cell(r):
    if r is None:
        return "–"
    if r.get("bytes") and ("large" in r["scenario"] or "npaa append" in r["scenario"]):
        mib_s = r["bytes"] / MIB / r["seconds"]
        text = f"{fmt_time(r['seconds'])} ({mib_s:,.0f} MiB/s)"
    elif r["ops"] > 1:
        text = f"{fmt_time(per_op(r))}/op"
    else:
        text = fmt_time(r["seconds"])
    if r.get("peak_rss"):
        text += f", peak {r['peak_rss'] / MIB:,.0f} MiB"
    if r.get("method"):
        text += f", {r['method']}"
    return text


def ratio(a, b):
    """How many times faster a is than b (per operation)."""
    if a is None or b is None:
        return None
    return per_op(b) / per_op(a)


def fmt_ratio(x):
    if x is None:
        return "–"
    return f"{x:,.0f}×" if x >= 100 else f"{x:,.2f}×" if x < 10 else f"{x:,.1f}×"


def table(rows):
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    by = {(r["scenario"], r["contender"].split(" (")[0]): r for r in rows}
    lines = [
        "| Scenario | npaa | reference (Python) | raw write | npaa ÷ reference | npaa ÷ raw |",
        "|---|---|---|---|---|---|",
    ]
    for sc in scenarios:
        n, rf, rw = by.get((sc, "npaa")), by.get((sc, "reference")), by.get((sc, "raw write"))
        lines.append(
            f"| {sc} | {cell(n)} | {cell(rf)} | {cell(rw)} | "
            f"{fmt_ratio(ratio(n, rf))} faster | {fmt_ratio(ratio(n, rw))} the speed |"
        )
    return "\n".join(lines)


def targets(rows, s, can_drop, have_cli, smoke=False):
    """The targets table; `smoke` (quick mode): figures only, no verdicts, since small sizes
    are not what the targets are about."""
    by = {(r["scenario"], r["contender"].split(" (")[0]): r for r in rows}

    def get(prefix, contender):
        for (sc, c), r in by.items():
            if sc.startswith(prefix) and c == contender:
                return r
        return None

    out = []

    def add(name, value_text, met, note=""):
        verdict = {True: "**met**", False: "**not met**", None: "not measured",
                   "info": "(informative)"}[met]
        if smoke and met in (True, False):
            verdict = "– (smoke run)"
        out.append(f"| {name} | {value_text} | {verdict} | {note} |")

    ref_on = get("tiny, header rewrite on", "reference")
    x = ratio(get("tiny, header rewrite on", "npaa"), ref_on)
    x_mapped = ratio(get("tiny, mapped mode", "npaa"), ref_on)
    add("tiny appends, header rewrite on: ≥ 20× the reference",
        f"{fmt_ratio(x_mapped)} (mapped mode); {fmt_ratio(x)} (pwrite, the default)",
        x_mapped is not None and x_mapped >= 20,
        f"mapped mode: {fmt_time(per_op(get('tiny, mapped mode', 'npaa')))} per append; "
        f"default: {fmt_time(per_op(get('tiny, header rewrite on', 'npaa')))} per append, where "
        f"one 128-byte write() alone takes "
        f"{fmt_time(per_op(get('tiny, header rewrite on', 'raw write')))}")
    x = ratio(get("tiny, buffered", "npaa"), ref_on)
    x_off = ratio(get("tiny, buffered", "npaa"), get("tiny, header rewrite off", "reference"))
    add("tiny appends, buffered: ≥ 200× the reference", fmt_ratio(x), x is not None and x >= 200,
        f"vs the reference with its header rewrite off (its fastest mode): {fmt_ratio(x_off)}")
    x = ratio(get("reopen", "npaa"), get("reopen", "reference"))
    floor = get("npaa's system calls", "npaa")
    ceiling = ratio(floor, get("npaa's system calls", "reference"))
    add("reopen per append: ≥ 10× the reference", fmt_ratio(x), x is not None and x >= 10,
        f"one open+write+close alone: {fmt_time(per_op(get('reopen', 'raw write')))}; "
        f"npaa's system calls alone: {fmt_time(per_op(floor))}, "
        f"{fmt_ratio(ceiling)} the reference (the ceiling here)")
    lg = get("large", "npaa")
    x = ratio(lg, get("large", "raw write"))
    raw_lg = get("large", "raw write")
    spread = "; ".join(
        f"{who}: " + ", ".join(f"{t:.2f}" for t in r["all_seconds"]) + " s"
        for who, r in (("npaa", lg), ("raw write", raw_lg)) if r is not None
    )
    add("large appends: ≥ 0.95× the raw write baseline (page cache)", fmt_ratio(x),
        x is not None and x >= 0.95, f"best runs compared; every run: {spread}")
    if s["large_sync"]:
        sync_rows = [r for r in rows if r["scenario"].startswith("large") and "fsync" in r["scenario"]]
        pick = {r["contender"]: r for r in sync_rows}
        x = ratio(pick.get("npaa"), pick.get("raw write"))
        add("large appends to disk (fsync)", fmt_ratio(x), "info",
            "bound by the virtual disk, whose fsync time varies from run to run by 2× or "
            "more; the page-cache row above is the measure of npaa's own overhead")
    small = get(f"recover, {size_text(s['recover_small'])}", "npaa")
    big = get(f"recover, {size_text(s['recover_size'])}", "npaa")
    growth = big["seconds"] / small["seconds"]
    add(f"recover: constant time ({size_text(s['recover_size'])} vs {size_text(s['recover_small'])})",
        f"{fmt_time(big['seconds'])} vs {fmt_time(small['seconds'])} ({growth:.2f}×)",
        growth <= 2.0,
        f"file {s['recover_size'] // s['recover_small']}× larger; met if ≤ 2× the time; "
        "includes one fdatasync")
    gib = size_text(s["ensure_size"])
    if can_drop:
        x = ratio(get(f"ensure_appendable in place, {gib}, cold", "npaa"),
                  get(f"ensure_appendable in place, {gib}, cold", "reference"))
        add("ensure_appendable in place, cold cache: ≥ 100×", fmt_ratio(x),
            x is not None and x >= 100)
    else:
        add("ensure_appendable in place, cold cache: ≥ 100×", "–", None,
            "could not drop the page cache (needs root)")
    x = ratio(get(f"ensure_appendable in place, {gib}, warm", "npaa"),
              get(f"ensure_appendable in place, {gib}, warm", "reference"))
    add("ensure_appendable in place, warm cache: ≥ 3×", fmt_ratio(x), x is not None and x >= 3)
    def peak_target(name, peak, note=""):
        if peak is None:
            add(name, "–", None, "needs GNU time (/usr/bin/time) for peak memory")
        else:
            add(name, f"{peak / MIB:.1f} MiB", peak <= 32 * MIB, note)

    peaks = [r["peak_rss"] for r in rows
             if r["scenario"].startswith("ensure_appendable via copy") and r["contender"] == "npaa"]
    peak_target("ensure_appendable via copy: peak memory ≤ 32 MiB",
                None if None in peaks else max(peaks),
                "the process's peak RSS (GNU time), whole run")
    for (sc, c), r in by.items():
        if sc.startswith("`npaa append`") and c == "npaa":
            kind = "kernel copy" if "byte-swapped" not in sc else "byte-swapped in chunks"
            peak_target(f"npaa append ({kind}): peak memory ≤ 32 MiB", r["peak_rss"],
                        "the process's peak RSS (GNU time)" if have_cli
                        else "TODO: measured with the library (the CLI did not build)")
    return "\n".join(
        ["| Target | Measured | Verdict | Notes |", "|---|---|---|---|"] + out
    )


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def machine(scratch):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores (`nproc`)",
        "- Memory (`free -h`):\n\n```\n" + sh("free -h") + "\n```",
        f"- Kernel: {platform.release()}",
        f"- Scratch file system: {sh(f'findmnt -no FSTYPE,OPTIONS --target {scratch}')} "
        f"({scratch})",
        f"- {sh('rustc --version')}; Python {platform.python_version()}, numpy {np.__version__}, "
        f"npy-append-array {version('npy-append-array')}",
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, about a minute (CI smoke run)")
    p.add_argument("--dir", default=os.environ.get("TMPDIR", "/tmp"),
                   help="where scratch files go (default $TMPDIR or /tmp); use ext4 or XFS")
    p.add_argument("--output", help="also write the report (Markdown) to this file")
    p.add_argument("--only", help="comma-separated scenarios: "
                   "tiny,large,reopen,ensure,recover,append,python,ragged,reader,shared")
    p.add_argument("--reopen-reps", type=int,
                   help="rounds of the reopen scenario (default 5; more narrow the ratio down "
                        "on a noisy machine, whose phases move both contenders' times)")
    args = p.parse_args()
    mode = "quick" if args.quick else "full"
    s = dict(SIZES[mode])
    if args.reopen_reps is not None:
        if args.reopen_reps < 1:
            p.error("--reopen-reps must be at least 1")
        s["reopen_reps"] = args.reopen_reps
    have_cli = os.path.exists(NPAA) and os.environ.get("NPAA_BENCH_NO_CLI") != "1"
    only = set(args.only.split(",")) if args.only else None

    # Scenarios run one after the other and delete their files: the largest one decides.
    need = max(2 * s["append_size"], 2 * s["ensure_size"], s["large_total"]) + 256 * MIB
    free = shutil.disk_usage(args.dir).free
    if free < need + GIB:
        sys.exit(f"compare: {args.dir} has {free / GIB:.1f} GiB free; need {need / GIB + 1:.1f}")
    scratch = tempfile.mkdtemp(prefix="npaa-bench-", dir=args.dir)
    can_drop = drop_caches()
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    rows = []
    shared_results = None
    try:

        def run_shared():
            nonlocal shared_results
            shared_results = shared(s, scratch)
            return []

        steps = [
            ("tiny", lambda: tiny(s, scratch)),
            ("reopen", lambda: reopen(s, scratch)),
            ("large", lambda: large(s, scratch)),
            ("recover", lambda: recover(s, scratch, can_drop)),
            ("ensure", lambda: ensure(s, scratch, can_drop)),
            ("append", lambda: append_cli(s, scratch, have_cli)),
            ("python", lambda: python_api(s, scratch)),
            ("ragged", lambda: ragged(s, scratch)),
            ("reader", lambda: reader(s, scratch)),
            ("shared", run_shared),
        ]
        for name, fn in steps:
            if only and name not in only:
                continue
            log(f"{name} ...")
            rows += fn()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.perf_counter() - t0
    load_after = os.getloadavg()

    cmd = " ".join(["bench/compare", *sys.argv[1:]])
    parts = [
        f"Measured by `{cmd}` on {started:%Y-%m-%d %H:%M} UTC in {elapsed:.0f} s "
        f"({mode} sizes). Times are medians of the repetitions (the best one where a scenario "
        "says so), interleaved between contenders; ratios are per operation, from the same run.",
        "",
        "## Results",
        "",
        table(rows),
        "",
    ]
    if not only and args.quick:
        parts += [
            "## Targets",
            "",
            "**Smoke run** (`--quick`): small sizes and few repetitions, to check that every "
            "scenario runs and writes correct files. These figures are not comparable to the "
            "targets, so no verdict is given; `bench/compare` (full sizes) measures them.",
            "",
            targets(rows, s, can_drop, have_cli, smoke=True),
            "",
        ]
    elif not only:
        parts += ["## Targets", "", targets(rows, s, can_drop, have_cli), ""]
    if not only or {"python", "ragged"} & only:
        parts += ["## Targets of the Python package", "", python_targets(rows, args.quick), ""]
    if shared_results:
        parts += ["## Many processes, one file (shared mode)", "",
                  shared_report(shared_results, args.quick), ""]
    parts += [
        "## Machine",
        "",
        *machine(args.dir),
        f"- Load average (1 min) at start / end: {load_before[0]:.2f} / {load_after[0]:.2f}",
        "- Page cache dropped before cold runs: "
        + ("yes (`sync; echo 3 > /proc/sys/vm/drop_caches`)" if can_drop
           else "**no** (not permitted: cold-cache rows are missing)"),
        "",
    ]
    report = "\n".join(parts)
    print(report)
    if args.output:
        notes = ""
        if os.path.exists(args.output):
            with open(args.output) as f:
                old = f.read()
            if NOTES_MARKER in old:
                notes = old[old.index(NOTES_MARKER) + len(NOTES_MARKER):]
        with open(args.output, "w") as f:
            f.write("# npaa benchmark results\n\n" + report + "\n" + NOTES_MARKER + notes)
        log(f"wrote {args.output}")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        sys.exit(f"compare: FAILED: {e}")
