"""npaa.dask: Dask arrays written to one .npy by many workers, checked byte for byte against
np.save of x.compute(), under the threaded, multiprocessing and distributed schedulers; failed
and killed computes leave the file as it was (append) or no file / a file recover cuts to zero
rows (to_npy)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

# Dask is an optional extra (npaa[dask]): without it these tests are skipped, except where
# scripts/test asks for them (NPAA_REQUIRE_SYSTEM_TESTS=1, its pytest step), so that a venv
# that lost Dask fails there instead of passing quietly. The wheel checks on the oldest and
# newest Python and NumPy install the package and its test tools only.
try:
    import dask
    import dask.array as da
except ImportError:
    if os.environ.get("NPAA_REQUIRE_SYSTEM_TESTS"):
        raise
    pytest.skip("Dask is not installed (pip install npaa[dask])", allow_module_level=True)

import npaa  # noqa: E402
import npaa.dask  # noqa: E402
from conftest import file_bytes, saved_bytes  # noqa: E402

RECORD = np.dtype([("t", "<f8"), ("p", "<i2", (3,)), ("name", "S5")])


def grid(shape, dtype="<f8"):
    """A NumPy array whose items all differ."""
    a = np.arange(int(np.prod(shape)), dtype="<i8").reshape(shape)
    dtype = np.dtype(dtype)
    if dtype.names:
        out = np.zeros(shape, dtype)
        out["t"] = a * 0.5
        out["p"] = (a % 1000)[..., None] + np.arange(3)
        out["name"] = [[b"r%d" % (v % 999) for v in row] for row in a.reshape(shape[0], -1)]
        return out
    return a.astype(dtype)


def expected(arr, fortran):
    return saved_bytes(np.asfortranarray(arr) if fortran else arr)


CHUNKINGS = {
    "rows": (4, 12),  # whole rows: one piece per chunk
    "both-axes": (5, 5),  # split along the non-growth axis too: strided pieces
    "columns": (23, 1),  # a column at a time: one item per piece
    "irregular": ((1, 9, 0, 13), (2, 7, 3)),  # uneven, and an empty chunk
}


@pytest.mark.parametrize("chunks", list(CHUNKINGS))
@pytest.mark.parametrize("fortran", [False, True], ids=["C", "F"])
@pytest.mark.parametrize("dtype", ["<f8", ">i4", "record"])
@pytest.mark.parametrize("merge", [True, False], ids=["merged", "as-chunked"])
def test_to_npy_is_np_save_of_the_computed_array(path, chunks, fortran, dtype, merge,
                                                 monkeypatch):
    # "as-chunked": no chunk is merged, so chunks split along other axes go as strided pieces.
    if not merge:
        monkeypatch.setattr(npaa.dask, "_MERGE_UP_TO", 0)
    a = grid((23, 12), RECORD if dtype == "record" else dtype)
    x = da.from_array(a, chunks=CHUNKINGS[chunks])
    npaa.dask.to_npy(path, x, fortran_order=fortran, scheduler="threads")
    assert file_bytes(path) == expected(a, fortran)
    assert not npaa.needs_recovery(path)


@pytest.mark.parametrize("fortran", [False, True], ids=["C", "F"])
def test_chunks_are_merged_across_other_axes_within_the_bound(path, fortran, monkeypatch):
    # What reaches da.store: chunks spanning every axis but the growth axis, the growth axis
    # cut finer where a merged chunk would pass the bound; items larger than it, as chunked.
    stored = []
    real_store = da.store
    monkeypatch.setattr(da, "store", lambda x, *a, **k: stored.append(x.chunks) or
                        real_store(x, *a, **k))
    monkeypatch.setattr(npaa.dask, "_MERGE_UP_TO", 8 * 12 * 6)  # 6 items of 12 f8
    a = grid((23, 12))
    x = da.from_array(a.T if fortran else a, chunks=(5, 5))
    npaa.dask.to_npy(path, x, fortran_order=fortran, scheduler="threads")
    chunks = stored[-1]
    whole, cut = (chunks[0], chunks[1]) if fortran else (chunks[1], chunks[0])
    assert whole == (12,) and max(cut) <= 6 and sum(cut) == 23, chunks
    assert file_bytes(path) == expected(a.T if fortran else a, fortran)
    monkeypatch.setattr(npaa.dask, "_MERGE_UP_TO", 8 * 11)  # under one item: left as chunked
    npaa.dask.to_npy(path, x, fortran_order=fortran, scheduler="threads")
    assert stored[-1] == x.chunks


@pytest.mark.parametrize("chunks", list(CHUNKINGS))
@pytest.mark.parametrize("fortran", [False, True], ids=["C", "F"])
def test_append_grows_the_file_in_its_order(path, chunks, fortran):
    first = grid((23, 12)) + 1000
    more = grid((23, 12))
    if fortran:
        first, more = first.T.copy(), more.T.copy()  # grown along the last axis
        np.save(path, np.asfortranarray(first))
        x = da.from_array(more, chunks=CHUNKINGS[chunks][::-1])
    else:
        np.save(path, first)
        x = da.from_array(more, chunks=CHUNKINGS[chunks])
    npaa.dask.append(path, x, scheduler="threads")
    npaa.dask.append(path, x[:3] if not fortran else x[:, :3], scheduler="sync")
    axis = -1 if fortran else 0
    tail = more[:3] if not fortran else more[:, :3]
    assert file_bytes(path) == expected(np.concatenate([first, more, tail], axis=axis), fortran)


def test_append_casts_by_the_core_rules_and_refuses_what_it_would_lose(path):
    np.save(path, np.zeros((2, 3), "<f8"))
    npaa.dask.append(path, da.from_array(np.arange(6, dtype=">i4").reshape(2, 3), chunks=1))
    assert np.load(path).tolist() == [[0] * 3] * 2 + [[0, 1, 2], [3, 4, 5]]
    before = file_bytes(path)
    with pytest.raises(npaa.CastingError):
        npaa.dask.append(path, da.ones((2, 3), dtype="c16"))
    with pytest.raises(npaa.ShapeError):
        npaa.dask.append(path, da.ones((2, 4)))
    assert file_bytes(path) == before
    assert not npaa.needs_recovery(path)


def test_append_creates_a_missing_file_and_to_npy_replaces_one(path):
    a = grid((7, 3))
    npaa.dask.append(path, da.from_array(a, chunks=2))
    assert file_bytes(path) == saved_bytes(a)
    npaa.dask.to_npy(path, da.from_array(a[:0], chunks=2))
    assert file_bytes(path) == saved_bytes(a[:0])


@pytest.mark.parametrize("durability", ["append", "close", 1 << 16])
def test_durable_writes_give_the_same_file(path, durability):
    a = grid((30, 7), "<f4")
    npaa.dask.to_npy(path, da.from_array(a, chunks=(4, 3)), durability=durability)
    npaa.dask.append(path, da.from_array(a, chunks=(9, 2)), durability=durability)
    assert file_bytes(path) == saved_bytes(np.concatenate([a, a]))


def test_the_writer_lock_is_the_drivers(path):
    holder = npaa.NpyAppendArray(path)
    holder.append(np.zeros((1, 3)))
    try:
        with pytest.raises(npaa.LockedError):
            npaa.dask.append(path, da.ones((2, 3)))
    finally:
        holder.close()


def test_processes_scheduler(path):
    a = grid((40, 9), RECORD)
    x = da.from_array(a, chunks=(7, 4))
    npaa.dask.to_npy(path, x, fortran_order=True, scheduler="processes", num_workers=2)
    npaa.dask.append(path, x[:, :5], scheduler="processes", num_workers=2)
    assert file_bytes(path) == expected(np.concatenate([a, a[:, :5]], axis=1), True)


def test_distributed_local_cluster_of_processes(tmp_path):
    from dask.distributed import Client, LocalCluster

    path, new = str(tmp_path / "a.npy"), str(tmp_path / "new.npy")
    a = grid((60, 10))
    x = da.from_array(a, chunks=(8, 3)) * 2
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, Client(cluster):
        npaa.dask.to_npy(path, x)
        npaa.dask.append(path, x[:9])
        # A failed compute on the cluster: chunks still running are waited for.
        before = file_bytes(path)
        bad = da.from_array(grid((80, 10)), chunks=(4, 5)).map_blocks(failing, dtype="<f8")
        with pytest.raises(RuntimeError, match="chunk 2 failed"):
            npaa.dask.append(path, bad)
        with pytest.raises(RuntimeError, match="chunk 2 failed"):
            npaa.dask.to_npy(new, bad)
        time.sleep(0.5)
        assert file_bytes(path) == before
        assert not os.path.exists(new)
    assert file_bytes(path) == saved_bytes(np.concatenate([a * 2, a[:9] * 2]))


def failing(block, block_info=None):
    """A block function: slow for every block, raising for the block at (2, *)."""
    time.sleep(0.05)
    if block_info[None]["chunk-location"][0] == 2:
        raise RuntimeError("chunk 2 failed")
    return block + 1


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_a_failed_compute_leaves_the_file_as_it_was(tmp_path, scheduler):
    existing, new = str(tmp_path / "existing.npy"), str(tmp_path / "new.npy")
    np.save(existing, grid((5, 6)))
    before = file_bytes(existing)
    x = da.from_array(grid((80, 6)), chunks=(4, 3)).map_blocks(failing, dtype="<f8")
    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        npaa.dask.append(existing, x, scheduler=scheduler, num_workers=4)
    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        npaa.dask.to_npy(new, x, scheduler=scheduler, num_workers=4)
    # Chunks still running when Dask raised were waited for, later ones refused: nothing
    # reaches the files afterwards.
    time.sleep(0.5)
    assert file_bytes(existing) == before
    assert not npaa.needs_recovery(existing)
    assert not os.path.exists(new)


def test_a_chunk_after_the_end_is_refused(path):
    np.save(path, grid((2, 3)))
    before = file_bytes(path)
    region = npaa._native.RegionWrite(path, np.dtype("<f8"), (4, 3))
    target = region.target
    target[0:2, 0:3] = np.ones((2, 3))
    region.abort()
    assert file_bytes(path) == before
    with pytest.raises(npaa.FileChangedError):
        target[2:4, 0:3] = np.ones((2, 3))
    assert file_bytes(path) == before
    with pytest.raises(npaa.ClosedError):
        region.commit()


def test_targets_refuse_bad_chunks(path):
    region = npaa._native.RegionWrite(path, np.dtype("<f8"), (4, 3), new_file=True)
    target = region.target
    with pytest.raises(ValueError, match="shape"):
        target[0:2, 0:3] = np.ones((3, 2))
    with pytest.raises(ValueError, match="step"):
        target[0:4:2, 0:3] = np.ones((2, 3))
    with pytest.raises(ValueError, match="shape"):
        target[3:5, 0:3] = np.ones((2, 3))  # sliced as Python slices: rows 3:4
    with pytest.raises(npaa.CastingError):
        target[0:1] = np.ones((1, 3), "c16")
    region.abort()
    assert not os.path.exists(path)


KILLED_WORKER = """
import os, signal, sys, time
import dask.array as da, numpy as np, npaa.dask

def block(b, block_info=None):
    time.sleep(0.02)
    if block_info[None]["chunk-location"][0] == 20:
        os.kill(os.getpid(), signal.SIGKILL)
    return b

if __name__ == "__main__":
    path, function = sys.argv[1], sys.argv[2]
    x = da.ones((400, 8), chunks=(4, 8)).map_blocks(block, dtype="<f8")
    try:
        getattr(npaa.dask, function)(path, x, scheduler="processes", num_workers=3)
    except Exception as e:
        print(type(e).__name__)
"""


def test_a_killed_worker_leaves_the_file_as_it_was(tmp_path):
    script = tmp_path / "killed_worker.py"
    script.write_text(KILLED_WORKER)
    existing, new = str(tmp_path / "existing.npy"), str(tmp_path / "new.npy")
    np.save(existing, grid((5, 8)))
    before = file_bytes(existing)
    for path, function in [(existing, "append"), (new, "to_npy")]:
        proc = subprocess.run(
            [sys.executable, str(script), path, function],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.stdout.strip() == "BrokenProcessPool", proc.stderr
    assert file_bytes(existing) == before
    assert not npaa.needs_recovery(existing)
    assert not os.path.exists(new)


KILLED_DRIVER = """
import sys, time
import dask.array as da, npaa.dask

def block(b):
    time.sleep(0.01)
    return b

path, function = sys.argv[1], sys.argv[2]
x = da.ones((100000, 8), chunks=(50, 8)).map_blocks(block, dtype="<f8")
print("start", flush=True)
getattr(npaa.dask, function)(path, x, scheduler="threads", num_workers=2)
"""


@pytest.mark.parametrize("function", ["append", "to_npy"])
def test_a_killed_driver_leaves_what_recover_cuts_back(tmp_path, function):
    path = str(tmp_path / "killed.npy")
    old = grid((5, 8))
    np.save(path, old)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_DRIVER, path, function], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "start"
        deadline = time.time() + 60
        # Killed once chunks are being written into the reserved extent (to_npy deletes the
        # old file first, then creates the new one).
        while (not os.path.exists(path) or os.path.getsize(path) < 1 << 20) and (
            time.time() < deadline
        ):
            time.sleep(0.05)
        time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    rows = 5 if function == "append" else 0
    # NumPy loads what was there before; no unwritten region is ever counted.
    loaded = np.load(path)
    assert loaded.shape == (rows, 8)
    report = npaa.recover(path)
    assert report.items_after == rows and report.bytes_cut > 0
    assert file_bytes(path) == saved_bytes(old if rows else np.ones((0, 8)))
    assert not npaa.needs_recovery(path)


PEAK = """
import resource, sys
import dask.array as da, npaa.dask
# 1.5 GiB of f8 in chunks of 2 MiB, split along both axes (1024 rows x 256 of 1024 columns).
x = da.random.random((196608, 1024), chunks=(1024, 256))
npaa.dask.to_npy(sys.argv[1], x, scheduler="threads", num_workers=2)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10)
"""


def test_peak_memory_is_a_few_chunks_not_the_array(tmp_path):
    path = str(tmp_path / "big.npy")
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, path], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    peak_mib = int(proc.stdout)
    assert np.load(path, mmap_mode="r").shape == (196608, 1024)
    assert not npaa.needs_recovery(path)
    # The interpreter with NumPy and Dask takes about 50 MiB, and the run 75 MiB on a quiet
    # machine: 2 workers hold a few chunks of 2 MiB each. Under heavy load Dask was seen to
    # hold more chunks waiting for their writes (231 MiB once): the bound leaves room for that,
    # and is still a fifth of the 1.5 GiB array.
    assert peak_mib < 320, f"peak RSS {peak_mib} MiB for a 1536 MiB array"
