"""Bad input gives the documented exception, and the file's bytes stay as they were."""

import os

import numpy as np
import pytest

import npaa
from conftest import file_bytes, legacy_npy, saved_bytes


@pytest.fixture
def existing(path):
    rows = np.arange(6.0).reshape(3, 2)
    np.save(path, rows)
    return path


@pytest.mark.parametrize(
    "block,error",
    [
        (np.zeros((2, 3)), npaa.ShapeError),
        (np.zeros(2), npaa.ShapeError),
        (np.zeros((1, 2, 1)), npaa.ShapeError),
        (np.array(1.0), npaa.ShapeError),
        (np.array([[object(), 1]], dtype=object), npaa.DtypeError),
        (np.array([[1, 2]], dtype=np.complex128), npaa.CastingError),
        (np.array([["a", "b"]]), npaa.DtypeError),
        (np.zeros((4, 6))[:, ::2], npaa.ShapeError),  # non-contiguous: checked before slabs
    ],
)
def test_refused_blocks_leave_the_file_unchanged(existing, block, error):
    before = file_bytes(existing)
    with npaa.NpyAppendArray(existing) as a:
        with pytest.raises(error) as info:
            a.append(block)
        assert isinstance(info.value, ValueError)
        assert a.shape == (3, 2)
        a.append(np.ones((1, 2)))  # the handle still works
    # Only the last, accepted append changed the file.
    expected = np.concatenate([np.arange(6.0).reshape(3, 2), np.ones((1, 2))])
    assert file_bytes(existing) == saved_bytes(expected)
    assert file_bytes(existing)[128:176] == before[128:]


def test_a_refused_block_alone_leaves_every_byte(existing):
    before = file_bytes(existing)
    with npaa.NpyAppendArray(existing) as a:
        with pytest.raises(npaa.ShapeError):
            a.append(np.zeros((10, 6))[:, ::2])  # 3 columns, converted in slabs if accepted
        with pytest.raises(npaa.CastingError):
            a.append(np.zeros((10, 2), dtype=complex))
    assert file_bytes(existing) == before


def test_object_arrays_never_create_a_file(path):
    with pytest.raises(npaa.DtypeError, match="object"):
        npaa.NpyAppendArray(path).append(np.array([None, 1], dtype=object))
    assert not os.path.exists(path)


def test_an_object_file_is_refused(path):
    np.save(path, np.array([None, 1], dtype=object), allow_pickle=True)
    before = file_bytes(path)
    with pytest.raises(npaa.DtypeError):
        npaa.NpyAppendArray(path)
    assert file_bytes(path) == before


@pytest.mark.parametrize(
    "content,error",
    [
        (b"", npaa.FormatError),
        (b"\x93NUMPX\x01\x00" + b" " * 120, npaa.FormatError),
        (b"\x93NUMPY\x09\x00" + b" " * 120, npaa.FormatError),
        (b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f8'}" + b" " * 100, npaa.FormatError),
    ],
)
def test_damaged_files(path, content, error):
    with open(path, "wb") as f:
        f.write(content)
    for call in (npaa.NpyAppendArray, npaa.recover, npaa.ensure_appendable,
                 npaa.is_appendable, npaa.needs_recovery):
        with pytest.raises(error):
            call(path)
        assert file_bytes(path) == content


def _cut(path):
    np.save(path, np.arange(6.0).reshape(3, 2))
    with open(path, "r+b") as f:
        f.truncate(128 + 8 * 3 + 1)


def _legacy(path):
    legacy_npy(path, np.arange(6.0).reshape(3, 2))


@pytest.mark.parametrize(
    "damage,error,fix,rust_fix",
    [
        (_cut, npaa.NeedsRecoveryError, "npaa.recover", "run recover"),
        (_legacy, npaa.NotAppendableError, "npaa.ensure_appendable", "run ensure_appendable"),
    ],
)
def test_messages_name_the_python_fix(path, damage, error, fix, rust_fix):
    damage(path)
    before = file_bytes(path)
    with pytest.raises(error) as info:
        npaa.NpyAppendArray(path)
    assert f"{fix}({path!r})" in str(info.value)
    assert rust_fix not in str(info.value)
    assert file_bytes(path) == before


def test_a_locked_file_for_every_writer(existing):
    before = file_bytes(existing)
    with npaa.NpyAppendArray(existing):
        for call in (npaa.NpyAppendArray, npaa.recover, npaa.ensure_appendable):
            with pytest.raises(npaa.LockedError):
                call(existing)
        assert npaa.is_appendable(existing)  # readers are not affected
    assert file_bytes(existing) == before


def test_a_directory_is_an_oserror(tmp_path):
    for call in (npaa.NpyAppendArray, npaa.recover, npaa.ensure_appendable):
        with pytest.raises(IsADirectoryError) as info:
            call(tmp_path)
        assert info.value.errno == 21 and info.value.filename == str(tmp_path)
        assert "os error" not in str(info.value)


def test_a_missing_file_is_file_not_found(tmp_path):
    missing = str(tmp_path / "missing.npy")
    for call in (npaa.recover, npaa.ensure_appendable, npaa.is_appendable, npaa.needs_recovery):
        with pytest.raises(FileNotFoundError) as info:
            call(missing)
        assert info.value.filename == missing
    # A missing directory fails at open (the core's rule, as in C and Rust), not at the append.
    in_missing_dir = tmp_path / "no-such-dir" / "a.npy"
    with pytest.raises(FileNotFoundError) as info:
        npaa.NpyAppendArray(in_missing_dir)
    assert info.value.filename == str(in_missing_dir)
    assert "no-such-dir is not an existing directory" in str(info.value)


def test_every_error_is_a_value_error():
    for name in ("FormatError", "NotAppendableError", "NeedsRecoveryError", "LockedError",
                 "ShapeError", "DtypeError", "CastingError", "ClosedError", "FileChangedError"):
        cls = getattr(npaa, name)
        assert issubclass(cls, npaa.NpaaError) and issubclass(cls, ValueError)
        assert cls.__module__ == "npaa" and cls.__name__ == name
    assert issubclass(npaa.CastingError, npaa.DtypeError)
