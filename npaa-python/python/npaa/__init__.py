"""Grow NumPy ``.npy`` files out of core: a drop-in ``NpyAppendArray`` on npaa's Rust engine.

Migrating from npy-append-array is one line::

    from npaa import NpyAppendArray

Names, signatures and defaults are npy-append-array 0.9.19's: ``NpyAppendArray(filename,
delete_if_exists=False, rewrite_header_on_append=True)`` with ``append``, ``update_header``,
``close``, the context manager and the attributes ``filename``, ``shape``, ``dtype`` and
``fortran_order``; ``recover``, ``ensure_appendable``, ``is_appendable`` and
``needs_recovery``. Where npaa differs on purpose (see the README's Python section):

- ``append`` after ``close`` raises ``ClosedError`` instead of truncating the file;
- float -> int appends are refused (``casting="same_kind"``; ``casting="unsafe"`` opts in);
- a 0-d array is refused before any byte is written;
- one lock per file, not one per process; a second writer gets ``LockedError``;
- empty files (no data) can be made appendable;
- ``recover`` and ``ensure_appendable`` return a (truthy) report of what they did.

Keyword-only extras of ``NpyAppendArray``: ``casting``, ``durability`` (``None``/``"none"``,
``"close"``, ``"append"`` or an int N: sync every N bytes), ``buffer`` (write buffer in
bytes), ``mapped`` (``True`` or a window in bytes), ``fortran_order`` (order of a new file),
``recover`` (repair what a crash left, under the lock, then append; the ``recovered``
attribute holds the ``RecoverReport``); methods ``flush()`` and ``sync()``.

``append`` takes any array: an ndarray (read in place), or anything with ``__dlpack__``
(PyTorch tensors, also ones that require grad, JAX and CuPy arrays; an array in GPU memory is
copied to host memory first), ``__array__``, the buffer protocol, or nested lists.

Ragged records: ``RaggedAppendArray(filename, ...)`` appends records of any length with an index
beside the data (``feats.npy`` + ``feats.idx.npy``), committed together; ``load_ragged`` reads
them back (``RaggedArray``), ``ragged_problems`` says what is wrong with a pair,
``recover_ragged`` repairs a pair a crash left, and ``ragged_index_from_lengths`` builds the index of a fairseq-style dump. ``Reader`` and
``RaggedReader`` follow a file while a writer grows it.

Beyond one process: ``npaa.dask`` writes a Dask array to one ``.npy`` from many workers
(``to_npy``, ``append``; the ``[dask]`` extra), and ``npaa.mpi.NpyAppendArray`` makes
collective appends from the ranks of an mpi4py job (the ``[mpi]`` extra).

Errors: every refusal is a ``ValueError`` subclass, ``NpaaError``, with ``FormatError``,
``NotAppendableError``, ``NeedsRecoveryError``, ``LockedError``, ``ShapeError``,
``DtypeError`` (and its ``CastingError``), ``ClosedError`` and ``FileChangedError`` below it;
failed system calls are ``OSError`` with ``errno`` and ``filename``.
"""

from ._native import (
    CastingError,
    ClosedError,
    DtypeError,
    EnsureReport,
    FileChangedError,
    FormatError,
    LockedError,
    NeedsRecoveryError,
    NotAppendableError,
    NpaaError,
    NpyAppendArray,
    RaggedAppendArray,
    RaggedRecoverReport,
    RecoverReport,
    ShapeError,
    __version__,
    concatenate_files,
    ensure_appendable,
    is_appendable,
    needs_recovery,
    problems,
    ragged_index_from_lengths,
    ragged_problems,
    recover,
    recover_ragged,
)
from .ragged import RaggedArray, load_ragged
from .reader import RaggedReader, Reader

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
    "RaggedArray",
    "RaggedReader",
    "RaggedRecoverReport",
    "Reader",
    "RecoverReport",
    "ShapeError",
    "__version__",
    "concatenate_files",
    "ensure_appendable",
    "is_appendable",
    "load_ragged",
    "needs_recovery",
    "problems",
    "ragged_index_from_lengths",
    "ragged_problems",
    "recover",
    "recover_ragged",
]
