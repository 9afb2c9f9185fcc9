"""The drop-in API: the reference's names, signatures and defaults, attributes, paths, and
npaa's keyword-only extras."""

import inspect
import io
import pathlib
import threading

import numpy as np
import npy_append_array as ref
import npy_append_array.npy_append_array as ref_module
import pytest

import npaa
from conftest import file_bytes, saved_bytes


def positional_parameters(func):
    return [
        (p.name, p.default)
        for p in inspect.signature(func).parameters.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
    ]


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (npaa.NpyAppendArray, ref.NpyAppendArray.__init__),
        (npaa.recover, ref.recover),
        (npaa.ensure_appendable, ref.ensure_appendable),
        (npaa.is_appendable, ref.is_appendable),
        (npaa.needs_recovery, ref_module.needs_recovery),
    ],
)
def test_signatures_match_the_reference(ours, theirs):
    assert positional_parameters(ours) == positional_parameters(theirs)


def test_extras_are_keyword_only():
    params = inspect.signature(npaa.NpyAppendArray).parameters
    extras = {"casting", "durability", "buffer", "mapped", "fortran_order", "recover"}
    assert {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY} == extras
    with pytest.raises(TypeError):
        npaa.NpyAppendArray("x.npy", False, True, "unsafe")


def test_readme_example_matches_the_reference(tmp_path):
    arr1 = np.array([[1, 2], [3, 4]])
    arr2 = np.array([[1, 2], [3, 4], [5, 6]])
    for name, module in (("ours", npaa), ("theirs", ref)):
        with module.NpyAppendArray(str(tmp_path / f"{name}.npy")) as a:
            a.append(arr1)
            a.append(arr2)
            a.append(arr2)
    assert file_bytes(tmp_path / "ours.npy") == file_bytes(tmp_path / "theirs.npy")
    assert file_bytes(tmp_path / "ours.npy") == saved_bytes(np.concatenate([arr1, arr2, arr2]))


def test_attributes_follow_the_file(tmp_path):
    p = tmp_path / "a.npy"
    a = npaa.NpyAppendArray(p)
    assert a.filename is p
    assert (a.shape, a.dtype, a.fortran_order) == (None, None, None)
    a.append(np.zeros((2, 3), dtype=">i2"))
    assert a.shape == (2, 3) and a.dtype == np.dtype(">i2") and a.fortran_order is False
    a.append(np.zeros((1, 3), dtype=">i2"))
    a.close()
    assert a.shape == (3, 3) and a.dtype == np.dtype(">i2")
    b = npaa.NpyAppendArray(str(p))
    assert b.shape == (3, 3) and b.dtype == np.dtype(">i2") and b.fortran_order is False
    b.close()
    ours_ref = ref.NpyAppendArray(str(p))
    assert (ours_ref.shape, ours_ref.dtype, ours_ref.fortran_order) == (b.shape, b.dtype, False)
    ours_ref.close()


def test_pathlike_and_str_paths(tmp_path):
    for p in (tmp_path / "p.npy", str(tmp_path / "s.npy")):
        with npaa.NpyAppendArray(p) as a:
            a.append(np.arange(3))
        assert npaa.is_appendable(p) and not npaa.needs_recovery(p)
        assert npaa.recover(p) and npaa.ensure_appendable(p)
        np.testing.assert_array_equal(np.load(p), np.arange(3))


def test_lists_of_rows_and_array_likes(path):
    with npaa.NpyAppendArray(path) as a:
        a.append([[1.0, 2.0], [3.0, 4.0]])
        a.append(memoryview(np.array([[5.0, 6.0]])))
        a.append(((7, 8),))
    assert file_bytes(path) == saved_bytes(np.arange(1.0, 9.0).reshape(4, 2))


def test_other_byte_order_and_memory_order_are_converted(path):
    native = np.arange(12, dtype="<i4").reshape(3, 4)
    with npaa.NpyAppendArray(path) as a:
        a.append(native)
        a.append(native.astype(">i4"))  # other byte order: cast (equiv)
        a.append(np.asfortranarray(native))  # other memory order
        a.append(native[:, ::-1][::2])  # non-contiguous view
    expected = np.concatenate([native, native, native, native[:, ::-1][::2]])
    assert file_bytes(path) == saved_bytes(expected)


def test_fortran_order_keyword_decides_a_new_file(path):
    rows = np.arange(12.0).reshape(3, 4)
    with npaa.NpyAppendArray(path, fortran_order=True) as a:
        a.append(rows)
        a.append(rows[:, :1])
        assert a.fortran_order is True
    assert file_bytes(path) == saved_bytes(np.asfortranarray(np.hstack([rows, rows[:, :1]])))


def test_large_conversions_go_in_slabs(path):
    # 24 MiB transposed: converted in slabs of at most 4 MiB, same bytes as np.save.
    big = np.arange(3 * 2**20, dtype="<f8").reshape(-1, 1024).T.copy().T
    assert not big.flags.c_contiguous
    with npaa.NpyAppendArray(path) as a:
        a.append(big[:1])
        a.append(big)
    # The first block (neither C- nor F-contiguous) makes a C-order file.
    assert file_bytes(path) == saved_bytes(np.ascontiguousarray(np.concatenate([big[:1], big])))


@pytest.mark.parametrize(
    "extras",
    [
        {"durability": "close"},
        {"durability": "append"},
        {"durability": "none"},
        {"durability": 4096},
        {"buffer": 1 << 16},
        {"mapped": True},
        {"mapped": 1 << 20},
        {"casting": "no"},
    ],
)
def test_extras_keep_the_bytes(path, extras):
    rows = [np.full((1, 16), i, dtype="<f8") for i in range(200)]
    with npaa.NpyAppendArray(path, **extras) as a:
        for r in rows:
            a.append(r)
        a.flush()
        a.sync()
    assert file_bytes(path) == saved_bytes(np.concatenate(rows))


@pytest.mark.parametrize("bad", [0, -1, "sometimes", True, 1.5])
def test_bad_durability_is_refused(path, bad):
    with pytest.raises((ValueError, TypeError, OverflowError)):
        npaa.NpyAppendArray(path, durability=bad)


def test_unknown_casting_is_a_value_error(path):
    with pytest.raises(npaa.NpaaError, match="same_kind"):
        npaa.NpyAppendArray(path, casting="sometimes")


def test_update_header_publishes_without_rewrite(path):
    a = npaa.NpyAppendArray(path, rewrite_header_on_append=False)
    a.append(np.zeros((1, 2)))
    a.append(np.ones((3, 2)))
    assert np.load(path).shape == (1, 2)
    a.update_header()
    assert np.load(path).shape == (4, 2)
    a.close()


def test_reports(tmp_path):
    p = str(tmp_path / "r.npy")
    np.save(p, np.arange(10.0))
    with open(p, "r+b") as f:
        f.truncate(128 + 8 * 6 + 5)
    report = npaa.recover(p)
    assert bool(report) is True
    assert (report.items_before, report.items_after, report.bytes_cut) == (10, 6, 5)
    assert report.bytes_zero_filled == 0 and report.changed
    assert "items_after=6" in repr(report)
    unchanged = npaa.recover(p)
    assert bool(unchanged) is True and not unchanged.changed


def test_parallel_files_from_threads(tmp_path):
    paths = [str(tmp_path / f"{i}.npy") for i in range(4)]
    rows = np.arange(64.0).reshape(4, 16)

    def work(p):
        with npaa.NpyAppendArray(p) as a:
            for _ in range(500):
                a.append(rows)

    threads = [threading.Thread(target=work, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in paths:
        assert file_bytes(p) == saved_bytes(np.concatenate([rows] * 500))


def test_the_readme_shows_the_exception_hierarchy_as_it_is():
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    tree = readme.split("ValueError\n└── npaa.NpaaError\n", 1)[1].split("```", 1)[0]
    parents = {0: npaa.NpaaError}
    shown = set()
    for line in tree.splitlines():
        name = line.lstrip("│ ├└─")
        depth = (len(line) - len(name)) // 4 - 1
        cls = getattr(npaa, name.split()[0])
        assert cls.__bases__ == (parents[depth - 1],), line
        parents[depth] = cls
        shown.add(cls)
    assert issubclass(npaa.NpaaError, ValueError)
    exported = {
        c for c in vars(npaa).values() if isinstance(c, type) and issubclass(c, npaa.NpaaError)
    }
    assert shown == exported - {npaa.NpaaError}


def test_concatenate_files_is_np_save_of_the_concatenation(tmp_path):
    parts = [np.arange(6.0).reshape(2, 3), np.asfortranarray(np.ones((4, 3)))]
    names = []
    for i, part in enumerate(parts):
        names.append(tmp_path / f"part{i}.npy")
        np.save(names[-1], part)
    dest = tmp_path / "all.npy"
    assert npaa.concatenate_files(dest, names) == 6
    assert npaa.concatenate_files(str(dest), [str(names[0])]) == 2
    expected = io.BytesIO()
    np.save(expected, np.concatenate(parts + parts[:1]))
    assert dest.read_bytes() == expected.getvalue()


def test_concatenate_files_refuses_without_touching_dest(tmp_path):
    dest = tmp_path / "dest.npy"
    np.save(dest, np.zeros((2, 3)))
    np.save(tmp_path / "wide.npy", np.ones((1, 4)))
    np.save(tmp_path / "floats.npy", np.ones((1, 3)))
    np.save(tmp_path / "ints.npy", np.zeros((2, 3), dtype="<i4"))
    before = dest.read_bytes()
    with pytest.raises(npaa.ShapeError, match="wide.npy: cannot append a block of shape"):
        npaa.concatenate_files(dest, [tmp_path / "floats.npy", tmp_path / "wide.npy"])
    with pytest.raises(npaa.CastingError, match='casting="unsafe"'):
        npaa.concatenate_files(tmp_path / "ints.npy", [tmp_path / "floats.npy"])
    with pytest.raises(ValueError, match="is the destination itself"):
        npaa.concatenate_files(dest, [dest])
    with pytest.raises(FileNotFoundError):
        npaa.concatenate_files(dest, [tmp_path / "missing.npy"])
    assert dest.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dest.npy", "floats.npy", "ints.npy", "wide.npy"]
    assert npaa.concatenate_files(tmp_path / "ints.npy", [tmp_path / "floats.npy"],
                                  casting="unsafe") == 1


def test_problems_are_the_cores_findings_in_python_terms(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.arange(10.0))
    assert npaa.problems(path) == []
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 4)
    [problem] = npaa.problems(str(path))
    assert problem.startswith("needs recovery: 76 data bytes present, the header announces 80")
    assert problem.endswith(f": call npaa.recover({str(path)!r}) first")
    np.save(tmp_path / "obj.npy", np.array([None], dtype=object), allow_pickle=True)
    assert npaa.problems(tmp_path / "obj.npy") == [
        "not appendable: it holds Python objects (pickles), which cannot be appended to"]
