"""Property: appending any chunks gives np.save of their concatenation, byte for byte, for any
dtype, memory order, layout of each chunk (contiguous, the other order, strided views) and
chunking."""

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import npaa
from conftest import file_bytes

DTYPES = [
    "|b1", "|i1", "|u1", "<i2", ">i2", "<u4", ">i8", "<f2", "<f4", ">f8", "<c8", ">c16",
    "|S3", "<U2", ">U1", "<M8[ns]", ">m8[s]", "<M8[D]", "|V4",
    [("a", "<i4"), ("b", ">f8", (2,))],
    [("x", "|u1"), ("y", [("z", "<i2"), ("w", "|S2")])],
    np.dtype({"names": ["p", "q"], "formats": ["<f4", "|u1"], "offsets": [0, 8], "itemsize": 12}),
]


def fill(dtype, shape, rng):
    """Distinct, well-defined values of `dtype`: no NaN payloads or bool noise, and zero
    padding in records (NumPy's copies do not keep padding bytes, npaa's do)."""
    if dtype.names is not None:
        arr = np.zeros(shape, dtype)
        for name in dtype.names:
            field = dtype.fields[name][0]
            base, sub = (field.base, field.shape)
            arr[name] = fill(base, (*shape, *sub), rng)
        return arr
    if dtype.kind in "fc":
        return rng.integers(-50, 50, size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    if dtype.kind == "U":
        return np.array(rng.choice(list("abcxyz"), size=shape), dtype=dtype)
    raw = rng.integers(0, 256, size=int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)


def layouts(arr, kind):
    """`arr`'s values, laid out as `kind`: C, F, or a strided view of a larger array."""
    if kind == "C":
        return np.ascontiguousarray(arr)
    if kind == "F":
        return np.asfortranarray(arr)
    big = np.zeros(tuple(2 * d for d in arr.shape), dtype=arr.dtype)
    view = big[tuple(slice(None, None, 2) for _ in arr.shape)]
    view[...] = arr
    return view


def has_padding(dtype):
    if dtype.names is None:
        return False
    fields = [dtype.fields[n] for n in dtype.names]
    return sum(f[0].itemsize for f in fields) != dtype.itemsize or any(
        has_padding(f[0].base) for f in fields
    )


@st.composite
def cases(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    ndim = draw(st.integers(1, 3))
    fixed = [draw(st.integers(0, 3)) for _ in range(ndim - 1)]
    fortran = draw(st.booleans())
    counts = draw(st.lists(st.integers(0, 4), min_size=1, max_size=5))
    kinds = draw(st.lists(st.sampled_from("CFS"), min_size=len(counts), max_size=len(counts)))
    seed = draw(st.integers(0, 2**32 - 1))
    return dtype, fixed, fortran, counts, kinds, seed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases())
def test_appends_equal_np_save_of_the_concatenation(tmp_path, case):
    dtype, fixed, fortran, counts, kinds, seed = case
    rng = np.random.default_rng(seed)
    chunks = []
    for n, kind in zip(counts, kinds):
        shape = (*fixed, n) if fortran else (n, *fixed)
        chunks.append(layouts(fill(dtype, shape, rng), kind))
    path = tmp_path / f"p{seed}.npy"
    with npaa.NpyAppendArray(path, delete_if_exists=True, fortran_order=fortran) as a:
        for c in chunks:
            a.append(c)
    axis = -1 if fortran else 0
    # Into zeros of the chunks' dtype and the file's order: concatenate alone would make the
    # byte order native, and a copy of a record may leave its padding uninitialized.
    shape = list(chunks[0].shape)
    shape[axis] = sum(counts)
    whole = np.zeros(shape, dtype=dtype, order="F" if fortran else "C")
    np.concatenate(chunks, axis=axis, out=whole)
    buf = io.BytesIO()
    np.save(buf, whole)
    expected = buf.getvalue()
    saved_as_c = not (whole.flags.f_contiguous and not whole.flags.c_contiguous)
    if fortran and whole.ndim > 1 and saved_as_c:
        # np.save writes such arrays (at most one dimension longer than 1, or empty) as C
        # order; npaa keeps the order asked for (for more than one dimension): the same header
        # with True (one character shorter, one more space of padding), the same data bytes.
        end = expected.index(b"\n")
        text = expected[:end].replace(b"'fortran_order': False", b"'fortran_order': True", 1)
        expected = text + b" \n" + expected[end + 1:]
    got = file_bytes(path)
    if has_padding(dtype):
        # NumPy's copies (asfortranarray, concatenate) leave a record's padding bytes
        # undefined; npaa copies them as they are. Same header, same values.
        assert got[: got.index(b"\n")] == expected[: expected.index(b"\n")]
        assert len(got) == len(expected)
        np.testing.assert_array_equal(np.load(path), whole)
    else:
        assert got == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["<i4", ">i4", "<i2", "|u1", "|b1"]), min_size=1, max_size=6))
def test_safe_casts_of_mixed_dtypes(tmp_path, dtypes):
    """Blocks of other integer dtypes are cast to the file's (same_kind), as np.concatenate
    followed by astype would."""
    path = tmp_path / "mixed.npy"
    blocks = [(np.arange(6).reshape(3, 2) % (2 if d == "|b1" else 6)).astype(d) for d in dtypes]
    with npaa.NpyAppendArray(path, delete_if_exists=True) as a:
        a.append(np.zeros((1, 2), dtype="<i8"))
        for b in blocks:
            a.append(b)
    expected = np.concatenate([np.zeros((1, 2), dtype="<i8")] + [b.astype("<i8") for b in blocks])
    buf = io.BytesIO()
    np.save(buf, expected)
    assert file_bytes(path) == buf.getvalue()
