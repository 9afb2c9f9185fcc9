"""Where the reference is wrong, npaa is right: each point of the README's list, shown on the
reference too (on the same input) where its wrong behaviour is cheap to show."""

import threading

import numpy as np
import npy_append_array as ref
import pytest

import npaa
from conftest import file_bytes, legacy_npy, saved_bytes


def test_append_after_close_raises_instead_of_truncating(path, ref_path):
    first, late = np.arange(6.0).reshape(3, 2), np.ones((1, 2))
    for p, module in ((path, npaa), (ref_path, ref)):
        a = module.NpyAppendArray(p)
        a.append(first)
        a.close()
        if module is npaa:
            before = file_bytes(p)
            with pytest.raises(npaa.ClosedError, match=r"npaa\.NpyAppendArray\("):
                a.append(late)
            assert file_bytes(p) == before == saved_bytes(first)
        else:
            a.append(late)  # the reference starts the file over
            np.testing.assert_array_equal(np.load(p), late)


def test_float_to_int_is_refused_unless_unsafe(tmp_path):
    ints, floats = np.arange(4).reshape(2, 2), np.array([[0.5, 1.7]])
    p = str(tmp_path / "ours.npy")
    with npaa.NpyAppendArray(p) as a:
        a.append(ints)
        before = file_bytes(p)
        with pytest.raises(npaa.CastingError, match='casting="unsafe"'):
            a.append(floats)
        assert file_bytes(p) == before
    theirs = str(tmp_path / "theirs.npy")
    with ref.NpyAppendArray(theirs) as r:  # truncates silently
        r.append(ints)
        r.append(floats)
    unsafe = str(tmp_path / "unsafe.npy")
    with npaa.NpyAppendArray(unsafe, casting="unsafe") as a:
        a.append(ints)
        a.append(floats)
    assert file_bytes(unsafe) == file_bytes(theirs)
    assert file_bytes(unsafe) == saved_bytes(np.concatenate([ints, floats.astype(ints.dtype)]))


def test_a_0d_array_is_refused_before_any_byte(path, ref_path):
    rows = np.arange(3.0)
    for p, module in ((path, npaa), (ref_path, ref)):
        with module.NpyAppendArray(p) as a:
            a.append(rows)
            if module is npaa:
                with pytest.raises(npaa.ShapeError, match="0-d"):
                    a.append(np.float64(7.0))
            else:
                with pytest.raises(IndexError):  # after writing the scalar's bytes
                    a.append(np.array(7.0))
    assert file_bytes(path) == saved_bytes(rows) and not npaa.needs_recovery(path)
    # The reference wrote the scalar's bytes before failing: its file needs recovery.
    assert npaa.needs_recovery(ref_path)
    # A 0-d first append does not create a file either.
    with pytest.raises(npaa.ShapeError):
        npaa.NpyAppendArray(path + ".0d").append(np.array(1))
    assert not __import__("os").path.exists(path + ".0d")


class _Blocking(np.ndarray):
    """An array whose conversion (np.ascontiguousarray of a slice in npaa, astype in the
    reference) runs `hook` first: a window inside one handle's append."""

    hook = None

    def __getitem__(self, key):
        if type(self).hook is not None:
            hook, type(self).hook = type(self).hook, None
            hook()
        return super().__getitem__(key)

    def astype(self, *args, **kwargs):
        if type(self).hook is not None:
            hook, type(self).hook = type(self).hook, None
            hook()
        return super().astype(*args, **kwargs)


def while_inside_an_append(handle, other):
    """Appends a strided 4×2 block (np.arange(16.0).reshape(4, 4)[:, ::2]) to `handle` and,
    while that append is inside (npaa gathers the view by slicing it, the reference calls
    astype), runs `other` in a thread. True if `other` finished within a second, while the
    append was still inside."""
    finished = threading.Event()
    worker = threading.Thread(target=lambda: (other(), finished.set()))
    in_time = []

    def inside_append():
        worker.start()
        in_time.append(finished.wait(timeout=1.0))

    _Blocking.hook = inside_append
    handle.append(np.arange(16.0).reshape(4, 4)[:, ::2].view(_Blocking))
    worker.join()
    return in_time == [True]


@pytest.mark.parametrize("module", [npaa, ref], ids=["npaa", "reference"])
def test_a_lock_per_file_not_per_process(tmp_path, module):
    """While one handle is inside an append, another thread appends to another file."""
    one = module.NpyAppendArray(str(tmp_path / "one.npy"))
    two = module.NpyAppendArray(str(tmp_path / "two.npy"))
    rows = np.arange(8.0).reshape(4, 2)
    one.append(rows)
    two.append(rows)
    in_time = while_inside_an_append(one, lambda: two.append(rows))
    one.close()
    two.close()
    if module is npaa:
        assert in_time, "the other file's append waited for this one"
    else:
        assert not in_time, "the reference's class-wide lock serializes files"
    np.testing.assert_array_equal(np.load(tmp_path / "two.npy"), np.concatenate([rows] * 2))


def test_a_second_writer_is_refused(path, ref_path):
    rows = np.arange(4.0).reshape(2, 2)
    with npaa.NpyAppendArray(path) as a:
        a.append(rows)
        before = file_bytes(path)
        with pytest.raises(npaa.LockedError, match="locked by another writer"):
            npaa.NpyAppendArray(path)
        with pytest.raises(npaa.LockedError):
            npaa.NpyAppendArray(path, delete_if_exists=True)
        assert file_bytes(path) == before
    # The reference lets both write: the second handle's header forgets the first's rows.
    with ref.NpyAppendArray(ref_path) as r1:
        r1.append(rows)
        r2 = ref.NpyAppendArray(ref_path)
        r1.append(rows)
        r2.append(rows)
        r2.close()
    assert np.load(ref_path).shape != (6, 2) or npaa.needs_recovery(ref_path)


def test_empty_files_can_be_made_appendable(tmp_path):
    empty = np.zeros((0, 3), dtype="<f4")
    ours, theirs = str(tmp_path / "ours.npy"), str(tmp_path / "theirs.npy")
    legacy_npy(ours, empty)
    legacy_npy(theirs, empty)
    assert not npaa.is_appendable(ours)
    assert npaa.ensure_appendable(ours).changed
    with pytest.raises(ZeroDivisionError):
        ref.ensure_appendable(theirs)
    with npaa.NpyAppendArray(ours) as a:
        a.append(np.ones((2, 3), dtype="<f4"))
    assert file_bytes(ours) == saved_bytes(np.ones((2, 3), dtype="<f4"))


def test_an_append_to_the_same_handle_waits_for_the_one_inside(tmp_path):
    """One handle shared by threads: an append made while another is inside (between its
    slabs, holding the handle's lock and the GIL) waits, and each block lands whole."""
    path = tmp_path / "shared.npy"
    shared = npaa.NpyAppendArray(path)
    rows = np.zeros((2, 2))
    shared.append(rows)
    in_time = while_inside_an_append(shared, lambda: shared.append(np.full((3, 2), 7.0)))
    shared.close()
    assert not in_time, "the second append ran inside the first"
    expected = np.concatenate([rows, np.arange(16.0).reshape(4, 4)[:, ::2], np.full((3, 2), 7.0)])
    np.testing.assert_array_equal(np.load(path), expected)
