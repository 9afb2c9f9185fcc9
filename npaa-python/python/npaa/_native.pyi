"""Type stubs for npaa's native module (re-exported by ``npaa``)."""

import os
from types import TracebackType
from typing import Any, Iterable, Literal, Optional, Sequence, Tuple, Type, Union, final

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

__all__ = [
    "CastingError",
    "ClosedError",
    "DtypeError",
    "EnsureReport",
    "FileChangedError",
    "FormatError",
    "LockedError",
    "NeedsRecoveryError",
    "NotAppendableError",
    "NpaaError",
    "NpyAppendArray",
    "RaggedAppendArray",
    "RaggedRecoverReport",
    "Reader",
    "RecoverReport",
    "ShapeError",
    "_RaggedReader",
    "__version__",
    "concatenate_files",
    "ensure_appendable",
    "is_appendable",
    "needs_recovery",
    "problems",
    "ragged_index_from_lengths",
    "ragged_problems",
    "recover",
    "recover_ragged",
]
__version__: str

_Path = Union[str, "os.PathLike[str]"]

@disjoint_base
class NpyAppendArray:
    """Create and grow a .npy file by appending arrays along the growth axis."""

    def __new__(
        cls,
        filename: _Path,
        delete_if_exists: bool = False,
        rewrite_header_on_append: bool = True,
        *,
        casting: Literal["no", "equiv", "safe", "same_kind", "unsafe"] = "same_kind",
        durability: Union[None, Literal["none", "close", "append"], int] = None,
        buffer: int = 0,
        mapped: Union[None, bool, int] = None,
        fortran_order: Optional[bool] = None,
        recover: bool = False,
        shared: bool = False,
        timeout: Optional[float] = None,
    ) -> "NpyAppendArray": ...
    @property
    def filename(self) -> _Path: ...
    @property
    def shape(self) -> Optional[Tuple[int, ...]]: ...
    @property
    def dtype(self) -> Optional[np.dtype[Any]]: ...
    @property
    def fortran_order(self) -> Optional[bool]: ...
    @property
    def recovered(self) -> Optional["RecoverReport"]: ...
    def append(self, arr: Any) -> None:
        """Appends an ndarray, or any array in: ``__dlpack__`` (PyTorch, JAX, CuPy; device
        arrays are copied to host memory), ``__array__``, the buffer protocol, nested lists."""
    def update_header(self) -> None: ...
    def flush(self) -> None: ...
    def sync(self) -> None: ...
    def close(self) -> None: ...
    def __del__(self) -> None: ...
    def __enter__(self) -> "NpyAppendArray": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> bool: ...

@final
class RecoverReport:
    """What ``recover`` did; always true."""

    items_before: Optional[int]
    items_after: int
    bytes_cut: int
    bytes_zero_filled: int
    changed: bool
    def __bool__(self) -> Literal[True]: ...

@final
class EnsureReport:
    """What ``ensure_appendable`` did; always true."""

    method: Literal["already_appendable", "inserted_blocks", "moved_in_place", "copied"]
    header_len_before: int
    header_len_after: int
    data_len: int
    @property
    def changed(self) -> bool: ...
    def __bool__(self) -> Literal[True]: ...

@disjoint_base
class RaggedAppendArray:
    """Append records of any length with an index beside the data, committed together."""

    def __new__(
        cls,
        filename: _Path,
        delete_if_exists: bool = False,
        rewrite_header_on_append: bool = True,
        *,
        casting: Literal["no", "equiv", "safe", "same_kind", "unsafe"] = "same_kind",
        durability: Union[None, Literal["none", "close", "append"], int] = None,
        buffer: int = 0,
        mapped: Union[None, bool, int] = None,
        fortran_order: Optional[bool] = None,
    ) -> "RaggedAppendArray": ...
    @property
    def filename(self) -> _Path: ...
    @property
    def index_filename(self) -> "os.PathLike[str]": ...
    @property
    def shape(self) -> Optional[Tuple[int, ...]]: ...
    @property
    def dtype(self) -> Optional[np.dtype[Any]]: ...
    def __len__(self) -> int: ...
    def append(self, record: npt.ArrayLike) -> None: ...
    def extend(self, records: Iterable[npt.ArrayLike]) -> None: ...
    def flush(self) -> None: ...
    def sync(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> "RaggedAppendArray": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> bool: ...

@final
class RaggedRecoverReport:
    """What ``recover_ragged`` did; always true."""

    records: int
    items: int
    entries_cut: int
    items_cut: int
    changed: bool
    def __bool__(self) -> Literal[True]: ...

@disjoint_base
class Reader:
    """Reads a .npy file while a writer grows it."""

    def __new__(cls, filename: _Path) -> "Reader": ...
    @property
    def filename(self) -> _Path: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def uncounted_items(self) -> int: ...
    def refresh(self) -> npt.NDArray[Any]: ...
    def next_block(self) -> Optional[npt.NDArray[Any]]: ...

@disjoint_base
class _RaggedReader:
    def __new__(cls, filename: _Path) -> "_RaggedReader": ...
    @property
    def filename(self) -> _Path: ...
    @property
    def fortran_order(self) -> bool: ...
    def _refresh(self) -> Tuple[npt.NDArray[Any], npt.NDArray[np.int64]]: ...
    def _next_records(
        self,
    ) -> Optional[Tuple[int, int, npt.NDArray[Any], npt.NDArray[np.int64]]]: ...

def recover_ragged(filename: _Path) -> RaggedRecoverReport: ...
def ragged_problems(filename: _Path) -> list[str]: ...
def ragged_index_from_lengths(
    filename: _Path, lengths: Union[_Path, Sequence[int]]
) -> int: ...
def recover(filename: _Path, zerofill_incomplete: bool = False) -> RecoverReport: ...
def ensure_appendable(filename: _Path, inplace: bool = False) -> EnsureReport: ...
def is_appendable(filename: _Path) -> bool: ...
def needs_recovery(filename: _Path) -> bool: ...
def problems(filename: _Path) -> list[str]: ...
def concatenate_files(
    dest: _Path, sources: Sequence[_Path], *, casting: str = "same_kind", delete_if_exists: bool = False
) -> int: ...

class NpaaError(ValueError): ...
class FormatError(NpaaError): ...
class NotAppendableError(NpaaError): ...
class NeedsRecoveryError(NpaaError): ...
class LockedError(NpaaError): ...
class ShapeError(NpaaError): ...
class DtypeError(NpaaError): ...
class CastingError(DtypeError): ...
class ClosedError(NpaaError): ...
class FileChangedError(NpaaError): ...
