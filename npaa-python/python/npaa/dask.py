"""Write Dask arrays to one ``.npy`` file in parallel (``pip install npaa[dask]``).

Each chunk is written straight to its place in the file by the worker that computed it, and
the header is written last, so a worker's memory holds a few chunks, never the array::

    import dask.array as da
    import npaa.dask

    x = da.random.random((100_000, 1_000), chunks=(10_000, 250))
    npaa.dask.to_npy("x.npy", x)           # np.load("x.npy") == x.compute(), byte for byte
    npaa.dask.append("x.npy", x[:5_000])   # 5 000 more rows

Any chunking works: chunks split along axes other than the growth axis are first merged
across them, as ``da.to_npy_stack`` does, while a merged chunk stays within 64 MiB (so that
each is one write), and are written as strided pieces past that. Every scheduler works:
threads, processes, and ``dask.distributed`` clusters whose workers share the file system (the
workers need ``npaa`` installed, and byte-range locks that reach every worker's machine). Only the calling process takes the file's writer lock; a worker
holds the file's region lock, shared, while it writes a chunk. Where the writer lock would keep
workers out (NFS keeps ``flock`` as a whole-file record lock), the call is refused at once.

A failed or cancelled compute leaves the file as it was (``append``), or no file (``to_npy``):
the call waits for every chunk being written before restoring it, and later chunks are
refused. If the calling process itself is killed, the header still counts only what was there
before, and ``npaa.recover`` (or the next open) cuts the unfinished block, once the chunks
being written are done.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

import dask.array as da
import numpy as np

from ._native import RegionWrite

if TYPE_CHECKING:  # the values NpyAppendArray takes (npaa._native's stub)
    _Casting = Literal["no", "equiv", "safe", "same_kind", "unsafe"]
    _Durability = Union[None, Literal["none", "close", "append"], int]

__all__ = ["append", "to_npy"]


def to_npy(
    filename: Union[str, "os.PathLike[str]"],
    x: Any,
    fortran_order: bool = False,
    *,
    durability: "_Durability" = None,
    **store_kwargs: Any,
) -> None:
    """Writes the Dask array ``x`` to a new ``.npy`` file at ``filename`` (replacing any file
    there), as ``np.save(filename, x.compute())`` would, without ever holding ``x`` in memory.

    ``fortran_order=True`` writes a Fortran-order file (``np.save`` of
    ``np.asfortranarray(x.compute())``). ``durability`` is ``NpyAppendArray``'s (any value but
    ``None``/``"none"`` syncs each chunk and the header). Other keyword arguments go to
    ``dask.array.store`` (``scheduler=``, ``num_workers=``, ...).
    """
    _store(filename, x, new_file=True, fortran_order=fortran_order, casting="same_kind",
           durability=durability, store_kwargs=store_kwargs)


def append(
    filename: Union[str, "os.PathLike[str]"],
    x: Any,
    *,
    casting: "_Casting" = "same_kind",
    durability: "_Durability" = None,
    **store_kwargs: Any,
) -> None:
    """Appends the Dask array ``x`` to the ``.npy`` file at ``filename`` along its growth axis
    (0 for a C-order file, the last axis for a Fortran-order one), in the file's order and
    dtype (``casting`` as for ``NpyAppendArray``). A file that does not exist is created, in C
    order. The file is checked and refused (nothing written) as ``NpyAppendArray.append``
    would refuse ``x``; other keyword arguments go to ``dask.array.store``.
    """
    _store(filename, x, new_file=False, fortran_order=None, casting=casting,
           durability=durability, store_kwargs=store_kwargs)


#: The largest chunk, in bytes, that ``_whole_items`` makes by merging chunks.
_MERGE_UP_TO = 64 << 20


def _whole_items(x: Any, fortran_order: bool) -> Any:
    """``x`` rechunked so that each chunk spans every axis but the growth axis, as
    ``da.to_npy_stack`` does, when such chunks stay within ``_MERGE_UP_TO`` bytes (the growth
    axis is cut finer if it must): a chunk then lies in the file as one run of bytes, written
    at once, where a chunk split along another axis is one small write per strided piece
    (8 MiB chunks split 4 ways along the columns of 4,096: 1,024 writes each). Left as it is
    when it already is so, or when a single item is larger than the bound (memory first)."""
    if x.ndim < 2:
        return x
    axis = x.ndim - 1 if fortran_order else 0
    others = {i: x.shape[i] for i in range(x.ndim) if i != axis}
    if all(len(x.chunks[i]) <= 1 for i in others):
        return x
    item_bytes = x.dtype.itemsize * int(np.prod([x.shape[i] for i in others]))
    if item_bytes == 0 or item_bytes > _MERGE_UP_TO:
        return x
    longest = max(x.chunks[axis], default=1)
    return x.rechunk({axis: max(1, min(longest, _MERGE_UP_TO // item_bytes)), **others})


def _store(
    filename: Union[str, "os.PathLike[str]"],
    x: Any,
    *,
    new_file: bool,
    fortran_order: Optional[bool],
    casting: "_Casting",
    durability: "_Durability",
    store_kwargs: dict[str, Any],
) -> None:
    x = da.asarray(x)
    if any(isinstance(d, float) for d in x.shape):
        raise ValueError(
            "the Dask array has chunks of unknown size; call x.compute_chunk_sizes() first"
        )
    region = RegionWrite(
        os.fspath(filename),
        x.dtype,
        tuple(int(d) for d in x.shape),
        new_file=new_file,
        fortran_order=fortran_order,
        casting=casting,
        durability=durability,
    )
    try:
        # A target is written with `target[index] = chunk`, as dask.array.store writes arrays.
        target: Any = region.target
        x = _whole_items(x, target.fortran_order)
        da.store(x, target, lock=False, compute=True, **store_kwargs)
    except BaseException:
        region.abort()
        raise
    region.commit()
