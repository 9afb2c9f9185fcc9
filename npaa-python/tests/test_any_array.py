"""Any array in: `append` takes what today's array libraries hand a user, with no `.numpy()`
call: DLPack producers (NumPy's own `__dlpack__`, a tensor that requires grad, an array on a
GPU), objects with `__array__`, the buffer protocol, nested lists. Each protocol is tested with
a minimal object that implements it alone, and the file is compared with `np.save` of the
same values."""

import array as pyarray

import array_api_strict as xp
import numpy as np
import pytest

import npaa
from conftest import file_bytes, saved_bytes

KDL_CPU, KDL_CUDA = 1, 2


class DLPackOnly:
    """Exports an ndarray through DLPack and nothing else (no __array__, no buffer)."""

    def __init__(self, arr, device=(KDL_CPU, 0)):
        self._arr = arr
        self._device = device
        self.calls = []

    def __dlpack__(self, **kwargs):
        self.calls.append(kwargs)
        return self._arr.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._device


class OnGpu(DLPackOnly):
    """Says it lives on CUDA device 0. Like CuPy or PyTorch, it copies itself to host memory
    when the consumer asks for it (dl_device=CPU, copy=True) and refuses anything else."""

    def __init__(self, arr, can_copy=True):
        super().__init__(arr, device=(KDL_CUDA, 0))
        self.can_copy = can_copy

    def __dlpack__(self, **kwargs):
        self.calls.append(kwargs)
        if self.can_copy and kwargs.get("dl_device") == (KDL_CPU, 0) and kwargs.get("copy"):
            return self._arr.__dlpack__(dl_device=(KDL_CPU, 0), copy=True)
        raise BufferError("the data is in CUDA memory")


class RequiresGrad:
    """A tensor that requires grad, as PyTorch refuses to export it: only detach() gives a
    tensor that DLPack can read."""

    requires_grad = True

    def __init__(self, arr):
        self._arr = arr

    def __dlpack__(self, **kwargs):
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")

    def __dlpack_device__(self):
        return (KDL_CPU, 0)

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad.")

    def detach(self):
        return DLPackOnly(self._arr)


class ArrayOnly:
    """Has __array__ and nothing else."""

    def __init__(self, arr):
        self._arr = arr

    def __array__(self, dtype=None, copy=None):
        return self._arr


def check(tmp_path, blocks, expected):
    """Appends `blocks` to a new file; it must be np.save of `expected`."""
    path = tmp_path / "out.npy"
    with npaa.NpyAppendArray(path, delete_if_exists=True) as out:
        for block in blocks:
            out.append(block)
    assert file_bytes(path) == saved_bytes(expected)


def test_numpys_own_dlpack(tmp_path):
    a = np.arange(12, dtype="<f4").reshape(3, 4)
    source = DLPackOnly(a)
    check(tmp_path, [source, DLPackOnly(a[:1])], np.concatenate([a, a[:1]]))
    assert source.calls  # read through DLPack


def test_a_third_party_array_library(tmp_path):
    # array-api-strict's Array: the array API standard's reference implementation, a DLPack
    # producer that is not an ndarray.
    a = xp.reshape(xp.arange(12, dtype=xp.int32), (4, 3))
    check(tmp_path, [a, a[1:2, :]], np.arange(12, dtype=np.int32).reshape(4, 3)[[0, 1, 2, 3, 1]])


def test_a_fortran_order_dlpack_array_makes_a_fortran_file(tmp_path):
    a = np.asfortranarray(np.arange(12, dtype="<i8").reshape(3, 4))
    check(tmp_path, [DLPackOnly(a), DLPackOnly(a)], np.concatenate([a, a], axis=1))


def test_a_tensor_that_requires_grad_is_read_through_detach(tmp_path):
    a = np.linspace(0, 1, 32, dtype="<f4").reshape(2, 16)
    check(tmp_path, [RequiresGrad(a), a], np.concatenate([a, a]))


# NumPy >= 2.1 can ask a DLPack producer for a host copy (from_dlpack's device and copy);
# before that npaa refuses device arrays, naming the NumPy it needs.
NUMPY_COPIES_DLPACK = tuple(int(p) for p in np.__version__.split(".")[:2]) >= (2, 1)
OLD_NUMPY_CAUSE = "NumPy before 2.1 cannot ask a DLPack producer for a copy in host memory"


def test_a_gpu_array_is_copied_to_host_memory(tmp_path):
    a = np.arange(6, dtype="<f8").reshape(2, 3)
    gpu = OnGpu(a)
    if not NUMPY_COPIES_DLPACK:
        with pytest.raises(TypeError, match=r"device memory") as err:
            check(tmp_path, [gpu, a], np.concatenate([a, a]))
        assert str(err.value.__cause__) == OLD_NUMPY_CAUSE
        return
    check(tmp_path, [gpu, a], np.concatenate([a, a]))
    assert any(c.get("dl_device") == (KDL_CPU, 0) and c.get("copy") for c in gpu.calls)


def test_a_gpu_array_that_cannot_be_copied_names_the_fix(tmp_path):
    path = tmp_path / "out.npy"
    a = np.arange(6, dtype="<f8").reshape(2, 3)
    with npaa.NpyAppendArray(path) as out:
        out.append(a)
        before = file_bytes(path)
        with pytest.raises(TypeError, match=r"device memory.*\.cpu\(\).*\.get\(\)") as err:
            out.append(OnGpu(a, can_copy=False))
        if NUMPY_COPIES_DLPACK:
            assert isinstance(err.value.__cause__, BufferError)
        else:
            assert str(err.value.__cause__) == OLD_NUMPY_CAUSE
        assert file_bytes(path) == before  # nothing written
        out.append(a)  # and the handle goes on
    assert file_bytes(path) == saved_bytes(np.concatenate([a, a]))


def test_array_protocol(tmp_path):
    a = np.arange(8, dtype=">i2").reshape(2, 4)
    check(tmp_path, [ArrayOnly(a), ArrayOnly(a)], np.concatenate([a, a]).astype(">i2"))


def test_buffer_protocol(tmp_path):
    # The standard library's buffer exporters: array.array, memoryview (with its shape and
    # format), bytearray.
    check(tmp_path, [pyarray.array("d", [1.5, 2.5]), pyarray.array("d", [3.5])],
          np.array([1.5, 2.5, 3.5]))
    m = memoryview(np.arange(6, dtype="<i4").tobytes()).cast("i", (2, 3))
    check(tmp_path, [m, m], np.tile(np.arange(6, dtype="<i4").reshape(2, 3), (2, 1)))
    check(tmp_path, [bytearray(b"\x01\x02"), bytearray(b"\x03")],
          np.array([1, 2, 3], dtype=np.uint8))


def test_nested_lists(tmp_path):
    check(tmp_path, [[[1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]]],
          np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))


def test_lists_are_cast_to_the_file_dtype_under_the_casting_rule(tmp_path):
    path = tmp_path / "out.npy"
    with npaa.NpyAppendArray(path) as out:
        out.append(np.zeros((1, 2), dtype="<f4"))
        out.append([[1, 2]])  # int64 -> float32: same_kind allows it
        with pytest.raises(npaa.CastingError):
            out.append([[1.5j, 2]])  # complex -> float: refused
    assert np.load(path).tolist() == [[0.0, 0.0], [1.0, 2.0]]


def test_ragged_lists_and_objects_are_refused_before_writing(tmp_path):
    path = tmp_path / "out.npy"
    with npaa.NpyAppendArray(path) as out:
        out.append(np.zeros((1, 2)))
        before = file_bytes(path)
        with pytest.raises(ValueError):
            out.append([[1.0, 2.0], [3.0]])
        with pytest.raises(npaa.DtypeError):
            out.append(np.array([[object(), object()]]))
        with pytest.raises(npaa.ShapeError):
            out.append(5.0)  # a scalar is 0-d
        assert file_bytes(path) == before


def test_ndarray_subclasses_and_views_are_read_in_place(tmp_path):
    a = np.arange(24, dtype="<f8").reshape(4, 6)
    m = np.ma.masked_array(a)  # an ndarray subclass
    strided = a[::2, ::3]  # not contiguous: gathered in slabs
    path = tmp_path / "views.npy"
    with npaa.NpyAppendArray(path) as out:
        out.append(m)
        out.append(a[::2])
    assert file_bytes(path) == saved_bytes(np.concatenate([a, a[::2]]))
    path = tmp_path / "strided.npy"
    with npaa.NpyAppendArray(path) as out:
        out.append(strided)
        out.append(strided)
    assert file_bytes(path) == saved_bytes(np.concatenate([strided, strided]))


@pytest.mark.parametrize("dtype", [
    "?", "=i1", "u1", "=i2", ">u2", "<i4", ">i4", "=i8", ">u8", "=f2", ">f4", "=f8",
    "=g", ">g", "=c8", ">c16", "=G", "S7", "=U3", ">U3", "<M8[us]", "V3",
])
def test_every_dtype_read_in_place_is_the_one_np_save_writes(tmp_path, dtype):
    a = np.frombuffer(bytes(range(6 * np.dtype(dtype).itemsize)), dtype=dtype).reshape(2, 3)
    if a.dtype.kind in "fcM":
        a = np.arange(6).astype(dtype).reshape(2, 3)
    check(tmp_path, [a, a[:1]], np.concatenate([a, a[:1]]).astype(a.dtype))
