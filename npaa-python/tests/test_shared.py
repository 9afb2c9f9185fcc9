"""shared=True: many processes append to one file, as a new user writes it with
multiprocessing.Pool and ProcessPoolExecutor: each task opens the file, appends, closes. No
LockedError, every block whole, NumPy loads them all; timeouts; refused combinations; a
worker killed with SIGKILL in the middle of a block costs only that block."""

import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import npaa


def append_task(args):
    """One pool task: open in shared mode, append a block of rows saying who wrote it, close."""
    path, task = args
    rows = 1 + task % 3
    block = np.empty((rows, 4), dtype="<u8")
    block[:, 0] = os.getpid()
    block[:, 1] = task
    block[:, 2] = np.arange(rows)
    block[:, 3] = rows
    with npaa.NpyAppendArray(path, shared=True) as arr:
        arr.append(block)
    return rows


def check_blocks(path, tasks):
    """The file holds every task's block exactly once, whole."""
    a = np.load(path)
    assert a.dtype == np.dtype("<u8") and a.shape[1] == 4
    seen = []
    i = 0
    while i < len(a):
        pid, task, k, n = (int(v) for v in a[i])
        block = a[i : i + n]
        assert k == 0 and len(block) == n, (i, a[i])
        assert (block[:, 0] == pid).all() and (block[:, 1] == task).all(), i
        assert (block[:, 2] == np.arange(n)).all() and (block[:, 3] == n).all(), i
        seen.append(task)
        i += n
    assert sorted(seen) == list(range(tasks))
    assert not npaa.needs_recovery(path)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_a_pool_of_workers_appends_without_locked_errors(tmp_path, start):
    path = str(tmp_path / "pool.npy")
    tasks = 48
    with multiprocessing.get_context(start).Pool(4) as pool:
        rows = pool.map(append_task, [(path, t) for t in range(tasks)], chunksize=1)
    assert np.load(path).shape == (sum(rows), 4)
    check_blocks(path, tasks)


def test_a_process_pool_executor_appends_without_locked_errors(tmp_path):
    path = str(tmp_path / "executor.npy")
    tasks = 60
    with ProcessPoolExecutor(max_workers=6) as pool:
        rows = list(pool.map(append_task, [(path, t) for t in range(tasks)]))
    assert np.load(path).shape == (sum(rows), 4)
    check_blocks(path, tasks)


def test_a_handle_inherited_by_a_forked_worker_opens_its_own_file(tmp_path):
    # The parent's handle, used by forked children: each must take the lock for itself (the
    # open file, and a lock on it, would otherwise be shared by parent and children).
    path = str(tmp_path / "inherited.npy")
    arr = npaa.NpyAppendArray(path, shared=True)
    arr.append(np.zeros((1, 4), dtype="<u8"))

    global inherited
    inherited = arr
    try:
        with multiprocessing.get_context("fork").Pool(4) as pool:
            pool.map(append_with_inherited, range(40), chunksize=1)
    finally:
        del inherited
    arr.append(np.zeros((1, 4), dtype="<u8"))
    arr.close()
    a = np.load(path)
    assert a.shape == (82, 4)
    middle = a[1:81].reshape(40, 2, 4)
    assert (middle == middle[:, :1, :1]).all()
    assert sorted(middle[:, 0, 0].tolist()) == list(range(40))
    assert not npaa.needs_recovery(path)


def append_with_inherited(task):
    block = np.full((2, 4), task, dtype="<u8")
    inherited.append(block)


def test_timeouts(tmp_path):
    path = tmp_path / "held.npy"
    holder = npaa.NpyAppendArray(path)
    holder.append(np.arange(4.0))
    before = path.read_bytes()
    # Exclusive: fails at once by default, or after the timeout.
    t = time.monotonic()
    with pytest.raises(npaa.LockedError):
        npaa.NpyAppendArray(path)
    assert time.monotonic() - t < 0.1
    t = time.monotonic()
    with pytest.raises(npaa.LockedError):
        npaa.NpyAppendArray(path, timeout=0.2)
    assert time.monotonic() - t >= 0.2
    # Shared: waits forever by default; a timeout bounds it.
    t = time.monotonic()
    with pytest.raises(npaa.LockedError):
        npaa.NpyAppendArray(path, shared=True, timeout=0.2)
    assert time.monotonic() - t >= 0.2
    assert path.read_bytes() == before
    for bad in (-1.0, math.nan):
        with pytest.raises(ValueError, match="timeout"):
            npaa.NpyAppendArray(path, shared=True, timeout=bad)
    holder.close()
    # An exclusive writer that waits gets the file once the holder lets go.
    with npaa.NpyAppendArray(path, shared=True) as shared:
        shared.append(np.arange(4.0, 6.0))
        code = (
            "import sys, npaa, numpy as np\n"
            "with npaa.NpyAppendArray(sys.argv[1], timeout=30) as a:\n"
            "    a.append(np.arange(6.0, 8.0))\n"
        )
        subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
        shared.append(np.arange(8.0, 10.0))
    np.testing.assert_array_equal(np.load(path), np.arange(10.0))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rewrite_header_on_append": False},
        {"delete_if_exists": True},
        {"buffer": 4096},
        {"mapped": True},
        {"durability": 4096},
    ],
)
def test_shared_refuses_what_cannot_work(tmp_path, kwargs):
    path = tmp_path / "a.npy"
    with pytest.raises(npaa.NpaaError, match="shared mode") as info:
        npaa.NpyAppendArray(path, shared=True, **kwargs)
    assert isinstance(info.value, ValueError)
    assert not path.exists()


BIG = 20000

STALLER = f"""
BIG = {BIG}
import sys, numpy as np, npaa
path = sys.argv[1]
with npaa.NpyAppendArray(path, shared=True) as arr:
    arr.append(np.full((1, 4), 7, dtype='<u8'))
    print('READY', flush=True)
    while True:
        arr.append(np.full((BIG, 4), 7, dtype='<u8'))
"""


def test_a_killed_worker_costs_at_most_its_block(tmp_path):
    path = str(tmp_path / "killed.npy")
    for round in range(6):
        # A writer appending large blocks is killed at a random moment while pool workers
        # append; then the workers go on and close.
        victim = subprocess.Popen(
            [sys.executable, "-c", STALLER, path],
            stdout=subprocess.PIPE,
        )
        assert victim.stdout.readline().strip() == b"READY"
        with multiprocessing.get_context("fork").Pool(4) as pool:
            result = pool.map_async(
                append_task, [(path, t) for t in range(round * 10, round * 10 + 10)]
            )
            time.sleep(0.001 * round)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            victim.stdout.close()
            result.get(timeout=60)
        a = np.load(path)
        # Whole blocks: the victims' blocks (all 7: one row, then BIG rows at a time) and the
        # tasks' (checked below).
        sevens = (a == 7).all(axis=1)
        assert (sevens.sum() - (round + 1)) % BIG == 0, sevens.sum()
        others = a[~sevens]
        i = 0
        tasks = []
        while i < len(others):
            pid, task, k, n = (int(v) for v in others[i])
            assert k == 0 and (others[i : i + n, 1] == task).all()
            tasks.append(task)
            i += n
        assert sorted(tasks) == list(range((round + 1) * 10))
        # The kill may come after every task closed: a writer that opens and closes after it
        # is what cleans up, as any writer closing after a kill does.
        npaa.NpyAppendArray(path, shared=True).close()
        assert not npaa.needs_recovery(path)
