"""The reference's own test cases (npy-append-array's test.py), ported, run against npaa and,
where the reference's behaviour is the intended one, against the reference on the same input."""

import itertools
import os
import threading

import numpy as np
import npy_append_array as ref
import npy_append_array.npy_append_array as ref_module  # needs_recovery is not re-exported
import pytest

import npaa
from conftest import file_bytes, legacy_npy, saved_bytes


@pytest.mark.parametrize("inplace", [False, True])
def test_ensure_appendable_on_a_header_without_room(tmp_path, inplace):
    arr = np.arange(10 * 10, dtype="<i8").reshape(10, 10)
    ours, theirs = str(tmp_path / "ours.npy"), str(tmp_path / "theirs.npy")
    for p in (ours, theirs):
        before = legacy_npy(p, arr)
    assert not npaa.is_appendable(ours) and not ref.is_appendable(theirs)
    with pytest.raises(npaa.NotAppendableError, match=r"npaa\.ensure_appendable\("):
        npaa.NpyAppendArray(ours)

    report = npaa.ensure_appendable(ours, inplace=inplace)
    assert report and report.changed
    assert report.header_len_before == before < 128
    assert ref.ensure_appendable(theirs, inplace=inplace) is True
    if report.method == "inserted_blocks":
        # In place on ext4/XFS: whole blocks were inserted before the data, none moved; the
        # header fills them (NumPy reads any 64-aligned length).
        assert report.header_len_after % 4096 == 80
    else:
        # Same bytes as the reference, and as np.save of the array.
        assert report.header_len_after == 128
        assert file_bytes(ours) == file_bytes(theirs) == saved_bytes(arr)
    np.testing.assert_array_equal(np.load(ours), np.load(theirs))
    assert file_bytes(ours)[report.header_len_after:] == arr.tobytes()
    assert npaa.is_appendable(ours)

    with npaa.NpyAppendArray(ours) as a:
        a.append(arr)
    expected = saved_bytes(np.concatenate([arr, arr]))
    assert file_bytes(ours)[report.header_len_after:] == expected[128:]
    np.testing.assert_array_equal(np.load(ours), np.concatenate([arr, arr]))
    again = npaa.ensure_appendable(ours, inplace=inplace)
    assert again and not again.changed and again.method == "already_appendable"


@pytest.mark.parametrize("zerofill", [False, True])
@pytest.mark.parametrize("fortran", [False, True])
def test_recover_a_file_cut_in_half(tmp_path, zerofill, fortran):
    arr = np.arange(11 * 7, dtype="<f8").reshape(11, 7)
    if fortran:
        arr = np.asfortranarray(arr.reshape(7, 11))
    ours, theirs = str(tmp_path / "ours.npy"), str(tmp_path / "theirs.npy")
    np.save(ours, arr)
    size = os.path.getsize(ours)
    header = size - arr.nbytes
    with open(ours, "rb") as f:
        data = f.read()
    for p in (ours, theirs):
        with open(p, "wb") as f:
            f.write(data[: header + arr.nbytes // 2 + 3])  # mid-item
    assert npaa.needs_recovery(ours) and ref_module.needs_recovery(theirs)
    with pytest.raises(npaa.NeedsRecoveryError, match=r"npaa\.recover\("):
        npaa.NpyAppendArray(ours)

    report = npaa.recover(ours, zerofill_incomplete=zerofill)
    assert report and report.changed
    assert ref.recover(theirs, zerofill_incomplete=zerofill) is True
    assert file_bytes(ours) == file_bytes(theirs)
    assert not npaa.needs_recovery(ours)

    loaded = np.load(ours)
    whole = (arr.nbytes // 2 + 3) // (8 * 7)  # an item along the growth axis: 7 elements
    axis = -1 if fortran else 0
    assert loaded.shape[axis] == whole + (1 if zerofill else 0)
    assert report.items_after == loaded.shape[axis]
    kept = np.take(arr, range(whole), axis=axis)
    np.testing.assert_array_equal(np.take(loaded, range(whole), axis=axis), kept)


COMBINATIONS = list(itertools.product([False, True], repeat=5))


@pytest.mark.parametrize(
    "np_save_first,rewrite,delete,first_f,second_f",
    COMBINATIONS,
    ids=["save%d-rewrite%d-delete%d-first%s-second%s" % (a, b, c, "FC"[not d], "FC"[not e])
         for a, b, c, d, e in COMBINATIONS],
)
def test_ten_threads_inside_with(tmp_path, np_save_first, rewrite, delete, first_f, second_f):
    rng = np.random.default_rng(1)
    arr1 = rng.integers(0, 100, (3, 4))
    arr2 = rng.integers(0, 100, (3, 4))
    if first_f:
        arr1 = np.asfortranarray(arr1)
    if second_f:
        arr2 = np.asfortranarray(arr2)
    outputs = {}
    for name, module in (("npaa", npaa), ("ref", ref)):
        p = str(tmp_path / f"{name}.npy")
        if np_save_first:
            np.save(p, arr1)
        with module.NpyAppendArray(p, delete_if_exists=delete,
                                   rewrite_header_on_append=rewrite) as a:
            threads = [threading.Thread(target=a.append, args=(arr2,)) for _ in range(10)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        outputs[name] = file_bytes(p)
    # The file's order is the first array's (np.save's rule); appends convert to it.
    base_f = first_f if (np_save_first and not delete) else second_f
    parts = [arr1] * (np_save_first and not delete) + [arr2] * 10
    expected = np.concatenate(parts, axis=-1 if base_f else 0)
    expected = np.asfortranarray(expected) if base_f else np.ascontiguousarray(expected)
    assert outputs["npaa"] == saved_bytes(expected)
    assert outputs["npaa"] == outputs["ref"]


def test_a_file_past_2_gib(tmp_path):
    p = str(tmp_path / "big.npy")
    rows = (2**31) // 8 + 1000  # 8-byte rows: data ends past 2 GiB
    # A sparse file: open_memmap sets the length without writing the data.
    big = np.lib.format.open_memmap(p, mode="w+", dtype="<u8", shape=(rows, 1))
    big[-1] = 41
    del big
    tail = np.arange(5, dtype="<u8").reshape(5, 1) + 100
    with npaa.NpyAppendArray(p) as a:
        a.append(tail)
        assert a.shape == (rows + 5, 1)
    loaded = np.load(p, mmap_mode="r")
    assert loaded.shape == (rows + 5, 1)
    assert loaded[rows - 1, 0] == 41
    np.testing.assert_array_equal(loaded[rows:], tail)
    assert os.path.getsize(p) == 128 + 8 * (rows + 5)
    del loaded
    # The reference does the same; its header matches ours.
    theirs = str(tmp_path / "theirs.npy")
    np.lib.format.open_memmap(theirs, mode="w+", dtype="<u8", shape=(rows, 1))
    with ref.NpyAppendArray(theirs) as r:
        r.append(tail)
    with open(p, "rb") as f, open(theirs, "rb") as g:
        assert f.read(128) == g.read(128)
