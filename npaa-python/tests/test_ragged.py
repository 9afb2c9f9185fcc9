"""Ragged records with an index: npaa.RaggedAppendArray, load_ragged, recover_ragged and
ragged_index_from_lengths, checked against NumPy loading the two files; a ragged writer killed
mid-run leaves a pair whose indexed records are exact."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import npaa
from conftest import file_bytes


def records(lengths, cols=4, start=0):
    """Records whose rows hold their global row index."""
    out, row = [], start
    for n in lengths:
        out.append(np.repeat(np.arange(row, row + n, dtype="<f4")[:, None], cols, axis=1))
        row += n
    return out


def test_records_of_any_length_round_trip(tmp_path):
    path = str(tmp_path / "feats.npy")
    lengths = [3, 0, 5, 1, 0, 7]
    recs = records(lengths)
    with npaa.RaggedAppendArray(path) as r:
        r.append(recs[0])
        r.append(recs[1])
        r.extend(recs[2:])
        assert len(r) == 6 and r.shape == (16, 4) and r.dtype == np.dtype("<f4")
        assert str(r.index_filename) == str(tmp_path / "feats.idx.npy")
    # NumPy reads both files as they are.
    np.testing.assert_array_equal(np.load(path), np.concatenate(recs))
    index = np.load(str(tmp_path / "feats.idx.npy"))
    assert index.dtype == np.dtype("<i8")
    np.testing.assert_array_equal(index, np.cumsum(lengths))

    x = npaa.load_ragged(path)
    assert len(x) == 6
    for got, want in zip(x, recs):
        np.testing.assert_array_equal(got, want)
    # Records are read-only views of the mapped data, no copy.
    assert np.shares_memory(x[2], x.data) and not x[2].flags.writeable
    np.testing.assert_array_equal(x[-1], recs[-1])
    np.testing.assert_array_equal(x.offsets, np.concatenate(([0], np.cumsum(lengths))))
    np.testing.assert_array_equal(x.lengths, lengths)
    part = x[2:5]
    assert len(part) == 3 and np.shares_memory(part.data, x.data)
    for got, want in zip(part, recs[2:5]):
        np.testing.assert_array_equal(got, want)
    assert [len(r) for r in x[::2]] == lengths[::2]
    with pytest.raises(IndexError):
        x[6]
    copied = npaa.load_ragged(path, mmap_mode=None)
    assert copied.data.flags.writeable and not np.shares_memory(copied.data, x.data)
    with pytest.raises(ValueError):
        npaa.load_ragged(path, mmap_mode="r+")


def test_fortran_order_records_grow_along_the_last_axis(tmp_path):
    path = str(tmp_path / "f.npy")
    recs = [np.asfortranarray(r.T) for r in records([2, 0, 3])]
    with npaa.RaggedAppendArray(path, fortran_order=True) as r:
        r.extend(recs)
    np.testing.assert_array_equal(np.load(path), np.concatenate(recs, axis=-1))
    x = npaa.load_ragged(path)
    for got, want in zip(x, recs):
        np.testing.assert_array_equal(got, want)


def test_a_crashed_pair_reads_without_repair_and_recovers(tmp_path):
    path = str(tmp_path / "c.npy")
    recs = records([2, 3])
    with npaa.RaggedAppendArray(path) as r:
        r.extend(recs)
    # Rows no index entry names: what a kill between the data and the index leaves.
    with npaa.NpyAppendArray(path) as a:
        a.append(records([4], start=5)[0])
    before = (file_bytes(path), file_bytes(str(tmp_path / "c.idx.npy")))
    x = npaa.load_ragged(path)
    assert len(x) == 2 and x.data.shape == (5, 4)
    assert (file_bytes(path), file_bytes(str(tmp_path / "c.idx.npy"))) == before
    report = npaa.recover_ragged(path)
    assert report and report.changed and (report.records, report.items_cut) == (2, 4)
    assert np.load(path).shape == (5, 4)
    assert not npaa.recover_ragged(path).changed


def test_bad_input_is_refused_and_leaves_the_pair_as_it_was(tmp_path):
    path = str(tmp_path / "b.npy")
    r = npaa.RaggedAppendArray(path)
    r.append(records([2])[0])
    before = file_bytes(path)
    with pytest.raises(npaa.ShapeError):
        r.append(np.zeros((2, 5), "f4"))
    with pytest.raises(npaa.CastingError):
        r.append(np.zeros((2, 4), "f8").astype(complex))
    with pytest.raises(npaa.LockedError):
        npaa.RaggedAppendArray(path)
    assert len(r) == 1
    r.close()
    assert file_bytes(path) == before
    with pytest.raises(npaa.ClosedError, match="RaggedAppendArray"):
        r.append(records([1])[0])
    # A strided record is copied, then appended.
    with npaa.RaggedAppendArray(path) as r:
        r.append(np.arange(16, dtype="f4").reshape(4, 4)[::2])
    np.testing.assert_array_equal(npaa.load_ragged(path)[1], [[0, 1, 2, 3], [8, 9, 10, 11]])


def test_an_index_from_a_fairseq_lengths_file(tmp_path):
    path = str(tmp_path / "train_0_1.npy")
    lengths_file = tmp_path / "train_0_1.len"
    recs = records([4, 0, 6])
    np.save(path, np.concatenate(recs))
    lengths_file.write_text("4\n0\n6\n")
    with pytest.raises(npaa.NpaaError, match="add up to 9"):
        npaa.ragged_index_from_lengths(path, [4, 5])
    assert npaa.ragged_index_from_lengths(path, str(lengths_file)) == 3
    for got, want in zip(npaa.load_ragged(path), recs):
        np.testing.assert_array_equal(got, want)
    os.remove(str(tmp_path / "train_0_1.idx.npy"))
    assert npaa.ragged_index_from_lengths(path, np.array([4, 0, 6])) == 3


# Appends records of 0..20 rows whose values are their global row index, forever.
WRITER = """
import sys, numpy as np, npaa
path, extras = sys.argv[1], eval(sys.argv[2])
r = npaa.RaggedAppendArray(path, **extras)
rng = np.random.default_rng(int(sys.argv[3]))
row = 0
while True:
    n = int(rng.integers(0, 20))
    r.append(np.repeat(np.arange(row, row + n, dtype="<f4")[:, None], 4, axis=1))
    row += n
    if len(r) == 300:
        print("ready", flush=True)
"""


@pytest.mark.parametrize(
    "extras", [{}, {"durability": "append"}, {"buffer": 4096}, {"mapped": True}]
)
def test_a_killed_ragged_writer_leaves_exact_indexed_records(tmp_path, extras):
    path = str(tmp_path / "k.npy")
    for seed in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, path, repr(extras), str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(0.05 * seed)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait()
        # Read without repair, then repaired: each record exact (the repair may add those whose
        # index entries were written but not yet counted: a whole batch with buffer=).
        lengths = np.random.default_rng(seed).integers(0, 20, size=len(npaa.load_ragged(path)) * 2)
        for x in (npaa.load_ragged(path), None):
            if x is None:
                npaa.recover_ragged(path)
                x = npaa.load_ragged(path)
                assert np.load(path).shape[0] == int(np.load(path[:-4] + ".idx.npy")[-1])
            assert len(x) >= 300 or extras.get("buffer")
            np.testing.assert_array_equal(x.lengths, lengths[: len(x)])
            np.testing.assert_array_equal(
                x.data[:, 0], np.arange(x.data.shape[0], dtype="<f4")
            )
        os.remove(path)
        os.remove(path[:-4] + ".idx.npy")


def test_ragged_problems_name_each_way_a_pair_is_broken(tmp_path):
    data, index = tmp_path / "f.npy", tmp_path / "f.idx.npy"

    def pair(ends, cut_data=0):
        np.save(data, np.arange(20, dtype="<f4").reshape(10, 2))
        np.save(index, np.array(ends, dtype="<i8"))
        if cut_data:
            with open(data, "r+b") as f:
                f.truncate(data.stat().st_size - cut_data)
        return npaa.ragged_problems(data)

    fix = f": call npaa.recover_ragged({str(data)!r}) first"
    assert pair([4, 4, 10]) == []
    assert pair([4, 4, 10, 12]) == [
        "needs recovery: 1 index entries end past the 10 items the data holds" + fix]
    assert pair([4, 3, 10]) == [
        "index entry 1 (3) is smaller than the one before it (4): record ends never decrease"]
    assert pair([4, 4, 10], cut_data=4) == [
        "the data file: needs recovery: 76 data bytes present, the header announces 80 "
        "(NumPy cannot load it)" + fix]
    assert pair([4, 4]) == [
        "needs recovery: the data holds 6 items past its last indexed record (a half-appended "
        "record)" + fix]
    assert npaa.recover_ragged(data).records == 2
    assert npaa.ragged_problems(str(data)) == []
    with pytest.raises(OSError):
        npaa.ragged_problems(tmp_path / "none.npy")
