"""npaa.Reader and npaa.RaggedReader: a writer and a follower at once, in threads and in
processes; every refreshed view is an exact prefix, read-only, never shrinking."""

import subprocess
import sys
import threading

import numpy as np
import pytest

import npaa

COLS = 8


def rows(start, n):
    return np.repeat(np.arange(start, start + n, dtype="<f8")[:, None], COLS, axis=1)


def assert_prefix(a, at_least):
    assert a.ndim == 2 and a.shape[1] == COLS and a.shape[0] >= at_least
    np.testing.assert_array_equal(a[:, 0], np.arange(a.shape[0]))
    np.testing.assert_array_equal(a, rows(0, a.shape[0]))
    return a.shape[0]


@pytest.mark.parametrize(
    "extras", [{}, {"mapped": True}, {"buffer": 1000}, {"rewrite_header_on_append": False}]
)
def test_a_follower_thread_sees_exact_prefixes(tmp_path, extras):
    path = str(tmp_path / "log.npy")
    total = 5000
    w = npaa.NpyAppendArray(path, **extras)
    w.append(rows(0, 1))
    w.update_header()

    def write():
        i = 1
        while i < total:
            n = min(1 + i % 7, total - i)
            w.append(rows(i, n))
            i += n
        w.close()

    reader = npaa.Reader(path)
    thread = threading.Thread(target=write)
    thread.start()
    seen, views = 0, []
    while thread.is_alive():
        a = reader.refresh()
        assert not a.flags.writeable
        seen = assert_prefix(a, seen)
        views.append(a)
    thread.join()
    assert assert_prefix(reader.refresh(), seen) == total
    # Views taken earlier stay valid (they hold their mapping) and unchanged.
    for v in views[:: max(1, len(views) // 20)]:
        assert_prefix(v, 0)


def test_follow_yields_each_new_block_from_a_writer_process(tmp_path):
    path = str(tmp_path / "live.npy")
    with npaa.NpyAppendArray(path) as w:
        w.append(rows(0, 3))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, numpy as np, npaa\n"
            "w = npaa.NpyAppendArray(sys.argv[1], mapped=True)\n"
            "for i in range(3, 2003, 4):\n"
            "    w.append(np.repeat(np.arange(i, i + 4, dtype='<f8')[:, None], %d, axis=1))\n"
            "    time.sleep(0.0005)\n"
            "w.close()\n" % COLS,
            path,
        ]
    )
    try:
        got = 0
        for block in npaa.Reader(path).follow(poll=0.001):
            # The first block holds what was committed before follow() was called.
            np.testing.assert_array_equal(block, rows(got, block.shape[0]))
            got += block.shape[0]
            if got == 2003:
                break
    finally:
        child.wait(timeout=60)
    assert child.returncode == 0


def test_a_ragged_follower_yields_each_record(tmp_path):
    path = str(tmp_path / "feats.npy")
    lengths = [int(n) for n in np.random.default_rng(1).integers(0, 9, size=500)]
    r = npaa.RaggedAppendArray(path)
    r.append(rows(0, 2))

    def write():
        i = 2
        for n in lengths:
            r.append(rows(i, n))
            i += n
        r.close()

    thread = threading.Thread(target=write)
    thread.start()
    reader = npaa.RaggedReader(path)
    expected = [2] + lengths
    got, row = 0, 0
    for record in reader.follow(poll=0.001):
        assert record.shape == (expected[got], COLS)
        np.testing.assert_array_equal(record, rows(row, expected[got]))
        row += expected[got]
        got += 1
        if got == len(expected):
            break
    thread.join()
    x = reader.refresh()
    assert len(x) == len(expected)


def test_uncounted_rows_are_reported(tmp_path):
    path = str(tmp_path / "n.npy")
    w = npaa.NpyAppendArray(path, rewrite_header_on_append=False)
    w.append(rows(0, 2))
    w.append(rows(2, 5))
    reader = npaa.Reader(path)
    assert reader.refresh().shape == (2, COLS) and reader.uncounted_items == 5
    w.close()
    assert reader.refresh().shape == (7, COLS) and reader.uncounted_items == 0


def test_follow_goes_on_after_what_refresh_returned(tmp_path):
    path = str(tmp_path / "r.npy")
    w = npaa.NpyAppendArray(path)
    w.append(rows(0, 3))
    reader = npaa.Reader(path)
    assert reader.refresh().shape == (3, COLS)
    assert reader.next_block() is None
    w.append(rows(3, 2))
    np.testing.assert_array_equal(next(reader.follow(poll=0.001)), rows(3, 2))
    w.close()
